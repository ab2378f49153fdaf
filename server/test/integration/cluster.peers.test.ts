// One instance in process (cluster.enabled) and its peers played by the test over LISTEN/NOTIFY and
// the shared tables: what it announces, what it does with what others announce, and orphaned jobs.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, JobEvent, User } from '@vmo/protocol';
import { CLUSTER_CHANNEL } from '../../src/cluster/cluster.service.js';
import { InstancesRepository } from '../../src/db/instances.repository.js';
import { JobEventsRepository } from '../../src/db/job-events.repository.js';
import { JobsRepository } from '../../src/db/jobs.repository.js';
import { startTestApp, type HttpClient, type TestApp, type TestSocket } from '../fixtures/app.js';
import { ENGINE_PROJECT, expectContiguous, follow, textOf } from '../fixtures/jobs.js';

interface Notice {
  f: string;
  e?: [string, number][];
  d?: { jobId: string; status: string; lastSeq: number }[];
  k?: { to: string; jobId: string; user: User; source: string | null }[];
}

describe('cluster: one instance and its peers', () => {
  let t: TestApp;
  let operator: HttpClient;
  let socket: TestSocket;
  let peer: pg.Client;
  let jobsRepo: JobsRepository;
  let events: JobEventsRepository;
  let instances: InstancesRepository;
  const heard: Notice[] = [];

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
        jobs: { graceSeconds: 1 },
        cluster: { enabled: true, instanceId: 'a', heartbeatSeconds: 1 },
      },
    });
    operator = await t.loginAs('operator');
    socket = await operator.socket();
    peer = new pg.Client({ connectionString: t.database.url });
    await peer.connect();
    // The test's own malformed notification included.
    peer.on('notification', (n) => {
      if (n.payload?.startsWith('{"')) heard.push(JSON.parse(n.payload) as Notice);
    });
    await peer.query(`LISTEN "${CLUSTER_CHANNEL}"`);
    jobsRepo = new JobsRepository(t.db.db);
    events = new JobEventsRepository(t.db.db);
    instances = new InstancesRepository(t.db.db);
  });
  afterAll(async () => {
    socket?.close();
    await peer?.end();
    await t?.close();
  });

  const notify = (msg: unknown) =>
    peer.query('select pg_notify($1, $2)', [
      CLUSTER_CHANNEL,
      typeof msg === 'string' ? msg : JSON.stringify(msg),
    ]);
  const start = async (target: string, args: Record<string, string> = {}) => {
    const res = await operator.post('/api/jobs/stream', { alias: 'engine', target, args });
    expect(res.status).toBe(201);
    return ((await res.json()) as { jobId: string }).jobId;
  };
  const job = async (id: string) => (await (await operator.get(`/api/jobs/${id}`)).json()) as Job;
  const me = async () =>
    ((await (await operator.get('/api/auth/me')).json()) as { user: User }).user;

  it('registers itself and announces the committed seqs and the end of the jobs it runs', async () => {
    expect((await instances.list()).map((i) => i.id)).toContain('a');
    const jobId = await start('lines', { N: '30' });
    const { done } = await follow(socket, jobId);
    expect(done.status).toBe('success');
    const { lastSeq } = await job(jobId);
    await expect
      .poll(() => heard.flatMap((n) => n.d ?? []).find((d) => d.jobId === jobId))
      .toMatchObject({ jobId, status: 'success', lastSeq });
    expect(heard.every((n) => n.f === 'a')).toBe(true);
    const seqs = heard.flatMap((n) => n.e ?? []).filter(([id]) => id === jobId);
    expect(seqs.length).toBeGreaterThan(0);
    expect(Math.max(...seqs.map(([, s]) => s))).toBe(lastSeq);
    // Only seqs, never output.
    expect(JSON.stringify(heard)).not.toMatch(/line 1\b/);
  });

  it('cancels a job it runs when another instance asks it to, and ignores what is not for it', async () => {
    const jobId = await start('slow');
    await expect
      .poll(async () => (await job(jobId)).lastSeq, { timeout: 10_000 })
      .toBeGreaterThan(1);
    const user = await me();
    const followed = follow(socket, jobId, 0, 20_000);
    await notify('{not json');
    await notify({ f: 'b', k: [{ to: 'c', jobId, user, source: null }] });
    await notify({ f: 'a', k: [{ to: 'a', jobId, user, source: null }] });
    await notify({ f: 'b', k: [{ to: 'a', jobId, user, source: '10.0.0.2' }] });
    const { done, events: evs } = await followed;
    expect(done.status).toBe('canceled');
    expect(textOf(evs, 'system')).toContain(`canceled by ${user.username}`);
    // A cancel for a job that already ended does nothing (it is logged).
    await notify({ f: 'b', k: [{ to: 'a', jobId, user, source: null }] });
    expect((await job(jobId)).status).toBe('canceled');
  });

  it('follows a job another instance runs from the database, and sends its cancel there', async () => {
    await instances.register('b', 'elsewhere', 4242);
    const beat = setInterval(() => void instances.beat('b', 'elsewhere', 4242), 300);
    try {
      const row = await jobsRepo.create({
        type: 'stream',
        status: 'running',
        project: 'engine',
        host: null,
        target: 'slow',
        preset: null,
        command: 'make slow',
        args: {},
        argv: ['make', 'slow'],
        requested_by: null,
        instance_id: 'b',
      });
      const ev = (seq: number): JobEvent => ({
        seq,
        stream: 'stdout',
        chunk: `tick ${seq}\n`,
        ts: Date.now(),
      });
      const append = (from: number, to: number) =>
        events.appendMany([
          {
            jobId: row.id,
            events: Array.from({ length: to - from + 1 }, (_, i) => ev(from + i)),
            addBytes: 7 * (to - from + 1),
          },
        ]);
      const got: JobEvent[] = [];
      socket.on('job:log', ({ jobId, ...e }) => jobId === row.id && got.push(e));
      const followed = follow(socket, row.id, 0, 20_000);

      await append(1, 3);
      await notify({ f: 'b', e: [[row.id, 3]] });
      await expect.poll(() => got.length).toBe(3);

      // Its cancel goes to b (which would stop it); the answer is the status known now.
      heard.length = 0;
      const ack = await socket.emitWithAck('cancel-job', { jobId: row.id });
      expect(ack).toEqual({ ok: true, jobId: row.id, status: 'running' });
      await expect
        .poll(() => heard.flatMap((n) => n.k ?? []))
        .toEqual([
          {
            to: 'b',
            jobId: row.id,
            user: expect.objectContaining({ role: 'operator' }),
            source: expect.any(String),
          },
        ]);
      expect(heard.every((n) => n.f === 'a')).toBe(true);
      // A cancel forwarded here for a job this instance does not run is not sent on again.
      heard.length = 0;
      await notify({ f: 'b', k: [{ to: 'a', jobId: row.id, user: await me(), source: null }] });
      await peer.query('select 1');
      await expect.poll(() => heard.filter((n) => n.f === 'b').length).toBe(1);
      expect(heard.flatMap((n) => (n.f === 'a' ? (n.k ?? []) : []))).toEqual([]);

      // The listening connection drops: what was announced meanwhile is lost, so a follower looks again.
      await append(4, 5);
      const { rows } = await peer.query<{ n: number }>(
        `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
          where datname = current_database() and query = $1`,
        [`LISTEN "${CLUSTER_CHANNEL}"`],
      );
      expect(rows[0]!.n).toBe(1);
      await expect.poll(() => got.length, { timeout: 10_000 }).toBe(5);

      // b records the end and says so; the follower ends with it.
      await append(6, 6);
      await jobsRepo.transition(row.id, ['running'], {
        status: 'canceled',
        finished_at: new Date(),
      });
      await notify({
        f: 'b',
        d: [{ jobId: row.id, status: 'canceled', exitCode: null, signal: 'SIGTERM', lastSeq: 6 }],
      });
      const { done, events: evs } = await followed;
      expect(done).toEqual({
        jobId: row.id,
        status: 'canceled',
        exitCode: null,
        signal: 'SIGTERM',
      });
      expectContiguous(evs);
      expect(evs.map((e) => e.chunk).join('')).toBe(
        Array.from({ length: 6 }, (_, i) => `tick ${i + 1}\n`).join(''),
      );
    } finally {
      clearInterval(beat);
    }
  });

  it('says 409 for a job recorded as its own that it does not run (nothing to send it to)', async () => {
    const row = await jobsRepo.create({
      type: 'stream',
      status: 'queued',
      project: 'engine',
      host: null,
      target: 'slow',
      preset: null,
      command: 'make slow',
      args: {},
      argv: ['make', 'slow'],
      requested_by: null,
      instance_id: 'a',
    });
    const res = await operator.post('/api/jobs/cancel', { jobId: row.id });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      error: { code: 'JOB_FINISHED', message: `job ${row.id} is not running on this server` },
    });
    await jobsRepo.transition(row.id, ['queued'], { status: 'interrupted' });
  });

  it('takes over the unfinished jobs of instances that stopped beating, and forgets those instances', async () => {
    await instances.register('gone', 'elsewhere', 1);
    await t.db.pool.query(
      `update instances set heartbeat_at = now() - interval '1 hour' where id = 'gone'`,
    );
    const orphan = (instance_id: string | null) =>
      jobsRepo.create({
        type: 'stream',
        status: 'running',
        project: 'engine',
        host: null,
        target: 'slow',
        preset: null,
        command: 'make slow',
        args: {},
        argv: ['make', 'slow'],
        requested_by: null,
        instance_id,
      });
    const [ofGone, ofUnknown, ofNobody] = [
      await orphan('gone'),
      await orphan('never-seen'),
      await orphan(null),
    ];
    const followed = follow(socket, ofGone.id, 0, 20_000);
    const { done, events: evs } = await followed;
    expect(done.status).toBe('interrupted');
    expect(textOf(evs, 'system')).toContain(
      'interrupted: the server instance running it (gone) stopped answering (no heartbeat for 3 s); a took it over',
    );
    const nobody = await follow(socket, ofNobody.id, 0, 20_000);
    expect(textOf(nobody.events, 'system')).toContain(
      'interrupted: no server instance was recorded as running it; a took it over',
    );
    for (const j of [ofUnknown, ofNobody])
      await expect
        .poll(async () => (await job(j.id)).status, { timeout: 10_000 })
        .toBe('interrupted');
    expect((await jobsRepo.get(ofGone.id))!.instance_id).toBe('a');
    await expect.poll(async () => (await instances.list()).map((i) => i.id)).not.toContain('gone');
  });
});
