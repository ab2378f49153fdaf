// Terminal jobs: an interactive target in a pty driven over the socket, recorded like any job; the
// owner types (and with admins, watches); idle timeout, maxOpen, cancel, a host shell, and the desktop spawn.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, JobLog } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp, type TestSocket } from '../fixtures/app.js';
import { alive, ENGINE_PROJECT, follow, pidsIn, storedEvents, textOf } from '../fixtures/jobs.js';
import { startSshd, type SshdFixture } from '../fixtures/sshd.js';

const root = mkdtempSync(path.join(tmpdir(), 'vmo-term-'));

/** Resolves once the job's pty output (as seen live by this socket) contains `text`. */
function sees(socket: TestSocket, jobId: string, text: string): Promise<void> {
  let seen = '';
  return new Promise((resolve) => {
    const on = (e: JobLog) => {
      if (e.jobId !== jobId) return;
      seen += e.chunk;
      if (seen.includes(text)) {
        socket.off('job:log', on);
        resolve();
      }
    };
    socket.on('job:log', on);
  });
}

describe('terminal jobs', () => {
  let t: TestApp;
  let owner: HttpClient;
  let socket: TestSocket;
  let sshd: SshdFixture;
  const argvFile = path.join(root, 'argv.json');

  beforeAll(async () => {
    sshd = await startSshd();
    const fakeTerm = path.join(root, 'fake-term');
    writeFileSync(
      fakeTerm,
      `#!/usr/bin/env node\nrequire('fs').writeFileSync(${JSON.stringify(argvFile)}, JSON.stringify(process.argv.slice(2)));\n`,
    );
    chmodSync(fakeTerm, 0o755);
    t = await startTestApp({
      config: {
        projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
        ssh: { config: sshd.configFile },
        terminal: { maxOpen: 2, desktop: true },
        jobs: { graceSeconds: 1 },
        // A shell on a host is an ad-hoc command (SPEC §4).
        security: { allowAdHoc: true },
      },
      desktopEnv: { TERM_CMD: `${fakeTerm} --title "vmo job" -- sh -c {command}` },
    });
    owner = await t.loginAs('operator');
    socket = await owner.socket();
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
    await sshd?.stop();
  });

  const open = async (client: HttpClient, body: unknown) => {
    const res = await client.post('/api/jobs/terminal', body);
    return {
      status: res.status,
      body: (await res.json()) as {
        jobId: string;
        type: string;
        error?: { code: string; message: string };
      },
    };
  };

  it('runs an interactive target in a pty: the owner types, the echo comes back, and it is all recorded', async () => {
    const { status, body } = await open(owner, { alias: 'engine', target: 'ask' });
    expect(status).toBe(201);
    expect(body.type).toBe('terminal');
    const prompt = sees(socket, body.jobId, 'name? ');
    const following = follow(socket, body.jobId);
    await prompt;
    expect(
      await socket.emitWithAck('terminal:input', { jobId: body.jobId, data: 'wörld\r' }),
    ).toEqual({ ok: true });
    const { done, events } = await following;
    expect(done).toMatchObject({ status: 'success', exitCode: 0 });
    const pty = textOf(events, 'pty');
    expect(pty).toContain('name? wörld\r\n');
    expect(pty).toContain('got:wörld\r\n');
    expect(await storedEvents(owner, body.jobId)).toEqual(events);
    const job = (await (await owner.get(`/api/jobs/${body.jobId}`)).json()) as Job;
    expect(job).toMatchObject({
      type: 'terminal',
      status: 'success',
      command: 'make ask',
      target: 'ask',
    });
    expect(
      await socket.emitWithAck('terminal:input', { jobId: body.jobId, data: 'late' }),
    ).toMatchObject({ ok: false, error: { code: 'JOB_FINISHED' } });
  });

  it('keeps keystrokes in the order they were sent, without waiting for acks', async () => {
    const { body } = await open(owner, { alias: 'engine', target: 'ask' });
    const prompt = sees(socket, body.jobId, 'name? ');
    const following = follow(socket, body.jobId);
    await prompt;
    const acks = [...'the quick brown fox', '\r'].map((ch) =>
      socket.emitWithAck('terminal:input', { jobId: body.jobId, data: ch }),
    );
    expect((await Promise.all(acks)).every((a) => a.ok)).toBe(true);
    const { events } = await following;
    expect(textOf(events, 'pty')).toContain('got:the quick brown fox\r\n');
  });

  it('resizes the pty', async () => {
    const { body } = await open(owner, { alias: 'engine', target: 'size', cols: 80, rows: 24 });
    const following = follow(socket, body.jobId);
    await expect
      .poll(
        async () =>
          (await socket.emitWithAck('terminal:resize', { jobId: body.jobId, cols: 132, rows: 43 }))
            .ok,
      )
      .toBe(true);
    await socket.emitWithAck('terminal:input', { jobId: body.jobId, data: '\r' });
    const { events } = await following;
    expect(textOf(events, 'pty')).toContain('43 132\r\n');
  });

  it('lets only the owner or an admin type', async () => {
    const { body } = await open(owner, { alias: 'engine', target: 'ask' });
    const following = follow(socket, body.jobId);
    const other = await (await t.loginAs('operator')).socket();
    const viewer = await (await t.loginAs('viewer')).socket();
    await expect
      .poll(
        async () =>
          (await other.emitWithAck('terminal:input', { jobId: body.jobId, data: 'x' })).ok ===
          false,
      )
      .toBe(true);
    expect(
      await other.emitWithAck('terminal:input', { jobId: body.jobId, data: 'x' }),
    ).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(
      await viewer.emitWithAck('terminal:resize', { jobId: body.jobId, cols: 10, rows: 10 }),
    ).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const admin = await (await t.loginAs('admin')).socket();
    expect(
      await admin.emitWithAck('terminal:input', { jobId: body.jobId, data: 'from-admin\r' }),
    ).toEqual({ ok: true });
    const { events } = await following;
    expect(textOf(events, 'pty')).toContain('got:from-admin');
    for (const s of [other, viewer, admin]) s.close();
  });

  it('refuses bad terminal input', async () => {
    expect(await socket.emitWithAck('terminal:input', { jobId: 'nope', data: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'JOB_NOT_FOUND' },
    });
    expect(
      await socket.emitWithAck('terminal:resize', { jobId: 'x', cols: 0, rows: 10 }),
    ).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    expect(
      await socket.emitWithAck('terminal:input', { jobId: 'x', data: 'x'.repeat(70_000) }),
    ).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    expect((await open(owner, { alias: 'engine', target: 'ask', cols: 5000 })).status).toBe(400);
    expect((await open(owner, { alias: 'engine', target: 'nope' })).body.error?.code).toBe(
      'UNKNOWN_TARGET',
    );
    expect((await open(await t.loginAs('viewer'), { alias: 'engine', target: 'ask' })).status).toBe(
      403,
    );
  });

  it('cancels a terminal: its whole process group is gone', async () => {
    const pidFile = path.join(root, 'pty.pids');
    const { body } = await open(owner, {
      alias: 'engine',
      target: 'background',
      args: { PIDFILE: pidFile },
    });
    const pids = await pidsIn(pidFile, 3);
    await owner.post('/api/jobs/cancel', { jobId: body.jobId });
    const { done } = await follow(socket, body.jobId);
    expect(done.status).toBe('canceled');
    await expect.poll(() => pids.filter(alive), { timeout: 5_000 }).toEqual([]);
  });

  it('keeps at most terminal.maxOpen terminals open', async () => {
    const a = await open(owner, { alias: 'engine', target: 'ask' });
    const b = await open(owner, { alias: 'engine', target: 'ask' });
    const c = await open(owner, { alias: 'engine', target: 'ask' });
    expect([a.status, b.status, c.status]).toEqual([201, 201, 429]);
    expect(c.body.error).toMatchObject({
      code: 'RATE_LIMITED',
      message: expect.stringContaining('terminal.maxOpen') as unknown,
    });
    for (const id of [a.body.jobId, b.body.jobId]) {
      await owner.post('/api/jobs/cancel', { jobId: id });
      await follow(socket, id);
    }
    const d = await open(owner, { alias: 'engine', target: 'ask' });
    expect(d.status).toBe(201);
    await owner.post('/api/jobs/cancel', { jobId: d.body.jobId });
    await follow(socket, d.body.jobId);
  });

  it('opens a shell on a host over ssh -tt, for an admin only', async () => {
    expect(await open(owner, { hostAlias: 'vmo-test' })).toMatchObject({
      status: 403,
      body: {
        error: {
          code: 'FORBIDDEN',
          message: 'shells on hosts need the admin role (terminal.hostShells)',
        },
      },
    });
    const admin = await t.loginAs('admin');
    const adminSocket = await admin.socket();
    try {
      const { status, body } = await open(admin, { hostAlias: 'vmo-test' });
      expect(status).toBe(201);
      const following = follow(adminSocket, body.jobId);
      await expect
        .poll(
          async () =>
            (await adminSocket.emitWithAck('terminal:input', { jobId: body.jobId, data: '' })).ok,
        )
        .toBe(true);
      await adminSocket.emitWithAck('terminal:input', {
        jobId: body.jobId,
        data: 'echo hi-$((40+2)); exit\r',
      });
      const { done, events } = await following;
      expect(done.status).toBe('success');
      expect(textOf(events, 'pty')).toContain('hi-42');
    } finally {
      adminSocket.close();
    }
  });

  it('opens the desktop terminal app with TERM_CMD, {command} as one argument, and records it as spawned', async () => {
    const { status, body } = await open(owner, {
      alias: 'engine',
      target: 'hello',
      args: { NAME: 'desk' },
      mode: 'desktop',
    });
    expect(status).toBe(201);
    const { done, events } = await follow(socket, body.jobId);
    expect(done.status).toBe('spawned');
    expect(textOf(events, 'system')).toMatch(
      /^opened in fake-term \(pid \d+\): make hello NAME=desk\n$/,
    );
    await expect
      .poll(async () => (await readFile(argvFile, 'utf8').catch(() => '')) !== '')
      .toBe(true);
    const argv = JSON.parse(await readFile(argvFile, 'utf8')) as string[];
    expect(argv.slice(0, 5)).toEqual(['--title', 'vmo job', '--', 'sh', '-c']);
    expect(argv).toHaveLength(6);
    expect(argv[5]).toBe(`make -C ${ENGINE_PROJECT} --no-print-directory -- hello NAME=desk`);
  });
});

describe('terminal limits', () => {
  it('closes a session nobody used for terminal.idleSeconds', async () => {
    const t = await startTestApp({
      config: {
        projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
        terminal: { idleSeconds: 1 },
        jobs: { graceSeconds: 1 },
      },
    });
    try {
      const op = await t.loginAs('operator');
      const s = await op.socket();
      const { jobId } = (await (
        await op.post('/api/jobs/terminal', { alias: 'engine', target: 'ask' })
      ).json()) as { jobId: string };
      const { done, events } = await follow(s, jobId);
      s.close();
      expect(done.status).toBe('canceled');
      expect(textOf(events, 'system')).toContain(
        'no input or output for 1 s (terminal.idleSeconds)',
      );
      const desk = await op.post('/api/jobs/terminal', {
        alias: 'engine',
        target: 'ask',
        mode: 'desktop',
      });
      expect(desk.status).toBe(403);
    } finally {
      await t.close();
    }
  });
});
