// The engine under limits and faults (SPEC §3): timeout, output cap, database outages, slow clients, retention.
import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '@vmo/protocol';
import { Retention } from '../../src/jobs/retention.js';
import { JobsRepository } from '../../src/db/jobs.repository.js';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
import {
  alive,
  ENGINE_PROJECT,
  expectContiguous,
  follow,
  runDirectly,
  storedEvents,
  textOf,
} from '../fixtures/jobs.js';
import { testLog } from '../fixtures/postgres.js';
import { reportFault } from '../fixtures/fault-report.js';

const project = { alias: 'engine', dir: ENGINE_PROJECT };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the engine under limits and faults', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function setup(
    config: Record<string, unknown>,
    extra: Parameters<typeof startTestApp>[0] = {},
  ) {
    t = await startTestApp({ config: { projects: [project], ...config }, ...extra });
    const operator = await t.loginAs('operator');
    return { t, operator, socket: await operator.socket() };
  }

  const start = async (client: HttpClient, target: string, args: Record<string, string> = {}) => {
    const res = await client.post('/api/jobs/stream', { alias: 'engine', target, args });
    expect(res.status).toBe(201);
    return ((await res.json()) as { jobId: string }).jobId;
  };
  const getJob = async (client: HttpClient, id: string) =>
    (await (await client.get(`/api/jobs/${id}`)).json()) as Job;

  it('fails a job that runs past timeoutSeconds, saying so', async () => {
    const { operator, socket } = await setup({ jobs: { timeoutSeconds: 1, graceSeconds: 1 } });
    const jobId = await start(operator, 'slow');
    const { done, events } = await follow(socket, jobId);
    socket.close();
    expect(done.status).toBe('failed');
    expect(textOf(events, 'system')).toContain('timed out after 1 s (jobs.timeoutSeconds)');
    expect(textOf(events, 'stdout')).toContain('tick 1');
  });

  it('truncates output past maxOutputBytes with a system event, and the job runs to its end', async () => {
    const { operator, socket } = await setup({ jobs: { maxOutputBytes: 100_000 } });
    const jobId = await start(operator, 'gen', { MODE: 'twentymb' });
    const { done, events } = await follow(socket, jobId);
    socket.close();
    expect(done).toMatchObject({ status: 'success', exitCode: 0 });
    const stdout = textOf(events, 'stdout');
    expect(stdout.length).toBe(100_000);
    expect(stdout).toBe(('x'.repeat(99) + '\n').repeat(1000));
    expect(textOf(events, 'system')).toContain(
      'output truncated after 100000 bytes (jobs.maxOutputBytes)',
    );
    expect(await getJob(operator, jobId)).toMatchObject({ truncated: true, outputBytes: 100_000 });
  });

  /**
   * `lines N=400` (about 2 s of output) through a fault of the database, injected once it has
   * stored a few events and lifted after `seconds`: it must end `success` with every line stored
   * once and in order, followed live and read back alike.
   */
  async function linesThrough(
    app: Awaited<ReturnType<typeof setup>>,
    fault: { inject: () => void | Promise<void>; seconds: number; lift: () => void },
  ) {
    const { operator, socket } = app;
    const jobId = await start(operator, 'lines', { N: '400' });
    const following = follow(socket, jobId, 0, 90_000);
    await expect.poll(async () => (await getJob(operator, jobId)).lastSeq > 5).toBe(true);
    await fault.inject();
    await sleep(fault.seconds * 1000);
    fault.lift();
    const { done, events } = await following;
    socket.close();
    expect(done.status).toBe('success');
    expectContiguous(events);
    const want = Array.from({ length: 400 }, (_, i) => `line ${i + 1}\n`).join('');
    expect(textOf(events, 'stdout')).toBe(want);
    const stored = await storedEvents(operator, jobId);
    expect(stored).toEqual(events);
    return { done, want, stored };
  }

  it('loses nothing when the database is cut for 10 s mid-job; health says 503 meanwhile', async () => {
    const app = await setup({ db: { outageSeconds: 60 } }, { viaProxy: true });
    const { t } = app;
    const { done, want, stored } = await linesThrough(app, {
      inject: async () => {
        t.proxy!.cut();
        expect((await t.anonymous().get('/api/health')).status).toBe(503);
      },
      seconds: 10,
      lift: () => t.proxy!.restore(),
    });
    reportFault({
      fault: 'database connections reset for 10 s mid-job (TCP proxy cut)',
      tries: 1,
      bytesWritten: want.length,
      bytesStored: textOf(stored, 'stdout').length,
      crashes: 0,
      held: `job ended ${done.status}; health 503 during the outage`,
    });
    expect((await t.anonymous().get('/api/health')).status).toBe(200);
  }, 60_000);

  it('loses nothing when the database hangs (packets dropped, no reset) mid-job; health says 503 meanwhile', async () => {
    const app = await setup(
      { db: { outageSeconds: 60, queryTimeoutSeconds: 2 } },
      { viaProxy: true },
    );
    const { t } = app;
    const { done, want, stored } = await linesThrough(app, {
      inject: async () => {
        t.proxy!.hang();
        // Answered (the ping is bounded at 2 s), not left hanging with the database.
        const health = await t.anonymous().get('/api/health');
        expect(health.status).toBe(503);
        expect(await health.json()).toMatchObject({ ok: false, db: 'down' });
      },
      seconds: 6,
      lift: () => t.proxy!.restore(),
    });
    // Idle connections that hung are found out by the next query on them: health may take a ping.
    await expect.poll(async () => (await t.anonymous().get('/api/health')).status).toBe(200);
    reportFault({
      fault: 'database hung for 6 s mid-job (packets dropped, no reset)',
      tries: 1,
      bytesWritten: want.length,
      bytesStored: textOf(stored, 'stdout').length,
      crashes: 0,
      held: `job ended ${done.status}; health answered 503 (bounded at 2 s) during the hang`,
    });
  }, 60_000);

  it('pauses the process once bufferBytes are held during an outage, then stores every byte', async () => {
    const { t, operator, socket } = await setup(
      { jobs: { bufferBytes: 65_536 }, db: { outageSeconds: 60 } },
      { viaProxy: true },
    );
    const jobId = await start(operator, 'gen', { MODE: 'late-bigline' });
    // Its start is stored (with the pid) before it writes anything; then the database goes away.
    const firstChunk = async () =>
      (
        (await (await operator.get(`/api/jobs/${jobId}/events`)).json()) as {
          events: { chunk: string }[];
        }
      ).events[0]?.chunk ?? '';
    await expect.poll(firstChunk).toMatch(/started: .*\(pid \d+\)/);
    const startEvent = await firstChunk();
    const pid = Number(/\(pid (\d+)\)/.exec(startEvent)![1]);
    t.proxy!.cut();
    await sleep(4_000);
    // Alone, the generator writes its 10 MB in well under a second after its 1 s nap; it is still
    // there because nobody reads its pipe beyond bufferBytes.
    expect(() => process.kill(pid, 0)).not.toThrow();
    t.proxy!.restore();
    const { done, events } = await follow(socket, jobId, 0, 60_000);
    socket.close();
    expect(done.status).toBe('success');
    const direct = await runDirectly([
      'make',
      '-C',
      ENGINE_PROJECT,
      '--no-print-directory',
      '--',
      'gen',
      'MODE=late-bigline',
    ]);
    expect(textOf(events, 'stdout') === direct.stdout).toBe(true);
  }, 60_000);

  it('fails the job after outageSeconds, keeps the server up, and stores what it held once the database is back', async () => {
    const { t, operator, socket } = await setup(
      { db: { outageSeconds: 2 }, jobs: { graceSeconds: 1 } },
      { viaProxy: true },
    );
    const jobId = await start(operator, 'slow');
    await expect.poll(async () => (await getJob(operator, jobId)).lastSeq >= 2).toBe(true);
    t.proxy!.cut();
    await sleep(5_000);
    expect((await t.anonymous().get('/api/health')).status).toBe(503);
    t.proxy!.restore();
    const { done, events } = await follow(socket, jobId, 0, 60_000);
    socket.close();
    expect(done.status).toBe('failed');
    expectContiguous(events);
    expect(textOf(events, 'system')).toContain(
      'the database did not take its output for 2 s (db.outageSeconds)',
    );
    expect(textOf(events, 'stdout')).toMatch(/^tick 1\ntick 2\n/);
    expect((await t.anonymous().get('/api/health')).status).toBe(200);
  }, 60_000);

  it('stops a job whose row was deleted under it, at once, rather than retrying for ever', async () => {
    const { operator, socket } = await setup({ jobs: { graceSeconds: 1 } });
    const jobId = await start(operator, 'slow');
    const errors: string[] = [];
    let pid = 0;
    let ticks = 0;
    socket.on('job:error', (e) => e.jobId === jobId && errors.push(e.error.message));
    socket.on('job:log', (e) => {
      if (e.jobId !== jobId) return;
      pid ||= Number(/\(pid (\d+)\)/.exec(e.chunk)?.[1] ?? 0);
      if (e.stream === 'stdout') ticks++;
    });
    socket.emit('join-job', { jobId, afterSeq: 0 }, () => {});
    await expect.poll(() => pid > 0 && ticks > 0).toBe(true);
    await t!.db.db.deleteFrom('jobs').where('id', '=', jobId).execute();
    // The next batch meets a foreign key that cannot be mended: the job is stopped, not retried.
    // (The follower may also say the job is gone: a rejoin would find no job.)
    await expect
      .poll(() => errors.some((m) => /cannot be stored .*; it is being stopped/.test(m)), {
        timeout: 10_000,
      })
      .toBe(true);
    await expect.poll(() => alive(pid)).toBe(false);
    await expect.poll(() => t!.services.jobs.runningCount).toBe(0);
  });

  it('resyncs a client that stops reading; the job does not wait, and the client ends with every byte', async () => {
    const { t, operator, socket } = await setup({}, { sendBufferBytes: 1_000_000 });
    // Stop reading the websocket: the kernel buffers fill and the server's send queue grows.
    const transport = (
      socket.io.engine as unknown as {
        transport: { ws: { _socket: { pause(): void; resume(): void } } };
      }
    ).transport;
    const jobId = await start(operator, 'gen', { MODE: 'twentymb' });
    const following = follow(socket, jobId, 0, 120_000);
    await sleep(50);
    transport.ws._socket.pause();
    // The job finishes while this client reads nothing.
    await expect
      .poll(async () => (await getJob(operator, jobId)).status, { timeout: 60_000 })
      .toBe('success');
    transport.ws._socket.resume();
    const { done, events, resyncs } = await following;
    socket.close();
    expect(done.status).toBe('success');
    expect(resyncs).toBeGreaterThan(0);
    expectContiguous(events);
    const direct = await runDirectly([
      'make',
      '-C',
      ENGINE_PROJECT,
      '--no-print-directory',
      '--',
      'gen',
      'MODE=twentymb',
    ]);
    expect(textOf(events, 'stdout') === direct.stdout).toBe(true);
    void t;
  }, 120_000);

  it('retention deletes only whole finished jobs older than retentionDays', async () => {
    const { t, operator, socket } = await setup({});
    socket.close();
    const kept = await start(operator, 'hello', { NAME: 'recent' });
    await expect.poll(async () => (await getJob(operator, kept)).status).toBe('success');
    const db = t.db.db;
    const old = new Date(Date.now() - 40 * 86_400_000);
    const mk = async (status: Job['status'], finished: Date | null) =>
      (
        await db
          .insertInto('jobs')
          .values({
            type: 'stream',
            status,
            command: 'make x',
            argv: '[]',
            args: '{}',
            finished_at: finished,
            created_at: old,
            last_seq: 1,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
    const oldDone = await mk('success', old);
    const oldFailed = await mk('failed', old);
    const oldRunning = await mk('running', null);
    for (const id of [oldDone, oldFailed, oldRunning]) {
      await db
        .insertInto('job_events')
        .values({ job_id: id, seq: 1, ts: old, stream: 'stdout', chunk: 'x' })
        .execute();
    }
    const retention = new Retention({
      jobs: new JobsRepository(db),
      log: testLog,
      retentionDays: 30,
      batchSize: 1,
    });
    expect(await retention.sweep()).toBe(2);
    const left = (await db.selectFrom('jobs').select('id').execute()).map((r) => r.id).sort();
    expect(left).toEqual([kept, oldRunning].sort());
    const events = await db
      .selectFrom('job_events')
      .select('job_id')
      .where('job_id', 'in', [oldDone, oldFailed])
      .execute();
    expect(events).toEqual([]);
    expect(
      await new Retention({ jobs: new JobsRepository(db), log: testLog, retentionDays: 0 }).sweep(),
    ).toBe(0);
  });
});
