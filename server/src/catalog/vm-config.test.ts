import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SshHost } from './ssh-hosts.js';
import { loadVms } from './vm-config.js';

/** A vm-config dir; `files` maps paths relative to it to their text. */
function vmConfig(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmo-vmconfig-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

const hosts: SshHost[] = [
  { alias: 'web1', hostname: '10.0.0.99', user: 'deploy', port: 22 },
  { alias: 'db-box', hostname: '10.0.0.2', user: null, port: 22 },
  { alias: 'db-again', hostname: '10.0.0.2', user: null, port: 22 },
];

describe(loadVms.name, () => {
  it('reads every environment, sorted, matching ssh hosts by alias then by hostname', async () => {
    const dir = vmConfig({
      'staging/config.yml': [
        'template: debian-12',
        'network: { cidr: 10.0.0.0/24 }',
        'vms:',
        '  web1: { host: 10.0.0.1, ansible_user: admin }',
        '  db: { host: 10.0.0.2, extra: ignored }',
        '  cache: { host: cache.internal }',
      ].join('\n'),
      'prod/config.yaml': 'vms:\n  app: { host: "fe80::1", ansible_user: root }\n',
      'group_vars/all.yml': 'x: 1\n',
      '.git/config.yml': 'not: an environment\n',
      'README.md': '# vms\n',
    });
    const { vms, errors } = await loadVms(dir, hosts);
    expect(errors).toEqual([]);
    expect(vms).toEqual([
      {
        id: 'prod/app',
        name: 'app',
        environment: 'prod',
        host: 'fe80::1',
        user: 'root',
        sshAlias: null,
      },
      {
        id: 'staging/cache',
        name: 'cache',
        environment: 'staging',
        host: 'cache.internal',
        user: null,
        sshAlias: null,
      },
      {
        id: 'staging/db',
        name: 'db',
        environment: 'staging',
        host: '10.0.0.2',
        user: null,
        sshAlias: 'db-box',
      },
      {
        id: 'staging/web1',
        name: 'web1',
        environment: 'staging',
        host: '10.0.0.1',
        user: 'admin',
        sshAlias: 'web1',
      },
    ]);
  });

  it('carries the problem of an ssh alias that ssh rejects', async () => {
    const dir = vmConfig({
      'lab/config.yml': 'vms:\n  printer: { host: 10.0.9.9 }\n  gpu: { host: 10.0.2.1 }\n',
    });
    const broken = 'vdollar_percent_expand: unknown key %l';
    const { vms } = await loadVms(dir, [
      { alias: 'printer', hostname: 'printer', user: null, port: 22, error: broken },
      { alias: 'gpu', hostname: '10.0.2.1', user: 'lab', port: 22 },
    ]);
    expect(vms.map((v) => [v.name, v.sshAlias, v.sshError])).toEqual([
      ['gpu', 'gpu', undefined],
      ['printer', 'printer', broken],
    ]);
    expect(Object.keys(vms[0]!)).not.toContain('sshError');
  });

  it('reports one error per broken environment, naming the file and the problem, and loads the rest', async () => {
    const dir = vmConfig({
      'good/config.yml': 'vms:\n  a: { host: a.example }\n',
      'badyaml/config.yml': 'vms:\n  a: { host: [unclosed\n',
      'novms/config.yml': 'template: x\n',
      'nohost/config.yml': 'vms:\n  a: { ansible_user: bob }\n',
      'badname/config.yml': 'vms:\n  "-evil": { host: x.example }\n',
      'badhost/config.yml': 'vms:\n  a: { host: "x.example; rm -rf /" }\n',
      'baduser/config.yml': 'vms:\n  a: { host: x, ansible_user: "-oProxyCommand=x" }\n',
      'empty/config.yml': '',
      'list/config.yml': '- a\n',
      'dup/config.yml': 'vms:\n  a: { host: x }\n  a: { host: y }\n',
      'bad env/config.yml': 'vms:\n  a: { host: x }\n',
    });
    const { vms, errors } = await loadVms(dir, []);
    expect(vms.map((v) => v.id)).toEqual(['good/a']);
    const byEnv = Object.fromEntries(errors.map((e) => [e.environment, e.error]));
    expect(Object.keys(byEnv)).toEqual([
      'bad env',
      'badhost',
      'badname',
      'baduser',
      'badyaml',
      'dup',
      'empty',
      'list',
      'nohost',
      'novms',
    ]);
    for (const [env, error] of Object.entries(byEnv))
      expect(error.startsWith(path.join(dir, env, 'config.yml') + ': ')).toBe(true);
    expect(byEnv['bad env']).toMatch(/environment name must match/);
    expect(byEnv.badhost).toMatch(/vms\.a\.host: must be a hostname or IP address/);
    expect(byEnv.badname).toMatch(/vm name "-evil" must match/);
    expect(byEnv.baduser).toMatch(/vms\.a\.ansible_user: must be a plain user name/);
    expect(byEnv.badyaml).toMatch(/invalid YAML/);
    expect(byEnv.list).toMatch(/: must be a YAML mapping$/);
    expect(byEnv.badyaml).toMatch(/at line 3, column 1$/);
    expect(byEnv.dup).toMatch(/invalid YAML: .*unique/i);
    expect(byEnv.empty).toMatch(/: the file is empty$/);
    expect(byEnv.nohost).toMatch(/vms\.a\.host: host is required/);
    expect(byEnv.novms).toMatch(/vms: vms is required/);
  });

  it('returns nothing, without an error, when the directory is missing', async () => {
    expect(await loadVms('/nonexistent/vm-config', hosts)).toEqual({ vms: [], errors: [] });
  });

  it('says so when the directory cannot be read', async () => {
    const dir = vmConfig({ file: 'x' });
    const { vms, errors } = await loadVms(path.join(dir, 'file'), hosts);
    expect(vms).toEqual([]);
    expect(errors).toEqual([
      { environment: '', error: `cannot read ${path.join(dir, 'file')}: ENOTDIR` },
    ]);
  });
});
