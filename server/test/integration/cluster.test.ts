// Several instances on one database: two real server processes (cluster.enabled) share a Postgres.
// A client on B follows a job running on A byte for byte, cancels it from B, and when A is killed
// B takes its job over as interrupted. With the cluster off, nothing listens and nothing notifies.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, JobLog } from '@vmo/protocol';
import { INSTANCE_ID_FILE } from '../../src/cluster/instance-id.js';
import { CLUSTER_CHANNEL } from '../../src/cluster/cluster.service.js';
import { HttpClient, startTestApp, type TestApp, type TestSocket } from '../fixtures/app.js';
import { createTestDatabase, type TestDatabase } from '../fixtures/postgres.js';
import {
  ENGINE_PROJECT,
  expectContiguous,
  follow,
  storedEvents,
  textOf,
} from '../fixtures/jobs.js';

const serverDir = fileURLToPath(new URL('../..', import.meta.url));
const main = path.join(serverDir, 'src/main.ts');

interface Instance {
  proc: ChildProcess;
  url: string;
  dir: string;
  output: () => string;
}

const exited = (proc: ChildProcess) =>
  new Promise<void>((resolve) =>
    proc.exitCode !== null || proc.signalCode ? resolve() : proc.once('exit', () => resolve()),
  );

// Real processes on a shared machine: starts take seconds, so every step gets a minute.
describe('several instances on one database', { timeout: 60_000 }, () => {
  let database: TestDatabase;
  const procs: ChildProcess[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null && !p.signalCode) p.kill('SIGKILL');
    await Promise.all(procs.map(exited));
    await database.drop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  async function startInstance(dir?: string): Promise<Instance> {
    if (!dir) {
      dir = await mkdtemp(path.join(tmpdir(), 'vmo-cluster-'));
      await chmod(dir, 0o755);
      dirs.push(dir);
    }
    const config = path.join(dir, 'vmo.yaml');
    await writeFile(
      config,
      [
        'projects:',
        `  - alias: engine`,
        `    dir: ${ENGINE_PROJECT}`,
        'mkcli: { registry: /nonexistent/mkcli/registry }',
        'ssh: { config: /nonexistent/ssh/config }',
        'cluster: { enabled: true, heartbeatSeconds: 1 }',
        '',
      ].join('\n'),
    );
    const args = ['--port', '0', '--data-dir', dir, '--config', config];
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', main, ...args, '--database-url', database.url],
      {
        cwd: serverDir,
        env: { ...process.env, DATABASE_URL: '', LOG_JSON: '1', VMO_ADMIN_PASSWORD: 'pw' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    procs.push(proc);
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in 60 s:\n${out}`)), 60_000);
      const check = () => {
        const m = /"url":"(http:\/\/[^"]+)".*"msg":"vm-orchestrator is ready"/.exec(out);
        if (m) {
          clearTimeout(timer);
          proc.off('exit', onExit);
          resolve(m[1]!);
        }
      };
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code}:\n${out}`));
      };
      proc.stdout.on('data', check);
      proc.once('exit', onExit);
    });
    return { proc, url, dir, output: () => out };
  }

  async function signIn(url: string): Promise<HttpClient> {
    const client = new HttpClient(url);
    const res = await client.post('/api/auth/login', { username: 'admin', password: 'pw' });
    expect(res.status).toBe(200);
    return client;
  }

  async function startJob(client: HttpClient, target: string, args = {}): Promise<string> {
    const res = await client.post('/api/jobs/stream', { alias: 'engine', target, args });
    expect(res.status).toBe(201);
    return ((await res.json()) as { jobId: string }).jobId;
  }

  const jobOn = async (client: HttpClient, jobId: string) =>
    (await (await client.get(`/api/jobs/${jobId}`)).json()) as Job;

  let a: Instance;
  let b: Instance;
  let onA: HttpClient;
  let onB: HttpClient;
  let socketB: TestSocket;

  // Started before the tests, so that any one of them can run alone (`-t`).
  beforeAll(async () => {
    [a, b] = await Promise.all([startInstance(), startInstance()]);
    [onA, onB] = await Promise.all([signIn(a.url), signIn(b.url)]);
    socketB = await onB.socket();
  }, 90_000);

  it(
    'starts two instances with ids of their own, registered with a heartbeat',
    { timeout: 90_000 },
    async () => {
      const idA = (await readFile(path.join(a.dir, INSTANCE_ID_FILE), 'utf8')).trim();
      const idB = (await readFile(path.join(b.dir, INSTANCE_ID_FILE), 'utf8')).trim();
      expect(idA).not.toBe(idB);
      const h = database.open();
      const rows = await h.db.selectFrom('instances').select('id').orderBy('id').execute();
      expect(rows.map((r) => r.id).sort()).toEqual([idA, idB].sort());
    },
  );

  it('a client on B sees every event of a job started on A, exactly once, and its status changes', async () => {
    const changed: Job[] = [];
    socketB.on('jobs:changed', ({ job }) => changed.push(job));
    const jobId = await startJob(onA, 'lines', { N: '1000' });
    const followed = await follow(socketB, jobId);
    expect(followed.done).toMatchObject({ jobId, status: 'success', exitCode: 0 });
    expectContiguous(followed.events);
    const stored = await storedEvents(onA, jobId);
    expect(followed.events).toEqual(stored);
    const expected = Array.from({ length: 1000 }, (_, i) => `line ${i + 1}\n`).join('');
    expect(textOf(followed.events, 'stdout')).toBe(expected);
    // jobs:changed crosses through the postgres adapter (A emitted it; B's socket got it).
    await expect
      .poll(() => changed.filter((j) => j.id === jobId).map((j) => j.status), { timeout: 10_000 })
      .toEqual(expect.arrayContaining(['queued', 'running', 'success']));
    // Both instances name the job's owner the same way: A's id.
    const h = database.open();
    const row = await h.db
      .selectFrom('jobs')
      .select('instance_id')
      .where('id', '=', jobId)
      .executeTakeFirstOrThrow();
    expect(row.instance_id).toBe(
      (await readFile(path.join(a.dir, INSTANCE_ID_FILE), 'utf8')).trim(),
    );
  });

  it('follows live on B, and a cancel sent to B stops the job on A', async () => {
    const jobId = await startJob(onA, 'slow');
    const live: JobLog[] = [];
    const onLog = (e: JobLog) => e.jobId === jobId && live.push(e);
    socketB.on('job:log', onLog);
    const followed = follow(socketB, jobId, 0, 30_000);
    // Ticks reach B while the job still runs on A: they came by NOTIFY and a read on B.
    await expect
      .poll(() => live.filter((e) => e.stream === 'stdout').length, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(2);
    expect((await jobOn(onB, jobId)).status).toBe('running');

    const ack = await socketB.emitWithAck('cancel-job', { jobId });
    expect(ack).toEqual({ ok: true, jobId, status: 'running' });
    const { events, done } = await followed;
    socketB.off('job:log', onLog);
    expect(done.status).toBe('canceled');
    expectContiguous(events);
    expect(events).toEqual(await storedEvents(onB, jobId));
    expect(textOf(events, 'system')).toMatch(/canceled by admin/);
    expect(textOf(events, 'stdout')).not.toMatch(/tick 60/);

    // Over REST too: a job A runs, canceled through B, answers 202 with the status known then.
    const second = await startJob(onA, 'slow');
    await expect
      .poll(async () => (await jobOn(onB, second)).lastSeq, { timeout: 10_000 })
      .toBeGreaterThan(1);
    const res = await onB.post('/api/jobs/cancel', { jobId: second });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ jobId: second, status: 'running' });
    await expect
      .poll(async () => (await jobOn(onB, second)).status, { timeout: 15_000 })
      .toBe('canceled');
    // A finished job is still 409 from either side.
    const again = await onB.post('/api/jobs/cancel', { jobId: second });
    expect(again.status).toBe(409);
  });

  it('when A is killed, B marks its job interrupted (after the heartbeat threshold), keeping its output', async () => {
    const jobId = await startJob(onA, 'slow');
    const followed = follow(socketB, jobId, 0, 40_000);
    await expect
      .poll(async () => (await jobOn(onB, jobId)).lastSeq, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(3);
    a.proc.kill('SIGKILL');
    await exited(a.proc);

    const { events, done } = await followed;
    expect(done.status).toBe('interrupted');
    expectContiguous(events);
    expect(events).toEqual(await storedEvents(onB, jobId));
    expect(textOf(events, 'stdout')).toMatch(/tick 1\n/);
    const idA = (await readFile(path.join(a.dir, INSTANCE_ID_FILE), 'utf8')).trim();
    const idB = (await readFile(path.join(b.dir, INSTANCE_ID_FILE), 'utf8')).trim();
    expect(textOf(events, 'system')).toContain(
      `interrupted: the server instance running it (${idA}) stopped answering (no heartbeat for 3 s); ${idB} took it over`,
    );
    const job = await jobOn(onB, jobId);
    expect(job.status).toBe('interrupted');
    // A's row is forgotten once its jobs were taken over.
    const h = database.open();
    await expect
      .poll(
        async () => (await h.db.selectFrom('instances').select('id').execute()).map((r) => r.id),
        { timeout: 10_000 },
      )
      .not.toContain(idA);
  });

  it('stops gracefully and unregisters', async () => {
    socketB.disconnect();
    const idB = (await readFile(path.join(b.dir, INSTANCE_ID_FILE), 'utf8')).trim();
    b.proc.kill('SIGTERM');
    await exited(b.proc);
    expect(b.proc.exitCode, b.output().slice(-3000)).toBe(0);
    const h = database.open();
    const ids = (await h.db.selectFrom('instances').select('id').execute()).map((r) => r.id);
    expect(ids).not.toContain(idB);
  });
  it('A restarted on its data dir (alone now) keeps its id and marks its own unfinished job interrupted at once', async () => {
    a = await startInstance(a.dir);
    onA = await signIn(a.url);
    const jobId = await startJob(onA, 'slow');
    await expect
      .poll(async () => (await jobOn(onA, jobId)).lastSeq, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2);
    a.proc.kill('SIGKILL');
    await exited(a.proc);
    a = await startInstance(a.dir);
    onA = await signIn(a.url);
    // No waiting for a heartbeat threshold: start-up recovery knows the job was its own.
    expect((await jobOn(onA, jobId)).status).toBe('interrupted');
    const events = await storedEvents(onA, jobId);
    expect(textOf(events, 'system')).toMatch(/the server stopped while this job was running/);
    a.proc.kill('SIGTERM');
    await exited(a.proc);
  }, 120_000);
});

describe('cluster off', () => {
  let app: TestApp;
  let listener: pg.Client;
  const heard: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ config: { projects: [{ alias: 'engine', dir: ENGINE_PROJECT }] } });
    listener = new pg.Client({ connectionString: app.database.url });
    await listener.connect();
    listener.on('notification', (n) => heard.push(n.channel));
    await listener.query(`LISTEN "${CLUSTER_CHANNEL}"`);
  });
  afterAll(async () => {
    await listener.end();
    await app.close();
  });

  it('opens no LISTEN connection and sends no NOTIFY, and has no cluster service', async () => {
    expect(app.services.cluster).toBeNull();
    const admin = await app.loginAs('admin');
    const socket = await admin.socket();
    const res = await admin.post('/api/jobs/stream', {
      alias: 'engine',
      target: 'lines',
      args: { N: '50' },
    });
    const { jobId } = (await res.json()) as { jobId: string };
    const { done } = await follow(socket, jobId);
    expect(done.status).toBe('success');
    socket.disconnect();
    // A round trip on the listening connection delivers anything sent before it.
    await listener.query('select 1');
    expect(heard).toEqual([]);
    const { rows } = await listener.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and query ilike 'listen%'`,
    );
    expect(rows[0]!.n).toBe(0);
    const tables = await app.db.db.selectFrom('instances').select('id').execute();
    expect(tables).toEqual([]);
  });
});
