// JobService and the database going away: a connection lost as a job starts, output that cannot be
// stored, shutdown during an outage, and the pool surviving a connection dropped mid-query.
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { engineAndWaiter, useJobApp } from '../fixtures/job-app.js';
import {
  type Followed,
  ENGINE_PROJECT,
  alive,
  eventsSoFar,
  expectContiguous,
  follow,
  getJob,
  pidIn,
  startJob,
  storedEvents,
  textOf,
} from '../fixtures/jobs.js';
import { createTestDatabase, testLog } from '../fixtures/postgres.js';
import { rowLocks } from '../fixtures/row-locks.js';
import { startTcpProxy } from '../fixtures/tcp-proxy.js';

describe('JobService when the connection drops as a job starts', () => {
  const app = useJobApp((project) => ({
    viaProxy: true,
    config: engineAndWaiter(project),
  }));

  // Regression (bug found by this test): durably() retried a start whose reply was lost though the
  // server had applied it; the retry found the job no longer `queued` and run() gave it up, leaving
  // it `running` for good with no process. A row lock holds the UPDATE in the server while the
  // connection is cut; releasing it lets the server apply it.
  it('runs the job when its start was written but the reply was lost', async () => {
    const { t, operator, project } = app;
    const first = await startJob(operator, 'waiter', 'wait', { GO: project.goFile });
    await expect.poll(async () => (await getJob(operator, first)).status).toBe('running');
    const next = await startJob(operator, 'engine', 'hello', { NAME: 'next' });

    const locks = await rowLocks(t.database.url);
    try {
      await locks.lock(next);
      await project.go(); // `next` leaves the queue; its start waits on the lock
      await expect.poll(locks.waiting, { timeout: 10_000 }).toBe(1);
      t.proxy!.cut(); // the service loses that connection, and retries
    } finally {
      await locks.release();
    }
    // The server side of the cut connection still applies the start.
    const direct = await rowLocks(t.database.url);
    try {
      await expect.poll(() => direct.status(next), { timeout: 10_000 }).toBe('running');
    } finally {
      await direct.release();
      t.proxy!.restore();
    }
    await expect
      .poll(async () => (await getJob(operator, next)).status, { timeout: 5_000 })
      .toBe('success');
  });
});

describe('JobService during a database outage', () => {
  const app = useJobApp({
    viaProxy: true,
    socket: true,
    config: {
      projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
      jobs: { graceSeconds: 1 },
      db: { outageSeconds: 1 },
    },
  });

  /** Runs `slow`, cuts the database until the job's process is stopped for it, then restores it. */
  async function jobThroughOutage(): Promise<{ jobId: string; followed: Promise<Followed> }> {
    const { t, operator, socket } = app;
    const proxy = t.proxy!;
    const jobId = await startJob(operator, 'engine', 'slow');
    const followed = follow(socket, jobId);
    await expect
      .poll(async () => textOf(await eventsSoFar(operator, jobId), 'stdout'), { timeout: 10_000 })
      .toContain('tick 1');
    const pid = pidIn(await eventsSoFar(operator, jobId));
    proxy.cut();
    try {
      // Storing fails for longer than outageSeconds: the job is stopped (its process goes away).
      await expect.poll(() => alive(pid), { timeout: 20_000 }).toBe(false);
    } finally {
      proxy.restore();
    }
    return { jobId, followed };
  }

  it('stops a job whose output cannot be stored for outageSeconds, keeps that output, and ends it failed', async () => {
    const { operator, socket } = app;
    const { jobId, followed } = await jobThroughOutage();
    const { done, events } = await followed;
    expect(done).toMatchObject({ jobId, status: 'failed' });
    expectContiguous(events);
    expect(await storedEvents(operator, jobId)).toEqual(events);
    const system = textOf(events, 'system');
    expect(system).toContain(
      'failed: the database did not take its output for 1 s (db.outageSeconds), so it was stopped',
    );
    expect(system).toMatch(/(killed by SIG\w+|exited with code \d+) after \d+\.\d s\n$/);
    // Nothing it wrote is lost: the ticks are all there, in order.
    const ticks = textOf(events, 'stdout').trim().split('\n');
    expect(ticks).toEqual(ticks.map((_, i) => `tick ${i + 1}`));
    expect(await getJob(operator, jobId)).toMatchObject({
      status: 'failed',
      lastSeq: events.at(-1)!.seq,
    });

    // The server is fine: it answers and runs the next job.
    expect((await operator.get('/api/health')).status).toBe(200);
    const next = await startJob(operator, 'engine', 'hello', { NAME: 'after' });
    const after = await follow(socket, next);
    expect(after.done.status).toBe('success');
    expect(textOf(after.events, 'stdout')).toBe('hello after\n');
  });

  // SPEC §2: `job:error {jobId, error}` is for "failures outside the job's own output (e.g. its
  // storage failed)". Regression: nothing used to send it when a job's storage failed.
  it('tells the job’s followers job:error when its storage failed', async () => {
    const { socket } = app;
    const jobErrors: { jobId: string }[] = [];
    const onError = (e: { jobId: string }) => jobErrors.push(e);
    socket.on('job:error', onError);
    try {
      const { jobId, followed } = await jobThroughOutage();
      expect((await followed).done.status).toBe('failed');
      expect(jobErrors.map((e) => e.jobId)).toContain(jobId);
    } finally {
      socket.off('job:error', onError);
    }
  });

  it('shutdown during an outage gives up in bounded time, and the next start marks the job interrupted', async () => {
    const { t, operator } = app;
    const proxy = t.proxy!;
    const jobId = await startJob(operator, 'engine', 'slow');
    await expect
      .poll(async () => textOf(await eventsSoFar(operator, jobId), 'stdout'), { timeout: 10_000 })
      .toContain('tick 1');
    const pid = pidIn(await eventsSoFar(operator, jobId));
    const errors = vi.spyOn(testLog, 'error');
    proxy.cut();
    try {
      await t.services.jobs.shutdown('stopping during an outage');
      expect(alive(pid)).toBe(false);
      // Its final status could not be written: the job is given up (and says so in the log).
      await expect
        .poll(() => errors.mock.calls.some(([, msg]) => msg === 'job runner failed'), {
          timeout: 10_000,
        })
        .toBe(true);
    } finally {
      proxy.restore();
      errors.mockRestore();
    }
    const stored = await eventsSoFar(operator, jobId);
    expect((await getJob(operator, jobId)).status).toBe('running');

    expect(await t.services.jobs.recoverInterrupted()).toBe(1);
    const job = await getJob(operator, jobId);
    expect(job).toMatchObject({ status: 'interrupted', lastSeq: stored.length + 1 });
    const all = await storedEvents(operator, jobId);
    expectContiguous(all);
    expect(all.slice(0, -1)).toEqual(stored);
    expect(all.at(-1)!.chunk).toMatch(
      /^interrupted: the server stopped while this job was running/,
    );
  });
});

describe('the database pool when a connection drops mid-query', () => {
  // Regression (bug found by the outage tests, "Uncaught Exception: write ECONNRESET"): pg-pool
  // removes its 'error' listener from a checked-out client and Kysely adds none, so a connection
  // dropping mid-query was an uncaught exception that ended the server. Run in a child process, so
  // that a crash is a failed assertion and not a crashed test worker.
  it('fails the query and keeps the process alive', async () => {
    const database = await createTestDatabase({ migrate: false });
    const target = new URL(database.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const dir = await mkdtemp(path.join(tmpdir(), 'vmo-pool-'));
    const script = path.join(dir, 'query.mts');
    const src = path.resolve(import.meta.dirname, '../../src');
    await writeFile(
      script,
      [
        `import { openDb } from ${JSON.stringify(path.join(src, 'db/client.ts'))};`,
        `import { createLogger } from ${JSON.stringify(path.join(src, 'logger.ts'))};`,
        `const db = openDb(process.argv[2]!, createLogger({ level: 'silent' }));`,
        `await db.db.selectNoFrom((eb) => eb.val(1).as('one')).execute();`,
        `console.log('ready');`,
        `await db.db`,
        `  .selectNoFrom((eb) => eb.fn('pg_sleep', [eb.val(30)]).as('slept'))`,
        `  .execute()`,
        `  .catch((e: Error) => console.log('query failed:', e.message));`,
        `console.log('still alive');`,
        `await db.close().catch(() => {});`,
      ].join('\n'),
    );
    target.hostname = '127.0.0.1';
    target.port = String(proxy.port);
    const child = spawn(
      path.resolve(src, '../../node_modules/.bin/tsx'),
      [script, target.toString()],
      {
        cwd: path.resolve(src, '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      await expect.poll(() => out, { timeout: 20_000 }).toContain('ready');
      // The sleep is running on a checked-out client when the connection goes.
      await expect
        .poll(
          async () =>
            (
              await admin.query(
                `select 1 from pg_stat_activity where query like 'select pg_sleep%' and state = 'active'`,
              )
            ).rowCount,
          { timeout: 10_000 },
        )
        .toBe(1);
      proxy.cut();
      const code = await exited;
      expect(out).toContain('query failed:');
      expect(out).toContain('still alive');
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await admin.end();
      await proxy.close();
      await database.drop();
    }
  });
});

describe('JobService.shutdown during a database outage, with a job still queued', () => {
  const app = useJobApp((project) => ({
    viaProxy: true,
    config: {
      ...engineAndWaiter(project),
      db: { outageSeconds: 1 },
    },
  }));

  // Regression (bug found by this test): shutdown() awaited each queued job's end first, whose write
  // retried for ever during an outage: it never returned, and running jobs were never stopped.
  it('returns within its grace even with a queued job', async () => {
    const { t, operator, project } = app;
    const running = await startJob(operator, 'waiter', 'wait', { GO: project.goFile });
    await expect.poll(async () => (await getJob(operator, running)).status).toBe('running');
    const pid = pidIn(await eventsSoFar(operator, running));
    const queued = await startJob(operator, 'engine', 'hello', { NAME: 'queued' });
    expect((await getJob(operator, queued)).status).toBe('queued');

    t.proxy!.cut();
    let returned = false;
    const stopping = t.services.jobs.shutdown('stopping during an outage').then(() => {
      returned = true;
    });
    try {
      // graceSeconds (0) + 5 s, then 2 s for abandoned writes: well within this.
      await expect.poll(() => returned, { timeout: 10_000 }).toBe(true);
      expect(alive(pid)).toBe(false);
    } finally {
      t.proxy!.restore();
      await stopping;
    }
  });
});
