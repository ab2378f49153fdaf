// The real command: start, kill -9, restart on the same data dir; graceful stop; config errors.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventPage, Job } from '@vmo/protocol';
import { reportFault } from '../fixtures/fault-report.js';
import { ENGINE_PROJECT } from '../fixtures/jobs.js';
import {
  alive,
  cookieFor as signIn,
  exited,
  mainScript as main,
  serverDir,
  serverScratch,
  startServer,
} from '../fixtures/server-process.js';

const start = startServer;

describe('vm-orchestrator (the command)', () => {
  const scratch = serverScratch();
  const { procs } = scratch;
  const dataDir = () => scratch.dataDir();
  afterAll(() => scratch.cleanup());

  it('starts on the embedded Postgres, survives a kill -9, and restarts on the same data', async () => {
    const dir = await dataDir();
    const first = await start(['--data-dir', dir], { VMO_ADMIN_PASSWORD: 'first-pass' });
    procs.push(first.proc);
    expect(first.output()).toMatch(/one-time link[\s\S]*\/auth\/link\/[A-Za-z0-9_-]{40,}/);
    expect(await (await fetch(first.url + '/api/health')).json()).toMatchObject({
      ok: true,
      db: 'up',
    });
    const pgPidFile = path.join(dir, 'pg', 'postmaster.pid');
    expect(existsSync(pgPidFile)).toBe(true);
    expect((await readFile(path.join(dir, 'vmo.pid'), 'utf8')).trim()).toBe(String(first.proc.pid));

    first.proc.kill('SIGKILL');
    await exited(first.proc);

    // The second start finds the orphaned postmaster, stops it, and starts its own on the same data.
    const second = await start(['--data-dir', dir], { VMO_ADMIN_PASSWORD: 'ignored-now' });
    procs.push(second.proc);
    expect(second.output()).not.toMatch(/creating the embedded PostgreSQL cluster/);
    const login = (password: string) =>
      fetch(second.url + '/api/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      });
    expect((await login('first-pass')).status).toBe(200);
    expect((await login('ignored-now')).status).toBe(401);

    // A graceful stop takes the embedded Postgres down with it.
    second.proc.kill('SIGTERM');
    expect(await exited(second.proc)).toBe(0);
    expect(existsSync(pgPidFile)).toBe(false);
    expect(existsSync(path.join(dir, 'vmo.pid'))).toBe(false);
  });

  it('runs as built: bin/vm-orchestrator.js and its one-file server sign in, run a target, stop', async () => {
    // The bundle, as `npm run build` makes it (make test builds first).
    expect(existsSync(path.join(serverDir, 'dist/vm-orchestrator.js'))).toBe(true);
    const dir = await dataDir();
    const config = path.join(dir, 'vmo.yaml');
    await writeFile(config, `projects:\n  - alias: engine\n    dir: ${ENGINE_PROJECT}\n`);
    const server = await start(
      ['--data-dir', dir, '--config', config],
      { VMO_ADMIN_PASSWORD: 'pw' },
      {
        built: true,
      },
    );
    procs.push(server.proc);
    const cookie = await signIn(server.url, 'admin', 'pw');
    const res = await fetch(server.url + '/api/jobs/stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, origin: server.url },
      body: JSON.stringify({ alias: 'engine', target: 'hello', args: { NAME: 'bundle' } }),
    });
    expect(res.status).toBe(201);
    const { jobId } = (await res.json()) as { jobId: string };
    await expect
      .poll(
        async () =>
          (
            (await (
              await fetch(`${server.url}/api/jobs/${jobId}`, { headers: { cookie } })
            ).json()) as Job
          ).status,
      )
      .toBe('success');
    const page = (await (
      await fetch(`${server.url}/api/jobs/${jobId}/events?limit=100`, { headers: { cookie } })
    ).json()) as EventPage;
    expect(page.events.map((e) => e.chunk).join('')).toContain('hello bundle\n');
    expect(await (await fetch(server.url + '/metrics', { headers: { cookie } })).text()).toMatch(
      /^vmo_jobs\{status="success"[^}]*\} 1$/m,
    );
    server.proc.kill('SIGTERM');
    expect(await exited(server.proc)).toBe(0);
  });

  it('marks a job interrupted after the server is SIGKILLed mid-job, keeping its output and ending its processes', async () => {
    const dir = await dataDir();
    const config = path.join(dir, 'vmo.yaml');
    await writeFile(config, `projects:\n  - alias: engine\n    dir: ${ENGINE_PROJECT}\n`);
    const first = await start(['--data-dir', dir, '--config', config], {
      VMO_ADMIN_PASSWORD: 'pw',
    });
    procs.push(first.proc);
    const cookieFor = (url: string) => signIn(url, 'admin', 'pw');
    const cookie = await cookieFor(first.url);
    const res = await fetch(first.url + '/api/jobs/stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, origin: first.url },
      body: JSON.stringify({ alias: 'engine', target: 'slow' }),
    });
    expect(res.status).toBe(201);
    const { jobId } = (await res.json()) as { jobId: string };
    const job = async (url: string, c: string) =>
      (await (await fetch(`${url}/api/jobs/${jobId}`, { headers: { cookie: c } })).json()) as Job;
    await expect
      .poll(async () => (await job(first.url, cookie)).lastSeq, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(3);
    // A quiet job (no output to fail on once the server is gone): make, sh and two sleeps.
    const pidFile = path.join(dir, 'background.pids');
    const quiet = await fetch(first.url + '/api/jobs/stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, origin: first.url },
      body: JSON.stringify({ alias: 'engine', target: 'background', args: { PIDFILE: pidFile } }),
    });
    expect(quiet.status).toBe(201);
    const { jobId: quietId } = (await quiet.json()) as { jobId: string };
    const childPids = async () =>
      existsSync(pidFile)
        ? (await readFile(pidFile, 'utf8')).split('\n').filter(Boolean).map(Number)
        : [];
    await expect.poll(async () => (await childPids()).length, { timeout: 10_000 }).toBe(3);
    // Its row says who leads its process group before the crash.
    await expect
      .poll(
        async () =>
          (
            await fetch(`${first.url}/api/jobs/${quietId}/events?limit=100`, {
              headers: { cookie },
            }).then((r) => r.json() as Promise<EventPage>)
          ).events.some((e) => /\(pid \d+\)/.test(e.chunk)),
        { timeout: 10_000 },
      )
      .toBe(true);

    first.proc.kill('SIGKILL');
    await exited(first.proc);
    // The server is gone; the job's processes are not (nothing in the kernel ties them to it).
    const orphans = await childPids();
    expect(orphans.filter(alive)).toEqual(orphans);

    const second = await start(['--data-dir', dir, '--config', config]);
    procs.push(second.proc);
    const cookie2 = await cookieFor(second.url);
    const after = await job(second.url, cookie2);
    expect(after.status).toBe('interrupted');
    const page = (await (
      await fetch(`${second.url}/api/jobs/${jobId}/events?limit=1000`, {
        headers: { cookie: cookie2 },
      })
    ).json()) as EventPage;
    expect(page.done).toBe(true);
    const stdout = page.events
      .filter((e) => e.stream === 'stdout')
      .map((e) => e.chunk)
      .join('');
    expect(stdout).toMatch(/^tick 1\ntick 2\n/);
    expect(page.events.at(-1)).toMatchObject({
      stream: 'system',
      chunk: expect.stringContaining('interrupted') as unknown,
    });
    // The restart ended the quiet job's processes, and says so in its events.
    const left = orphans.filter(alive);
    const quietJob = (await (
      await fetch(`${second.url}/api/jobs/${quietId}`, { headers: { cookie: cookie2 } })
    ).json()) as Job;
    expect(quietJob.status).toBe('interrupted');
    reportFault({
      fault: 'SIGKILL of the server mid-job, then a start',
      tries: 1,
      crashes: 0,
      held: `${left.length} of ${orphans.length} of a job's processes (sh, sleep) left running after the start; both jobs ${[...new Set([after.status, quietJob.status])].join(' and ')}, output up to the kill kept`,
    });
    expect(left).toEqual([]);
    const quietPage = (await (
      await fetch(`${second.url}/api/jobs/${quietId}/events?limit=1000`, {
        headers: { cookie: cookie2 },
      })
    ).json()) as EventPage;
    expect(
      quietPage.events
        .filter((e) => e.stream === 'system')
        .map((e) => e.chunk)
        .join('\n'),
    ).toMatch(
      /interrupted: the server stopped[\s\S]*4 of its processes \(make, sh, sleep\) were still running; ended them with SIGTERM/,
    );

    // A SIGTERM mid-job is a graceful stop (the embedded Postgres's own signal handling does
    // not cut it short): the job is stopped, its output flushed and it ends interrupted.
    const again = await fetch(second.url + '/api/jobs/stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: cookie2, origin: second.url },
      body: JSON.stringify({ alias: 'engine', target: 'slow' }),
    });
    const { jobId: running } = (await again.json()) as { jobId: string };
    const jobAt = async (url: string, c: string) =>
      (await (await fetch(`${url}/api/jobs/${running}`, { headers: { cookie: c } })).json()) as Job;
    await expect
      .poll(async () => (await jobAt(second.url, cookie2)).lastSeq, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2);
    second.proc.kill('SIGTERM');
    expect(await exited(second.proc)).toBe(0);
    expect(second.output()).toMatch(/"msg":"stopped"/);

    const third = await start(['--data-dir', dir, '--config', config]);
    procs.push(third.proc);
    const cookie3 = await cookieFor(third.url);
    const stopped = await jobAt(third.url, cookie3);
    expect(stopped.status).toBe('interrupted');
    expect(stopped.finishedAt).not.toBeNull();
    third.proc.kill('SIGTERM');
    expect(await exited(third.proc)).toBe(0);
  }, 90_000); // three starts of the server and their sign-ins: over 30 s on a loaded two-core machine

  /** Runs the command to its end: exit code and what it printed. */
  async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
    const proc = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
      cwd: serverDir,
      env: { ...process.env, DATABASE_URL: '', LOG_JSON: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    procs.push(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return { code: await exited(proc), stdout, stderr };
  }

  it('answers --help and --version, and exits 0', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const word of ['--port', '--data-dir', 'DATABASE_URL', 'VMO_ADMIN_PASSWORD', 'SIGHUP'])
      expect(help.stdout).toContain(word);
    const version = await run(['--version']);
    expect(version).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^vm-orchestrator \d+\.\d+\.\d+\n$/) as unknown,
    });
  });

  it('says in one line that the port is in use, and stops the Postgres it had started', async () => {
    const dir = await dataDir();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const res = await run(['--data-dir', dir, '--port', String(port)]);
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(
        `vm-orchestrator: port ${port} on 127.0.0.1 is in use (another vm-orchestrator? stop it, or start with --port)\n`,
      );
      // The embedded Postgres had been started (its data is there) and is stopped again.
      expect(existsSync(path.join(dir, 'pg', 'PG_VERSION'))).toBe(true);
      expect(existsSync(path.join(dir, 'pg', 'postmaster.pid'))).toBe(false);
    } finally {
      taken.close();
    }
  });

  it('stops gracefully on SIGHUP, the embedded Postgres with it; bound to 0.0.0.0 it prints a reachable link', async () => {
    const dir = await dataDir();
    const server = await start(['--data-dir', dir, '--host', '0.0.0.0']);
    procs.push(server.proc);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.output()).toMatch(/http:\/\/127\.0\.0\.1:\d+\/auth\/link\//);
    expect(server.output()).not.toContain('0.0.0.0');
    expect(server.output()).toMatch(
      new RegExp(
        `vm-orchestrator is running at http://127\\.0\\.0\\.1:\\d+\\n[\\s\\S]*Stop it with Ctrl-C, or \`kill -TERM ${server.proc.pid}\``,
      ),
    );
    const pgPid = Number(
      (await readFile(path.join(dir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0],
    );
    expect(alive(pgPid)).toBe(true);
    server.proc.kill('SIGHUP');
    const code = await exited(server.proc);
    // How it ended, with what it said, when it is not a clean exit (to tell a crash from a kill).
    expect(
      { code, signal: server.proc.signalCode },
      code === 0 ? '' : server.output().slice(-3000),
    ).toEqual({ code: 0, signal: null });
    expect(server.output()).toMatch(/"signal":"SIGHUP".*"msg":"shutting down"/);
    expect(alive(pgPid)).toBe(false);
    expect(existsSync(path.join(dir, 'pg', 'postmaster.pid'))).toBe(false);
  });

  it('stops with exit code 2 and names the bad key and the file', async () => {
    const dir = await dataDir();
    const file = path.join(dir, 'vmo.yaml');
    await writeFile(file, 'jobs:\n  maxConcurent: 4\n');
    const proc = spawn(process.execPath, ['--import', 'tsx', main, '--config', file], {
      cwd: serverDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    expect(await exited(proc)).toBe(2);
    expect(err).toBe(`vm-orchestrator: ${file}: unknown key "jobs.maxConcurent"\n`);
  });
});
