// Remote execution against a real OpenSSH server on loopback: presets, containers, ad-hoc commands,
// cancel reaching the remote, and clear words for ssh's own failures.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp, type TestSocket } from '../fixtures/app.js';
import { follow, textOf } from '../fixtures/jobs.js';
import { freePort, startSshd, type SshdFixture } from '../fixtures/sshd.js';

const run = promisify(execFile);
const root = mkdtempSync(path.join(tmpdir(), 'vmo-ssh-test-'));
const fakeBin = path.join(root, 'bin');
mkdirSync(fakeBin);
writeFileSync(
  path.join(fakeBin, 'docker'),
  '#!/bin/sh\ncase "$1" in\n  ps) printf "web\\ndb\\n-bad\\n" ;;\n  logs) while :; do echo "log of $5"; sleep 0.2; done ;;\nesac\n',
);
chmodSync(path.join(fakeBin, 'docker'), 0o755);
const blob = path.join(root, 'blob.bin');
writeFileSync(
  blob,
  Buffer.concat([
    Buffer.from('naïve ✓ 😀\r\n'.repeat(500)),
    Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xe2, 0x82]),
  ]),
);

async function keygen(file: string): Promise<string> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  return (await readFile(file + '.pub', 'utf8')).trim();
}

const PERMISSIVE = '^[\\s\\S]{0,200}$';

describe('ssh jobs against a real sshd', () => {
  let sshd: SshdFixture;
  let t: TestApp;
  let operator: HttpClient;
  let admin: HttpClient;
  let socket: TestSocket;

  beforeAll(async () => {
    sshd = await startSshd({ setEnv: { PATH: `${fakeBin}:/usr/local/bin:/usr/bin:/bin` } });
    const otherKey = path.join(root, 'other_key');
    await keygen(otherKey);
    const badKnown = path.join(root, 'bad_known_hosts');
    const [type, key] = (await keygen(path.join(root, 'fake_host_key'))).split(' ');
    writeFileSync(badKnown, `[127.0.0.1]:${sshd.port} ${type} ${key}\n`);
    const closed = await freePort();
    const config = path.join(root, 'ssh_config');
    const common = `  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentitiesOnly yes\n`;
    writeFileSync(
      config,
      [
        `Include ${sshd.configFile}`,
        `Host vmo-badkey\n${common}  IdentityFile ${sshd.clientKey}\n  UserKnownHostsFile ${badKnown}`,
        `Host vmo-noauth\n${common}  IdentityFile ${otherKey}\n  UserKnownHostsFile ${sshd.knownHostsFile}`,
        `Host vmo-down\n  HostName 127.0.0.1\n  Port ${closed}\n  UserKnownHostsFile ${sshd.knownHostsFile}`,
        // A pattern, not a host: it is how a VM without its own entry still finds port and key.
        `Host local*\n  Port ${sshd.port}\n  IdentityFile ${sshd.clientKey}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${sshd.knownHostsFile}`,
        '',
      ].join('\n'),
    );
    const envs = path.join(root, 'environments');
    mkdirSync(path.join(envs, 'lab'), { recursive: true });
    writeFileSync(
      path.join(envs, 'lab', 'config.yml'),
      `vms:\n  box: { host: localhost, ansible_user: ${sshd.user} }\n`,
    );
    t = await startTestApp({
      config: {
        ssh: { config },
        vmConfig: { dir: envs },
        security: { allowAdHoc: true },
        jobs: { graceSeconds: 1 },
        presets: [
          {
            name: 'args',
            command: "printf '[%s]\\n' {a} {b}",
            params: { a: PERMISSIVE, b: PERMISSIVE },
          },
          { name: 'blob', command: `cat ${blob}` },
          { name: 'hold', command: 'sleep {secs}', follow: true, params: { secs: '^[0-9]{1,6}$' } },
          { name: 'missing', command: 'no-such-command-vmo' },
          { name: 'docker-ps', command: 'docker ps' },
          { name: 'docker-logs', command: 'docker logs -f --tail 200 {container}', follow: true },
        ],
      },
    });
    operator = await t.loginAs('operator');
    admin = await t.loginAs('admin');
    socket = await operator.socket();
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
    await sshd?.stop();
  });

  const startSsh = async (client: HttpClient, body: unknown) => {
    const res = await client.post('/api/jobs/ssh-logs', body);
    const json = (await res.json()) as {
      jobId: string;
      type: string;
      error?: { code: string; message: string };
    };
    return { status: res.status, ...json };
  };
  const ssh = (...args: string[]) => run('ssh', ['-F', sshd.configFile, 'vmo-test', '--', ...args]);

  it('lists the hosts of the ssh config, with the Include followed', async () => {
    const hosts = (await (await operator.get('/api/hosts')).json()) as { alias: string }[];
    expect(hosts.map((h) => h.alias).sort()).toEqual([
      'vmo-badkey',
      'vmo-down',
      'vmo-noauth',
      'vmo-test',
      'vmo-test2',
    ]);
  });

  it('runs a preset and keeps its output byte-exact', async () => {
    const started = await startSsh(operator, { hostAlias: 'vmo-test', preset: 'blob' });
    expect(started).toMatchObject({ status: 201, type: 'ssh' });
    const { done, events } = await follow(socket, started.jobId);
    expect(done).toMatchObject({ status: 'success', exitCode: 0 });
    expect(textOf(events, 'stdout') === new TextDecoder().decode(await readFile(blob))).toBe(true);
    const job = (await (await operator.get(`/api/jobs/${started.jobId}`)).json()) as Job;
    expect(job).toMatchObject({
      type: 'ssh',
      host: 'vmo-test',
      preset: 'blob',
      command: `ssh vmo-test -- cat ${blob}`,
    });
    expect(JSON.stringify(job)).not.toContain(sshd.clientKey);
  });

  it.each([
    ['; rm -rf /tmp/vmo-none', '$(touch /tmp/vmo-pwned)'],
    ['`id`', 'it\'s "quoted"'],
    ['line1\nline2', '&& echo hacked | cat'],
    ['--help', '*'],
  ])('passes params %j and %j literally to the remote', async (a, b) => {
    const started = await startSsh(operator, {
      hostAlias: 'vmo-test',
      preset: 'args',
      params: { a, b },
    });
    expect(started.status).toBe(201);
    const { done, events } = await follow(socket, started.jobId);
    expect(done.status).toBe('success');
    expect(textOf(events, 'stdout')).toBe(`[${a}]\n[${b}]\n`);
  });

  it('never ran what the params held', async () => {
    const { existsSync } = await import('node:fs');
    expect(existsSync('/tmp/vmo-pwned')).toBe(false);
  });

  it('cancels a follow preset and the remote command is gone', async () => {
    const secs = String(700_000 + Math.floor(Math.random() * 99_999));
    const started = await startSsh(operator, {
      hostAlias: 'vmo-test',
      preset: 'hold',
      params: { secs },
    });
    const pgrep = async () =>
      (
        await ssh(`pgrep -fx 'sleep ${secs}'`).then(
          (r) => r.stdout,
          () => '',
        )
      ).trim();
    await expect.poll(pgrep, { timeout: 10_000 }).not.toBe('');
    expect((await operator.post('/api/jobs/cancel', { jobId: started.jobId })).status).toBe(202);
    const { done } = await follow(socket, started.jobId);
    expect(done.status).toBe('canceled');
    await expect.poll(pgrep, { timeout: 10_000 }).toBe('');
  });

  it('tails container logs as the pty stream and lists containers', async () => {
    expect(await (await operator.get('/api/hosts/vmo-test/containers')).json()).toEqual([
      'db',
      'web',
    ]);
    const started = await startSsh(operator, {
      hostAlias: 'vmo-test',
      preset: 'docker-logs',
      params: { container: 'web' },
    });
    await expect
      .poll(
        async () =>
          ((await (await operator.get(`/api/jobs/${started.jobId}`)).json()) as Job).lastSeq,
        { timeout: 10_000 },
      )
      .toBeGreaterThan(2);
    await operator.post('/api/jobs/cancel', { jobId: started.jobId });
    const { events, done } = await follow(socket, started.jobId);
    expect(done.status).toBe('canceled');
    expect(textOf(events, 'pty')).toContain('log of web\r\n');
    expect(textOf(events, 'stdout')).toBe('');
  });

  it('reaches a VM without its own ssh entry as vm:<env>/<name>', async () => {
    const vms = (await (await operator.get('/api/vms')).json()) as {
      id: string;
      sshAlias: string | null;
    }[];
    expect(vms).toEqual([expect.objectContaining({ id: 'lab/box', sshAlias: null })]);
    const started = await startSsh(operator, {
      hostAlias: 'vm:lab/box',
      preset: 'args',
      params: { a: 'vm', b: 'ok' },
    });
    expect(started.status).toBe(201);
    const { done, events } = await follow(socket, started.jobId);
    expect(done.status).toBe('success');
    expect(textOf(events, 'stdout')).toBe('[vm]\n[ok]\n');
  });

  it.each([
    [
      'vmo-badkey',
      /host key of vmo-badkey changed or is unknown and was refused \(it offered SHA256:/,
    ],
    ['vmo-noauth', /vmo-noauth refused authentication/],
    ['vmo-down', /vmo-down is unreachable: connection refused/],
  ])('fails on %s with a clear system event', async (hostAlias, words) => {
    const started = await startSsh(operator, {
      hostAlias,
      preset: 'args',
      params: { a: 'x', b: 'y' },
    });
    const { done, events } = await follow(socket, started.jobId);
    expect(done).toMatchObject({ status: 'failed', exitCode: 255 });
    expect(textOf(events, 'system')).toMatch(words);
  });

  it('shows the fingerprint the server offered when its key changed', async () => {
    const started = await startSsh(operator, {
      hostAlias: 'vmo-badkey',
      preset: 'args',
      params: { a: 'x', b: 'y' },
    });
    const { events } = await follow(socket, started.jobId);
    expect(textOf(events, 'system')).toContain(sshd.hostKeyFingerprint);
  });

  it('says when the command is not found on the remote', async () => {
    const started = await startSsh(operator, { hostAlias: 'vmo-test', preset: 'missing' });
    const { done, events } = await follow(socket, started.jobId);
    expect(done).toMatchObject({ status: 'failed', exitCode: 127 });
    expect(textOf(events, 'system')).toContain('command not found on vmo-test');
  });

  it.each([
    [{ hostAlias: 'nowhere', preset: 'args' }, 404, 'UNKNOWN_HOST'],
    [{ hostAlias: 'vm:lab/none', preset: 'args' }, 404, 'UNKNOWN_HOST'],
    [{ hostAlias: '-oProxyCommand=touch /tmp/x', preset: 'args' }, 404, 'UNKNOWN_HOST'],
    [{ hostAlias: 'vmo-test', preset: 'nope' }, 404, 'UNKNOWN_PRESET'],
    [{ hostAlias: 'vmo-test', preset: 'hold', params: { secs: '1; rm' } }, 400, 'BAD_ARGS'],
    [{ hostAlias: 'vmo-test', preset: 'hold' }, 400, 'BAD_ARGS'],
    [{ hostAlias: 'vmo-test', preset: 'hold', params: { secs: '1', other: 'x' } }, 400, 'BAD_ARGS'],
    [{ hostAlias: 'vmo-test' }, 400, 'VALIDATION'],
    [{ hostAlias: 'vmo-test', preset: 'args', command: 'id' }, 400, 'VALIDATION'],
  ])('refuses %j with %i %s', async (body, status, code) => {
    const res = await startSsh(operator, body);
    expect(res.status).toBe(status);
    expect(res.error?.code).toBe(code);
  });

  it('runs ad-hoc commands for admins only, and audits them', async () => {
    expect((await startSsh(operator, { hostAlias: 'vmo-test', command: 'id -un' })).status).toBe(
      403,
    );
    const started = await startSsh(admin, { hostAlias: 'vmo-test', command: 'id -un' });
    expect(started.status).toBe(201);
    const { events } = await follow(await admin.socket(), started.jobId);
    expect(textOf(events, 'pty')).toBe(`${sshd.user}\r\n`);
    const audit = await t.db.db
      .selectFrom('audit_log')
      .select(['action', 'target'])
      .where('action', '=', 'job.adhoc')
      .execute();
    expect(audit).toEqual([{ action: 'job.adhoc', target: started.jobId }]);
  });

  it('re-runs a preset job', async () => {
    const first = await startSsh(operator, {
      hostAlias: 'vmo-test',
      preset: 'args',
      params: { a: '1', b: '2' },
    });
    await follow(socket, first.jobId);
    const res = await operator.post(`/api/jobs/${first.jobId}/rerun`);
    expect(res.status).toBe(201);
    const { events } = await follow(socket, ((await res.json()) as { jobId: string }).jobId);
    expect(textOf(events, 'stdout')).toBe('[1]\n[2]\n');
  });

  it('answers containers of an unreachable host with a clear 502', async () => {
    const res = await operator.get('/api/hosts/vmo-down/containers');
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({
      error: {
        code: 'REMOTE_FAILED',
        message: expect.stringContaining('connection refused') as unknown,
      },
    });
    expect((await operator.get('/api/hosts/nowhere/containers')).status).toBe(404);
  });
});

describe('ad-hoc commands when security.allowAdHoc is off', () => {
  it('refuses them even for admins', async () => {
    const t = await startTestApp();
    try {
      const admin = await t.loginAs('admin');
      const res = await admin.post('/api/jobs/ssh-logs', { hostAlias: 'x', command: 'id' });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({
        error: {
          code: 'FORBIDDEN',
          message: expect.stringContaining('security.allowAdHoc') as unknown,
        },
      });
    } finally {
      await t.close();
    }
  });
});
