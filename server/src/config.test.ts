import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

function withFile(yaml: string): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmo-config-'));
  const file = path.join(dir, 'vmo.yaml');
  writeFileSync(file, yaml);
  return { dir, file };
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe(loadConfig.name, () => {
  it('has the defaults of SPEC §2 with no file, flag or environment', () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'vmo-empty-'));
    const c = loadConfig([], {}, cwd);
    expect(c).toMatchObject({
      file: null,
      host: '127.0.0.1',
      port: 3000,
      dataDir: path.join(cwd, 'data'),
      databaseUrl: null,
      jobs: {
        maxConcurrent: 32,
        graceSeconds: 5,
        timeoutSeconds: 0,
        retentionDays: 30,
        maxOutputBytes: 1073741824,
        bufferBytes: 8388608,
        env: { drop: [], pass: [] },
      },
      db: { outageSeconds: 60 },
      fanout: { maxParallel: 16 },
      terminal: { desktop: false, idleSeconds: 900, maxOpen: 16 },
      security: { allowedOrigins: [], publicUrl: null, trustProxy: false, allowAdHoc: false },
      cluster: { enabled: false, instanceId: null },
      ssh: { strictHostKeyChecking: 'accept-new', connectTimeoutSeconds: 10 },
    });
    expect(c.mkcli.registry).toBe(path.join(homedir(), '.config/mkcli/registry'));
  });

  it('reads ./vmo.yaml when present and resolves project dirs against its folder', () => {
    const { dir, file } = withFile(
      'projects:\n  - alias: demo\n    dir: ./examples/demo\n    interactive: [ssh]\n',
    );
    const c = loadConfig([], {}, dir);
    expect(c.file).toBe(file);
    expect(c.projects).toEqual([
      { alias: 'demo', dir: path.join(dir, 'examples/demo'), interactive: ['ssh'] },
    ]);
  });

  it('lets flags win over the environment', () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'vmo-empty-'));
    const env = {
      HOST: '0.0.0.0',
      PORT: '4000',
      VMO_DATA_DIR: '/tmp/a',
      DATABASE_URL: 'postgres://x@h/db',
    };
    expect(loadConfig([], env, cwd)).toMatchObject({
      host: '0.0.0.0',
      port: 4000,
      dataDir: '/tmp/a',
      databaseUrl: 'postgres://x@h/db',
    });
    const c = loadConfig(
      ['--host', '::1', '--port', '0', '--data-dir', '~/d', '--database-url', 'postgresql://y@h/e'],
      env,
      cwd,
    );
    expect(c).toMatchObject({
      host: '::1',
      port: 0,
      dataDir: path.join(homedir(), 'd'),
      databaseUrl: 'postgresql://y@h/e',
    });
  });

  it('takes the file from --config or VMO_CONFIG, and expands ~ in paths', () => {
    const { file } = withFile('ssh: { config: ~/.ssh/other }\nvmConfig: { dir: envs }\n');
    const c = loadConfig([], { VMO_CONFIG: file }, '/');
    expect(c.ssh.config).toBe(path.join(homedir(), '.ssh/other'));
    expect(c.vmConfig.dir).toBe(path.join(path.dirname(file), 'envs'));
    expect(loadConfig(['--config', file], {}, '/').file).toBe(file);
  });

  it('reads the admin password only from the environment', () => {
    expect(loadConfig([], { VMO_ADMIN_PASSWORD: 's3cret' }, tmpdir()).adminPassword).toBe('s3cret');
  });

  it.each([
    ['an unknown top-level key', 'colour: blue\n', 'unknown key "colour"'],
    ['an unknown nested key', 'jobs: { maxConcurent: 3 }\n', 'unknown key "jobs.maxConcurent"'],
    ['a wrong type', 'jobs: { maxConcurrent: many }\n', 'jobs.maxConcurrent:'],
    ['a negative number', 'jobs: { graceSeconds: -1 }\n', 'jobs.graceSeconds:'],
    ['zero where positive is needed', 'fanout: { maxParallel: 0 }\n', 'fanout.maxParallel:'],
    ['a bad enum', 'ssh: { strictHostKeyChecking: "no" }\n', 'ssh.strictHostKeyChecking:'],
    ['a bad project alias', 'projects: [{ alias: "a b", dir: . }]\n', 'projects.0.alias:'],
    ['a project without dir', 'projects: [{ alias: demo }]\n', 'projects.0.dir:'],
    [
      'an unknown project key',
      'projects: [{ alias: demo, dir: ., remotes: [] }]\n',
      'unknown key "projects.0.remotes"',
    ],
    ['a bad URL', 'security: { publicUrl: "not a url" }\n', 'security.publicUrl:'],
    [
      'a bad allowed origin',
      'security: { allowedOrigins: [nope] }\n',
      'security.allowedOrigins.0:',
    ],
    ['a list where a map is expected', 'jobs: [1, 2]\n', 'jobs:'],
    ['a bad env glob', 'jobs: { env: { drop: ["A-B"] } }\n', 'jobs.env.drop.0:'],
    ['an unknown env key', 'jobs: { env: { keep: [A] } }\n', 'unknown key "jobs.env.keep"'],
    [
      'a placeholder inside quotes',
      'presets: [{ name: x, command: "echo \'{a}\'" }]\n',
      'presets: ',
    ],
    [
      'a preset param not in the command',
      'presets: [{ name: x, command: "echo {a}", params: { b: "^b$" } }]\n',
      'presets: ',
    ],
  ])('names the key and the file for %s', (_what, yaml, expected) => {
    const { file } = withFile(yaml);
    const message = errorOf(() => loadConfig(['--config', file], {}, '/'));
    expect(message).toContain(file);
    expect(message).toContain(expected);
  });

  it('reports invalid YAML with its line', () => {
    const { file } = withFile('jobs:\n  maxConcurrent: [1\n');
    const message = errorOf(() => loadConfig(['--config', file], {}, '/'));
    expect(message).toMatch(new RegExp(`${file}: not valid YAML \\(line \\d+\\)`));
  });

  it('reports a config file that does not exist', () => {
    expect(errorOf(() => loadConfig(['--config', '/nonexistent/vmo.yaml'], {}, '/'))).toBe(
      '/nonexistent/vmo.yaml: config file not found',
    );
  });

  it('treats an empty file as all defaults', () => {
    const { file } = withFile('');
    expect(loadConfig(['--config', file], {}, '/').jobs.maxConcurrent).toBe(32);
  });

  it.each([
    [['--port', 'http'], {}, 'port: "http" is not a TCP port'],
    [['--port', '70000'], {}, 'port: "70000" is not a TCP port'],
    [[], { PORT: '-1' }, 'port: "-1" is not a TCP port'],
    [['--database-url', 'mysql://x'], {}, 'database-url: must start with postgres://'],
    [['--colour'], {}, 'command line:'],
    [['stray'], {}, 'command line:'],
    [['--host', ''], {}, 'host: must not be empty'],
  ])('refuses bad flags and environment %j %j', (argv, env, expected) => {
    expect(errorOf(() => loadConfig(argv, env, tmpdir()))).toContain(expected);
  });

  describe('auth.oidc', () => {
    const oidc = (extra: string) =>
      `security:\n  publicUrl: https://vmo.example.com/\nauth:\n  oidc:\n    name: Company SSO\n    issuer: https://idp.example.com/realms/main\n    clientId: vm-orchestrator\n${extra}`;

    it('reads the client secret from the environment, and derives the redirect URI', () => {
      const { file } = withFile(
        oidc('    clientSecretEnv: VMO_OIDC_SECRET\n    roles: { ops: admin, devs: operator }\n'),
      );
      const c = loadConfig(['--config', file], { VMO_OIDC_SECRET: 's3cret' }, '/');
      expect(c.auth).toEqual({
        local: true,
        oidc: {
          name: 'Company SSO',
          issuer: 'https://idp.example.com/realms/main',
          clientId: 'vm-orchestrator',
          clientSecret: 's3cret',
          scopes: ['openid', 'profile', 'email'],
          usernameClaim: 'preferred_username',
          groupsClaim: 'groups',
          roles: { ops: 'admin', devs: 'operator' },
          defaultRole: null,
          checkMinutes: 5,
          publicUrl: 'https://vmo.example.com',
          redirectUri: 'https://vmo.example.com/api/auth/oidc/callback',
        },
      });
    });

    it('reads the client secret from a file next to the config', () => {
      const { dir, file } = withFile(oidc('    clientSecretFile: ./oidc-secret\n'));
      writeFileSync(path.join(dir, 'oidc-secret'), 'from-a-file\n');
      expect(loadConfig(['--config', file], {}, '/').auth.oidc?.clientSecret).toBe('from-a-file');
    });

    it('is off without the key, and password sign-in can be turned off', () => {
      const { file } = withFile('auth:\n  local: false\n');
      expect(loadConfig(['--config', file], {}, '/').auth).toEqual({ local: false, oidc: null });
    });

    it.each([
      [
        '    clientSecretEnv: VMO_OIDC_SECRET\n',
        {},
        'auth.oidc.clientSecretEnv: VMO_OIDC_SECRET is not set',
      ],
      ['', { X: 'y' }, 'give clientSecretEnv or clientSecretFile'],
      ['    clientSecretEnv: A\n    clientSecretFile: /b\n', { A: 'x' }, 'not both'],
      [
        '    clientSecretFile: /nonexistent/secret\n',
        {},
        'clientSecretFile: /nonexistent/secret: not found',
      ],
      ['    clientSecret: inline\n', {}, 'unknown key "auth.oidc.clientSecret"'],
      ['    clientSecretEnv: S\n    scopes: [profile]\n', { S: 'x' }, 'must include openid'],
      ['    clientSecretEnv: S\n    roles: { ops: root }\n', { S: 'x' }, 'auth.oidc.roles.ops'],
    ])('refuses %j', (extra, env, expected) => {
      const { file } = withFile(oidc(extra));
      expect(errorOf(() => loadConfig(['--config', file], env, '/'))).toContain(expected);
    });

    it('refuses a plain-http issuer, and a provider without security.publicUrl', () => {
      const http = withFile(
        'auth:\n  oidc:\n    issuer: http://idp.example.com\n    clientId: x\n    clientSecretEnv: S\n',
      );
      expect(errorOf(() => loadConfig(['--config', http.file], { S: 'x' }, '/'))).toContain(
        'auth.oidc.issuer: an https URL',
      );
      const noUrl = withFile(
        'auth:\n  oidc:\n    issuer: https://idp.example.com\n    clientId: x\n    clientSecretEnv: S\n',
      );
      expect(errorOf(() => loadConfig(['--config', noUrl.file], { S: 'x' }, '/'))).toContain(
        'auth.oidc: needs security.publicUrl',
      );
    });
  });

  it('reads audit: retention and one backup target, not two', () => {
    const ok = withFile(
      'audit:\n  retentionDays: 400\n  dynamodb: { table: vmo-audit, region: eu-west-1 }\n',
    );
    expect(loadConfig(['--config', ok.file], {}, '/').audit).toEqual({
      retentionDays: 400,
      dynamodb: { table: 'vmo-audit', region: 'eu-west-1', endpoint: null },
    });
    const both = withFile(
      'audit:\n  dynamodb: { table: t1, region: r }\n  lambda: { functionName: f, region: r }\n',
    );
    expect(errorOf(() => loadConfig(['--config', both.file], {}, '/'))).toContain(
      'give dynamodb or lambda, not both',
    );
    const badTable = withFile('audit:\n  dynamodb: { table: "a b", region: r }\n');
    expect(errorOf(() => loadConfig(['--config', badTable.file], {}, '/'))).toContain(
      'audit.dynamodb.table: a DynamoDB table name',
    );
  });
});
