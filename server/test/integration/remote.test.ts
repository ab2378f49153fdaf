// Remote make targets and fan-out against a real sshd: pty output byte for byte, cancel reaching
// the remote make and its children, groups that aggregate their children.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, JobWithChildren, ProjectInfo, TargetInfo } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp, type TestSocket } from '../fixtures/app.js';
import { follow, pidsIn, runDirectly, storedEvents, textOf } from '../fixtures/jobs.js';
import { freePort, startSshd, type SshdFixture } from '../fixtures/sshd.js';

const run = promisify(execFile);
const root = mkdtempSync(path.join(tmpdir(), 'vmo-remote-'));
const local = path.join(root, 'local');
const remote = path.join(root, 'remote dir'); // a space, to prove the quoting
mkdirSync(local);
mkdirSync(remote);
writeFileSync(path.join(local, 'Makefile'), 'local: ## Only here\n\t@echo local\n');
writeFileSync(
  path.join(remote, 'Makefile'),
  `STAMP := $(shell touch parsed-here)
.PHONY: out tree hello fail deploy
out: ## Text with colours and UTF-8
\t@printf '\\033[32mgreen\\033[0m naïve ✓ 😀\\n'; for i in 1 2 3; do echo "line $$i"; done; printf 'no newline at the end'
tree: ## Background children, then wait (PIDFILE=...)
\t@sleep 300 & echo $$! >> $(PIDFILE); sleep 300 & echo $$! >> $(PIDFILE); echo $$$$ >> $(PIDFILE); echo started; wait
hello: ## Greet @param NAME
\t@echo "hello $(NAME) from $$(hostname)"
deploy: ## Ship it @confirm
\t@echo shipped
`,
);

describe('remote make targets and fan-out', () => {
  let sshd: SshdFixture;
  let t: TestApp;
  let operator: HttpClient;
  let socket: TestSocket;

  beforeAll(async () => {
    sshd = await startSshd();
    const config = path.join(root, 'ssh_config');
    writeFileSync(
      config,
      `Include ${sshd.configFile}\nHost vmo-down\n  HostName 127.0.0.1\n  Port ${await freePort()}\n`,
    );
    const envs = path.join(root, 'environments');
    mkdirSync(path.join(envs, 'lab'), { recursive: true });
    writeFileSync(
      path.join(envs, 'lab', 'config.yml'),
      'vms:\n  vmo-test: { host: 127.0.0.1 }\n  vmo-test2: { host: 127.0.0.1 }\n',
    );
    const remotes = ['vmo-test', 'vmo-test2', 'vmo-down'].map((host) => ({ host, dir: remote }));
    t = await startTestApp({
      config: {
        ssh: { config },
        vmConfig: { dir: envs },
        projects: [{ alias: 'app', dir: local, remote: remotes }],
        jobs: { graceSeconds: 1 },
        fanout: { maxParallel: 2 },
        presets: [
          { name: 'hold', command: 'sleep {secs}', follow: true, params: { secs: '^[0-9]{1,7}$' } },
          { name: 'quick', command: 'echo quick' },
        ],
      },
    });
    operator = await t.loginAs('operator');
    socket = await operator.socket();
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
    await sshd?.stop();
  });

  const post = async (p: string, body: unknown) => {
    const res = await operator.post(p, body);
    return {
      status: res.status,
      body: (await res.json()) as {
        jobId: string;
        type: string;
        error?: { code: string; message: string };
      },
    };
  };
  const getJob = async (id: string) =>
    (await (await operator.get(`/api/jobs/${id}`)).json()) as JobWithChildren;
  const alive = async (pid: number) =>
    (
      await run('ssh', [
        '-F',
        sshd.configFile,
        'vmo-test',
        '--',
        `kill -0 ${pid} 2>/dev/null && echo yes || echo no`,
      ])
    ).stdout.trim() === 'yes';

  it('runs short commands to one host through the master connection the first one left', async () => {
    const logins = () =>
      readFileSync(sshd.logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('Accepted publickey')).length;
    const quick = async () => {
      const { status, body } = await post('/api/jobs/ssh-logs', {
        hostAlias: 'vmo-test2',
        preset: 'quick',
      });
      expect(status).toBe(201);
      const { done } = await follow(socket, body.jobId);
      expect(done).toMatchObject({ status: 'success', exitCode: 0 });
      return body.jobId;
    };
    const first = await quick();
    const before = logins();
    await quick();
    await quick();
    // A session through a master is not a new login; a command on its own connection would be.
    expect(logins()).toBe(before);
    const { argv } = await t.db.db
      .selectFrom('jobs')
      .select('argv')
      .where('id', '=', first)
      .executeTakeFirstOrThrow();
    expect(argv).toContain('ControlMaster=auto');
  });

  it('lists the targets found on the remote host, apart from the local ones', async () => {
    const remoteTargets = (await (
      await operator.get('/api/projects/app/targets?host=vmo-test')
    ).json()) as TargetInfo[];
    expect(remoteTargets.map((x) => x.name)).toEqual(['out', 'tree', 'hello', 'deploy']);
    // Listed in the sandbox on the remote host: make's parse-time write never landed.
    expect(existsSync(path.join(remote, 'parsed-here'))).toBe(false);
    expect(remoteTargets.find((x) => x.name === 'hello')?.params).toEqual([
      { name: 'NAME', required: true },
    ]);
    const localTargets = (await (
      await operator.get('/api/projects/app/targets')
    ).json()) as TargetInfo[];
    expect(localTargets.map((x) => x.name)).toEqual(['local']);
    const projects = (await (await operator.get('/api/projects')).json()) as ProjectInfo[];
    expect(projects[0]!.remote).toEqual([
      { host: 'vmo-test', dir: remote, listing: { mode: 'isolated' } },
      { host: 'vmo-test2', dir: remote },
      { host: 'vmo-down', dir: remote },
    ]);
  });

  it('runs a remote target with -tt and keeps the pty stream byte for byte', async () => {
    const { status, body } = await post('/api/jobs/stream', {
      alias: 'app',
      target: 'out',
      hostAlias: 'vmo-test',
    });
    expect(status).toBe(201);
    const { done, events } = await follow(socket, body.jobId);
    expect(done).toMatchObject({ status: 'success', exitCode: 0 });
    const job = await getJob(body.jobId);
    expect(job).toMatchObject({
      type: 'ssh',
      host: 'vmo-test',
      project: 'app',
      target: 'out',
      command: 'ssh vmo-test -- make out',
    });
    const { argv } = await t.db.db
      .selectFrom('jobs')
      .select('argv')
      .where('id', '=', body.jobId)
      .executeTakeFirstOrThrow();
    const direct = await runDirectly(argv);
    const pty = textOf(events, 'pty');
    expect(pty === direct.stdout).toBe(true);
    expect(pty).toContain('\u001b[32mgreen\u001b[0m naïve ✓ 😀\r\nline 1\r\n');
    expect(pty.endsWith('no newline at the end')).toBe(true);
    expect(await storedEvents(operator, body.jobId)).toEqual(events);
  });

  it('cancels a remote make and everything it started on the remote', async () => {
    const pidFile = path.join(root, `tree-${Date.now()}.pids`);
    const { body } = await post('/api/jobs/stream', {
      alias: 'app',
      target: 'tree',
      hostAlias: 'vmo-test',
      args: { PIDFILE: pidFile },
    });
    const pids = await pidsIn(pidFile, 3);
    for (const pid of pids) expect(await alive(pid)).toBe(true);
    expect((await operator.post('/api/jobs/cancel', { jobId: body.jobId })).status).toBe(202);
    const { done } = await follow(socket, body.jobId);
    expect(done.status).toBe('canceled');
    for (const pid of pids) await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);
  });

  it.each([
    [{ alias: 'app', target: 'out', hostAlias: 'elsewhere' }, 404, 'UNKNOWN_HOST'],
    [{ alias: 'app', target: 'local', hostAlias: 'vmo-test' }, 404, 'UNKNOWN_TARGET'],
    [{ alias: 'app', target: 'hello', hostAlias: 'vmo-test' }, 400, 'BAD_ARGS'],
    [
      { alias: 'app', target: 'hello', hostAlias: 'vmo-test', args: { NAME: '$(id)' } },
      400,
      'BAD_ARGS',
    ],
  ])('refuses %j with %i %s', async (body, status, code) => {
    const res = await post('/api/jobs/stream', body);
    expect(res.status).toBe(status);
    expect(res.body.error?.code).toBe(code);
  });

  it('fans a target out over three hosts: one unreachable → group failed, the others succeed', async () => {
    const { status, body } = await post('/api/jobs/fanout', {
      hostAliases: ['vmo-test', 'vmo-test2', 'vmo-down'],
      alias: 'app',
      target: 'hello',
      args: { NAME: 'all' },
    });
    expect(status).toBe(201);
    expect(body.type).toBe('group');
    const group = await follow(socket, body.jobId);
    expect(group.done.status).toBe('failed');
    const job = await getJob(body.jobId);
    expect(job).toMatchObject({
      type: 'group',
      status: 'failed',
      command: 'fanout vmo-test,vmo-test2,vmo-down -- make hello NAME=all',
    });
    const byHost: Record<string, Job> = Object.fromEntries(job.children!.map((c) => [c.host!, c]));
    expect(byHost['vmo-test']).toMatchObject({ status: 'success', parentId: body.jobId });
    expect(byHost['vmo-test2']).toMatchObject({ status: 'success' });
    expect(byHost['vmo-down']).toMatchObject({ status: 'failed', exitCode: 255 });
    for (const host of ['vmo-test', 'vmo-test2']) {
      const out = textOf(await storedEvents(operator, byHost[host]!.id), 'pty');
      expect(out).toMatch(/^hello all from .+\r\n$/);
    }
    expect(textOf(await storedEvents(operator, byHost['vmo-down']!.id), 'system')).toContain(
      'unreachable: connection refused',
    );
    const lines = textOf(group.events, 'system');
    expect(lines).toContain(
      'fan-out to 3 hosts (vmo-test, vmo-test2, vmo-down), at most 2 at once',
    );
    expect(lines).toMatch(/vmo-down: failed \(exit 255\)/);
    expect(lines).toContain('failed: 2 of 3 hosts succeeded');
  });

  it('fans a preset out over an environment and cancels the whole group', async () => {
    const secs = String(3_000_000 + Math.floor(Math.random() * 999_999));
    const { status, body } = await post('/api/jobs/fanout', {
      environment: 'lab',
      preset: 'hold',
      params: { secs },
    });
    expect(status).toBe(201);
    await expect
      .poll(
        async () =>
          (await getJob(body.jobId)).children!.filter((c) => c.status === 'running').length,
        { timeout: 10_000 },
      )
      .toBe(2);
    const res = await operator.post('/api/jobs/cancel', { jobId: body.jobId });
    expect(res.status).toBe(202);
    const group = await follow(socket, body.jobId);
    expect(group.done.status).toBe('canceled');
    const job = await getJob(body.jobId);
    expect(job.children!.map((c) => c.status)).toEqual(['canceled', 'canceled']);
    const left = await run('ssh', [
      '-F',
      sshd.configFile,
      'vmo-test',
      '--',
      `pgrep -fx 'sleep ${secs}' || true`,
    ]);
    expect(left.stdout.trim()).toBe('');
    expect((await operator.post('/api/jobs/cancel', { jobId: body.jobId })).status).toBe(409);
  });

  it('runs at most fanout.maxParallel children at once', async () => {
    const { body } = await post('/api/jobs/fanout', {
      hostAliases: ['vmo-test', 'vmo-test2', 'vm:lab/vmo-test'],
      preset: 'hold',
      params: { secs: '1' },
    });
    let most = 0;
    for (let i = 0; i < 40; i++) {
      const job = await getJob(body.jobId);
      most = Math.max(most, job.children!.filter((c: Job) => c.status === 'running').length);
      if (job.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const group = await follow(socket, body.jobId);
    expect(group.done.status).toBe('success');
    expect(most).toBeLessThanOrEqual(2);
    expect(most).toBeGreaterThan(0);
  });

  it.each([
    [
      { environment: 'lab', hostAliases: ['vmo-test'], preset: 'hold', params: { secs: '1' } },
      400,
      'VALIDATION',
    ],
    [{ environment: 'lab' }, 400, 'VALIDATION'],
    [{ environment: 'lab', preset: 'hold', alias: 'app', target: 'hello' }, 400, 'VALIDATION'],
    [{ environment: 'none', preset: 'hold', params: { secs: '1' } }, 404, 'UNKNOWN_HOST'],
    [
      { hostAliases: ['vmo-test', 'nowhere'], preset: 'hold', params: { secs: '1' } },
      404,
      'UNKNOWN_HOST',
    ],
    [{ hostAliases: ['vmo-test'], preset: 'hold', params: { secs: 'x' } }, 400, 'BAD_ARGS'],
    [{ hostAliases: ['vmo-test'], alias: 'app', target: 'nope' }, 404, 'UNKNOWN_TARGET'],
    // `@confirm` holds on the fan-out path too, by hosts or by environment.
    [{ hostAliases: ['vmo-test'], alias: 'app', target: 'deploy' }, 400, 'CONFIRM_REQUIRED'],
    [{ environment: 'lab', alias: 'app', target: 'deploy' }, 400, 'CONFIRM_REQUIRED'],
  ])('refuses the fan-out %j with %i %s, starting nothing', async (req, status, code) => {
    const before = await t.db.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const res = await post('/api/jobs/fanout', req);
    expect(res.status).toBe(status);
    expect(res.body.error?.code).toBe(code);
    const after = await t.db.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });
});
