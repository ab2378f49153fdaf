// JobService paths the other job tests do not reach: shutdown, recovery after a crash, refusals for
// jobs this server does not run, mkcli aliases, and the database going away while a job runs.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EventPage, Job, JobEvent } from '@vmo/protocol';
import { JobEventsRepository } from '../../src/db/job-events.repository.js';
import { JobsRepository, type NewJob } from '../../src/db/jobs.repository.js';
import { startTestApp, type HttpClient, type TestApp, type TestSocket } from '../fixtures/app.js';
import {
  type Followed,
  ENGINE_PROJECT,
  expectContiguous,
  follow,
  storedEvents,
  textOf,
  alive,
} from '../fixtures/jobs.js';
import { createTestDatabase, testLog } from '../fixtures/postgres.js';
import { freePort } from '../fixtures/sshd.js';
import { startTcpProxy } from '../fixtures/tcp-proxy.js';

/** A project whose `wait` target prints a line, then waits until the file GO exists. */
async function waitProject(): Promise<{ dir: string; go: () => Promise<void>; goFile: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vmo-wait-'));
  await writeFile(
    path.join(dir, 'Makefile'),
    'wait: ## Wait for GO\n\t@echo waiting; while [ ! -e "$(GO)" ]; do sleep 0.05; done; echo went\n',
  );
  const goFile = path.join(dir, `go-${Math.random().toString(36).slice(2)}`);
  return { dir, goFile, go: () => writeFile(goFile, '') };
}

async function startJob(
  client: HttpClient,
  alias: string,
  target: string,
  args: Record<string, string> = {},
): Promise<string> {
  const res = await client.post('/api/jobs/stream', { alias, target, args });
  if (res.status !== 201) throw new Error(`start ${target}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { jobId: string }).jobId;
}

const getJob = async (client: HttpClient, id: string) =>
  (await (await client.get(`/api/jobs/${id}`)).json()) as Job & { children?: Job[] };

/** What is stored so far (one page), for a job that may still run. */
async function eventsSoFar(client: HttpClient, id: string): Promise<JobEvent[]> {
  const res = await client.get(`/api/jobs/${id}/events?after=0&limit=1000`);
  return ((await res.json()) as EventPage).events;
}

const pidIn = (events: JobEvent[]) =>
  Number(/started: .* \(pid (\d+)\)/.exec(textOf(events, 'system'))?.[1]);

function jobRow(over: Partial<NewJob>): NewJob {
  return {
    type: 'stream',
    status: 'running',
    project: 'engine',
    host: null,
    target: 'hello',
    args: {},
    preset: null,
    command: 'make hello',
    argv: ['make', 'hello'],
    requested_by: null,
    instance_id: 'default',
    ...over,
  };
}

/** A connection straight to the database (never through a proxy) that holds job rows locked. */
async function rowLocks(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('begin');
  return {
    query: (text: string, values: unknown[]) => client.query(text, values),
    /** Holds the row: the service's writes to it wait until release(). */
    lock: (id: string) => client.query('select id from jobs where id = $1 for update', [id]),
    /** Statements of this database waiting for a lock. */
    waiting: async () => {
      // pg_stat_activity is read once per transaction unless the snapshot is cleared.
      await client.query('select pg_stat_clear_snapshot()');
      return Number(
        (
          await client.query<{ n: string }>(
            `select count(*) as n from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'`,
          )
        ).rows[0]!.n,
      );
    },
    /** Holds all of job_events: no output (nor system line) is stored until release(). */
    lockEvents: () => client.query('lock table job_events in exclusive mode'),
    /** Statements waiting for a lock that write job events. */
    waitingEventWrites: async () => {
      await client.query('select pg_stat_clear_snapshot()');
      return Number(
        (
          await client.query<{ n: string }>(
            `select count(*) as n from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'
               and query like '%insert into job_events%'`,
          )
        ).rows[0]!.n,
      );
    },
    status: async (id: string) =>
      (await client.query<{ status: string }>('select status from jobs where id = $1', [id]))
        .rows[0]!.status,
    async release() {
      await client.query('commit');
      await client.end();
    },
  };
}

/** An ssh config whose hosts nobody listens for: a job there fails at once, no sshd needed. */
async function unreachableHosts(dir: string, hosts: string[]): Promise<string> {
  const file = path.join(dir, 'ssh_config');
  const entries = await Promise.all(
    hosts.map(async (h) => `Host ${h}\n  HostName 127.0.0.1\n  Port ${await freePort()}\n`),
  );
  await writeFile(file, entries.join(''));
  return file;
}

const chunk = (seq: number, stream: JobEvent['stream'], text: string): JobEvent => ({
  seq,
  stream,
  chunk: text,
  ts: Date.now(),
});

describe('JobService.shutdown', () => {
  let t: TestApp;
  let operator: HttpClient;
  let socket: TestSocket;

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
        jobs: { maxConcurrent: 1, graceSeconds: 1 },
      },
    });
    operator = await t.loginAs('operator');
    socket = await operator.socket();
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  it('turns running and queued jobs interrupted, each with a system event saying why', async () => {
    const running = await startJob(operator, 'engine', 'slow');
    const queued = await startJob(operator, 'engine', 'hello', { NAME: 'never' });
    await expect
      .poll(async () => textOf(await eventsSoFar(operator, running), 'stdout'), { timeout: 10_000 })
      .toContain('tick 1');
    const pid = pidIn(await eventsSoFar(operator, running));
    expect(alive(pid)).toBe(true);
    expect((await getJob(operator, queued)).status).toBe('queued');
    expect(t.services.jobs.runningCount).toBe(1);
    const followed = Promise.all([follow(socket, running), follow(socket, queued)]);

    await t.services.jobs.shutdown('maintenance window');

    const [r, q] = await followed;
    expect(r.done).toMatchObject({ jobId: running, status: 'interrupted' });
    expectContiguous(r.events);
    expect(textOf(r.events, 'stdout')).toContain('tick 1\n');
    expect(textOf(r.events, 'system')).toMatch(
      /\ninterrupted: maintenance window\n(killed by SIG\w+|exited with code \d+) after \d+\.\d s\n$/,
    );
    expect(q.done).toMatchObject({ jobId: queued, status: 'interrupted' });
    expect(q.events).toEqual([
      expect.objectContaining({
        seq: 1,
        stream: 'system',
        chunk: 'interrupted before it started: maintenance window\n',
      }),
    ]);
    expect(alive(pid)).toBe(false);
    expect(t.services.jobs.runningCount).toBe(0);

    const [rj, qj] = [await getJob(operator, running), await getJob(operator, queued)];
    expect(rj).toMatchObject({ status: 'interrupted', lastSeq: r.events.at(-1)!.seq });
    expect(rj.finishedAt).not.toBeNull();
    expect(qj).toMatchObject({ status: 'interrupted', startedAt: null, lastSeq: 1 });
    expect(qj.finishedAt).not.toBeNull();
    expect(await storedEvents(operator, running)).toEqual(r.events);
  });
});

describe('JobService with rows it did not start', () => {
  let t: TestApp;
  let operator: HttpClient;
  let socket: TestSocket;
  let jobs: JobsRepository;
  let events: JobEventsRepository;

  beforeAll(async () => {
    t = await startTestApp({ config: { projects: [{ alias: 'engine', dir: ENGINE_PROJECT }] } });
    operator = await t.loginAs('operator');
    socket = await operator.socket();
    jobs = new JobsRepository(t.db.db);
    events = new JobEventsRepository(t.db.db);
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  it('recoverInterrupted marks what this instance left queued or running interrupted, after its last seq', async () => {
    const running = await jobs.create(jobRow({ status: 'running' }));
    await events.append(
      running.id,
      [
        chunk(1, 'system', 'started: make hello\n'),
        chunk(2, 'stdout', 'half'),
        chunk(3, 'stderr', 'way'),
      ],
      7,
    );
    const queued = await jobs.create(jobRow({ status: 'queued' }));
    const legacy = await jobs.create(jobRow({ status: 'running', instance_id: null }));
    await events.append(legacy.id, [chunk(1, 'stdout', 'old\n')], 4);
    const elsewhere = await jobs.create(
      jobRow({ status: 'running', instance_id: 'other-instance' }),
    );
    const finished = await jobs.create(jobRow({ status: 'running' }));
    await events.append(finished.id, [chunk(1, 'stdout', 'ok\n')], 3);
    await jobs.transition(finished.id, ['running'], { status: 'success', finished_at: new Date() });

    const changed: Job[] = [];
    const stop = t.services.bus.onChanged((job) => changed.push(job));
    try {
      expect(await t.services.jobs.recoverInterrupted()).toBe(3);
    } finally {
      stop();
    }

    const line =
      'interrupted: the server stopped while this job was running; its output up to then is kept\n';
    for (const [row, lastSeq] of [
      [running, 4],
      [queued, 1],
      [legacy, 2],
    ] as const) {
      const job = await getJob(operator, row.id);
      expect(job).toMatchObject({ status: 'interrupted', lastSeq });
      expect(job.finishedAt).not.toBeNull();
      const stored = await storedEvents(operator, row.id);
      expectContiguous(stored);
      expect(stored.at(-1)).toMatchObject({ seq: lastSeq, stream: 'system', chunk: line });
    }
    expect(textOf(await storedEvents(operator, running.id), 'stdout')).toBe('half');
    expect(changed.map((j) => [j.id, j.status]).sort()).toEqual(
      [running.id, queued.id, legacy.id].map((id) => [id, 'interrupted']).sort(),
    );

    // Another instance's job and a finished one are left alone.
    expect(await getJob(operator, elsewhere.id)).toMatchObject({ status: 'running', lastSeq: 0 });
    expect(await getJob(operator, finished.id)).toMatchObject({ status: 'success', lastSeq: 1 });
    expect(await events.after(finished.id, 0, 10)).toHaveLength(1);

    // A late joiner of a recovered job gets its replay, then job:done.
    const late = await follow(socket, running.id);
    expect(late.done).toMatchObject({ status: 'interrupted' });
    expect(late.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);

    expect(await t.services.jobs.recoverInterrupted()).toBe(0);
  });

  it('recoverInterrupted leaves alone a job that ended while it was being recovered', async () => {
    const row = await jobs.create(jobRow({ status: 'running' }));
    const locks = await rowLocks(t.database.url);
    const changed: string[] = [];
    const stop = t.services.bus.onChanged((job) => changed.push(job.id));
    let recovered: Promise<number> | null = null;
    try {
      await locks.lock(row.id);
      recovered = t.services.jobs.recoverInterrupted();
      // Its system line waits on the row; meanwhile the job ends (say, another process ended it).
      await expect.poll(locks.waiting, { timeout: 10_000 }).toBe(1);
      await locks.query(`update jobs set status = 'success', finished_at = now() where id = $1`, [
        row.id,
      ]);
    } finally {
      await locks.release();
      stop();
    }
    expect(await recovered).toBe(1);
    expect(await getJob(operator, row.id)).toMatchObject({ status: 'success' });
    expect(changed).not.toContain(row.id);
  });

  it.each([
    ['a group job', jobRow({ type: 'group', target: null, status: 'success' }), 'group'],
    ['a terminal job', jobRow({ type: 'terminal', status: 'success' }), 'terminal'],
    ['a stream job without a target', jobRow({ target: null, status: 'failed' }), 'stream'],
    ['a stream job without a project', jobRow({ project: null, status: 'failed' }), 'stream'],
    [
      'an ssh job without a host',
      jobRow({ type: 'ssh', project: null, target: null, status: 'success' }),
      'ssh',
    ],
  ])('refuses to re-run %s with 400 VALIDATION', async (_what, row, type) => {
    const { id } = await jobs.create(row);
    const count = async () =>
      (
        await t.db.db
          .selectFrom('jobs')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n;
    const before = await count();
    const res = await operator.post(`/api/jobs/${id}/rerun`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: 'VALIDATION', message: `a ${type} job cannot be re-run from here yet` },
    });
    expect(await count()).toBe(before);
  });

  it.each([
    [
      'an ad-hoc command, while ad-hoc commands are turned off',
      jobRow({ type: 'ssh', project: null, target: null, host: 'web1', command: 'ssh web1 -- id' }),
      403,
      'FORBIDDEN',
      'ad-hoc commands are turned off (security.allowAdHoc)',
    ],
    [
      'a remote target on a host the project is no longer set up on',
      jobRow({ type: 'ssh', host: 'web1', command: 'ssh web1 -- make hello' }),
      404,
      'UNKNOWN_HOST',
      'project "engine" is not set up on host "web1" (projects[].remote)',
    ],
    [
      'an ssh job whose command is not `ssh <host> -- …`',
      jobRow({ type: 'ssh', project: null, target: null, host: 'web1', command: 'docker ps' }),
      400,
      'VALIDATION',
      'a ssh job cannot be re-run from here yet',
    ],
  ])('checks a re-run of %s like a new request', async (_what, row, status, code, message) => {
    const { id } = await jobs.create(row);
    const res = await operator.post(`/api/jobs/${id}/rerun`);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message } });
  });

  it.each(['running', 'queued'] as const)(
    'answers cancel of a job %s in the database but not on this server with 409 JOB_FINISHED',
    async (status) => {
      const { id } = await jobs.create(jobRow({ status, instance_id: 'other-instance' }));
      const res = await operator.post('/api/jobs/cancel', { jobId: id });
      expect(res.status).toBe(409);
      expect(await res.json()).toEqual({
        error: { code: 'JOB_FINISHED', message: `job ${id} is not running on this server` },
      });
      expect(await socket.emitWithAck('cancel-job', { jobId: id })).toMatchObject({
        ok: false,
        error: { code: 'JOB_FINISHED' },
      });
      expect((await getJob(operator, id)).status).toBe(status);
    },
  );

  it('answers cancel of a job that ended on another server with 409 JOB_FINISHED', async () => {
    const { id } = await jobs.create(jobRow({ status: 'running', instance_id: 'other-instance' }));
    await jobs.transition(id, ['running'], { status: 'interrupted', finished_at: new Date() });
    const res = await operator.post('/api/jobs/cancel', { jobId: id.toUpperCase() });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      error: { code: 'JOB_FINISHED', message: `job ${id} has already ended (interrupted)` },
    });
  });

  it('downloads a log whose empty events do not break its lines', async () => {
    const row = await jobs.create(jobRow({ status: 'running' }));
    await events.append(
      row.id,
      [
        chunk(1, 'system', 'started: make hello\n'),
        chunk(2, 'stdout', 'line\n'),
        chunk(3, 'stderr', ''),
        chunk(4, 'system', 'exited with code 0\n'),
      ],
      5,
    );
    await jobs.transition(row.id, ['running'], { status: 'success', finished_at: new Date() });
    const res = await operator.get(`/api/jobs/${row.id}/log`);
    expect(await res.text()).toBe('[vmo] started: make hello\nline\n[vmo] exited with code 0\n');
  });

  it('shows a group job with its children, oldest first', async () => {
    const group = await jobs.create(
      jobRow({ type: 'group', target: null, command: 'fanout hello', status: 'running' }),
    );
    const first = await jobs.create(jobRow({ parent_id: group.id, status: 'success' }));
    const second = await jobs.create(jobRow({ parent_id: group.id, status: 'failed' }));
    const res = await getJob(operator, group.id);
    expect(res).toMatchObject({ id: group.id, type: 'group', parentId: null });
    expect(res.children?.map((c) => [c.id, c.parentId, c.status])).toEqual([
      [first.id, group.id, 'success'],
      [second.id, group.id, 'failed'],
    ]);
    expect((await getJob(operator, first.id)).children).toBeUndefined();
  });
});

describe('JobService with mkcli projects', () => {
  let t: TestApp;
  let operator: HttpClient;
  let socket: TestSocket;

  beforeAll(async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'vmo-mkcli-'));
    const bin = path.join(root, 'bin');
    await mkdir(bin);
    // The mkcli convention: an executable named like the alias, on PATH, taking `<target> VAR=value…`.
    await writeFile(
      path.join(bin, 'vmo-echo-alias'),
      [
        '#!/bin/sh',
        'if [ "$1" = --list-targets ]; then echo hello; echo build; exit 0; fi',
        'echo "alias got: $*"',
        'echo "in: $(pwd)"',
        '',
      ].join('\n'),
    );
    await chmod(path.join(bin, 'vmo-echo-alias'), 0o755);
    const registry = path.join(root, 'registry');
    await writeFile(
      registry,
      [`vmo-echo-alias=${ENGINE_PROJECT}`, `vmo-plain-alias=${ENGINE_PROJECT}`].join('\n'),
    );
    t = await startTestApp({
      config: { mkcli: { registry }, projects: [{ alias: 'engine', dir: ENGINE_PROJECT }] },
      // Jobs see only the alias directory on PATH: no make there.
      env: { ...process.env, PATH: bin },
    });
    operator = await t.loginAs('operator');
    socket = await operator.socket();
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  it('runs an alias found on PATH as `<alias> <target> NAME=value`, in the project dir', async () => {
    const jobId = await startJob(operator, 'vmo-echo-alias', 'hello', { NAME: 'x', TAG: 'v1' });
    const { done, events } = await follow(socket, jobId);
    expect(done).toMatchObject({ status: 'success', exitCode: 0 });
    expect(textOf(events, 'stdout')).toBe(
      `alias got: hello NAME=x TAG=v1\nin: ${ENGINE_PROJECT}\n`,
    );
    // What users see is still the catalog's command, never a path.
    expect((await getJob(operator, jobId)).command).toBe('make hello NAME=x TAG=v1');
    expect(textOf(events, 'system')).toMatch(/^started: make hello NAME=x TAG=v1 \(pid \d+\)\n/);
  });

  it('ends a job whose program cannot be started failed, and says why', async () => {
    const jobId = await startJob(operator, 'engine', 'hello', { NAME: 'x' });
    const { done, events } = await follow(socket, jobId);
    expect(done).toMatchObject({ status: 'failed', exitCode: null, signal: null });
    expect(events.every((e) => e.stream === 'system')).toBe(true);
    expect(textOf(events, 'system')).toBe(
      'started: make hello NAME=x\ncould not start: spawn make ENOENT\n',
    );
  });

  it('runs make for an mkcli project whose alias is not on PATH', async () => {
    const jobId = await startJob(operator, 'vmo-plain-alias', 'hello');
    const { done, events } = await follow(socket, jobId);
    // make itself is not on the jobs' PATH here, which shows that make is what it ran.
    expect(done.status).toBe('failed');
    expect(textOf(events, 'system')).toContain('could not start: spawn make ENOENT');
  });
});

describe('JobService when a queued job is canceled just as it starts', () => {
  let t: TestApp;
  let operator: HttpClient;
  let project: Awaited<ReturnType<typeof waitProject>>;

  beforeAll(async () => {
    project = await waitProject();
    t = await startTestApp({
      config: {
        projects: [
          { alias: 'engine', dir: ENGINE_PROJECT },
          { alias: 'waiter', dir: project.dir },
        ],
        jobs: { maxConcurrent: 1, graceSeconds: 0 },
      },
    });
    operator = await t.loginAs('operator');
  });
  afterAll(async () => {
    await project?.go();
    await t?.close();
  });

  // Regression (bug found by this test): cancel() took "no handle yet" for "still queued", so a job
  // between the queue and its spawn was spliced out at index -1 (the LAST queued job, which then
  // never ran) and ran anyway. A row lock holds that window open here.
  it('cancels it, and the next queued job still runs', async () => {
    const first = await startJob(operator, 'waiter', 'wait', { GO: project.goFile });
    await expect.poll(async () => (await getJob(operator, first)).status).toBe('running');
    const starting = await startJob(operator, 'engine', 'hello', { NAME: 'starting' });
    const next = await startJob(operator, 'engine', 'hello', { NAME: 'next' });

    const locks = await rowLocks(t.database.url);
    let cancel: Response | null = null;
    try {
      await locks.lock(starting);
      await project.go(); // the first job ends; `starting` leaves the queue and blocks on the lock
      await expect.poll(locks.waiting, { timeout: 10_000 }).toBe(1);
      // Taken off the queue, not yet spawned: the cancel is noted and answered at once.
      cancel = await operator.post('/api/jobs/cancel', { jobId: starting });
    } finally {
      await locks.release();
    }
    expect(cancel.status).toBe(202);
    await expect.poll(async () => (await getJob(operator, next)).status).toBe('success');
    await expect.poll(async () => (await getJob(operator, starting)).status).toBe('canceled');
    const events = await storedEvents(operator, starting);
    expect(textOf(events, 'stdout')).toBe('');
    expect(textOf(events, 'system')).toMatch(/canceled by operator-\w+ before it started/);
  });

  // Regression: a cancel after the process exited, while its end was being stored, was taken
  // and the job recorded `canceled` beside "exited with code 0".
  it('answers 409 to a cancel that comes after the process exited, and keeps its real end', async () => {
    const goFile = `${project.goFile}-exit`; // its own: the other tests' file exists already
    const job = await startJob(operator, 'waiter', 'wait', { GO: goFile });
    await expect.poll(async () => (await getJob(operator, job)).status).toBe('running');
    const locks = await rowLocks(t.database.url);
    let cancel: Response | null = null;
    try {
      await locks.lock(job);
      await writeFile(goFile, ''); // it exits; storing its last lines waits on the row
      await expect.poll(locks.waiting, { timeout: 10_000 }).toBeGreaterThan(0);
      cancel = await operator.post('/api/jobs/cancel', { jobId: job });
    } finally {
      await locks.release();
    }
    expect(cancel.status).toBe(409);
    expect(((await cancel.json()) as { error: { code: string } }).error.code).toBe('JOB_FINISHED');
    await expect.poll(async () => (await getJob(operator, job)).status).toBe('success');
    const system = textOf(await storedEvents(operator, job), 'system');
    expect(system).toContain('exited with code 0');
    expect(system).not.toContain('cancel');
  });

  it('acknowledges a second cancel of a job still being stopped, which changes nothing', async () => {
    const socket = await operator.socket();
    const locks = await rowLocks(t.database.url);
    try {
      const jobId = await startJob(operator, 'engine', 'slow');
      await expect
        .poll(async () => textOf(await eventsSoFar(operator, jobId), 'stdout'), { timeout: 10_000 })
        .toContain('tick 1');
      const followed = follow(socket, jobId);
      // Its end cannot be written while the row is held: the job stays on this server meanwhile.
      await locks.lock(jobId);
      for (let i = 0; i < 2; i++) {
        const res = await operator.post('/api/jobs/cancel', { jobId });
        expect(res.status).toBe(202);
        expect(await res.json()).toEqual({ jobId, status: 'running' });
      }
      await locks.release();
      const { done, events } = await followed;
      expect(done.status).toBe('canceled');
      expect(textOf(events, 'system').match(/canceled by /g)).toHaveLength(1);
    } finally {
      await locks.release().catch(() => {});
      socket.close();
    }
  });

  it('does not start a job that is no longer queued when its turn comes', async () => {
    const first = await startJob(operator, 'waiter', 'wait', { GO: `${project.goFile}-2` });
    await expect.poll(async () => (await getJob(operator, first)).status).toBe('running');
    const ended = await startJob(operator, 'engine', 'hello', { NAME: 'ended' });
    const next = await startJob(operator, 'engine', 'hello', { NAME: 'next' });
    const locks = await rowLocks(t.database.url);
    try {
      await locks.lock(ended);
      await writeFile(`${project.goFile}-2`, ''); // its turn comes; its start waits on the row
      await expect.poll(locks.waiting, { timeout: 10_000 }).toBe(1);
      // Meanwhile something else ends it (an admin in psql, another instance's clean-up).
      await locks.query(`update jobs set status = 'canceled', finished_at = now() where id = $1`, [
        ended,
      ]);
    } finally {
      await locks.release();
    }
    await expect.poll(async () => (await getJob(operator, next)).status).toBe('success');
    expect((await getJob(operator, ended)).status).toBe('canceled');
    expect(await eventsSoFar(operator, ended)).toEqual([]);
  });

  // Regression (bug found by this test): when a job's final write found its row no longer
  // `running` (an admin, a second server with the same instance id recovering "its" jobs), run()
  // fell back to the row read at start, and job:done announced the status `running`.
  it('announces the stored final status of a job something else ended meanwhile', async () => {
    const socket = await operator.socket();
    try {
      const goFile = `${project.goFile}-3`;
      const jobId = await startJob(operator, 'waiter', 'wait', { GO: goFile });
      await expect.poll(async () => (await getJob(operator, jobId)).status).toBe('running');
      const followed = follow(socket, jobId);
      await t.db.db
        .updateTable('jobs')
        .set({ status: 'interrupted', finished_at: new Date() })
        .where('id', '=', jobId)
        .execute();
      await writeFile(goFile, '');
      const { done } = await followed;
      expect((await getJob(operator, jobId)).status).toBe('interrupted');
      expect(done.status).toBe('interrupted');
    } finally {
      socket.close();
    }
  });

  // Regression (bug found by this test): endQueued() had the same fallback as run(): when its
  // queued→canceled write found the row ended by something else, job:done still said `canceled`.
  it('announces the stored status of a queued job something else ended while it was canceled', async () => {
    const socket = await operator.socket();
    const goFile = `${project.goFile}-4`;
    const locks = await rowLocks(t.database.url);
    try {
      const first = await startJob(operator, 'waiter', 'wait', { GO: goFile });
      await expect.poll(async () => (await getJob(operator, first)).status).toBe('running');
      const queued = await startJob(operator, 'engine', 'hello', { NAME: 'queued' });
      const followed = follow(socket, queued);
      await locks.lock(queued);
      const cancel = operator.post('/api/jobs/cancel', { jobId: queued });
      // The cancel's line waits on the row; meanwhile something else ends the job.
      await expect.poll(locks.waiting, { timeout: 10_000 }).toBe(1);
      await locks.query(
        `update jobs set status = 'interrupted', finished_at = now() where id = $1`,
        [queued],
      );
      await locks.release();
      expect((await cancel).status).toBe(202);
      const { done } = await followed;
      expect((await getJob(operator, queued)).status).toBe('interrupted');
      expect(done.status).toBe('interrupted');
    } finally {
      await locks.release().catch(() => {});
      await writeFile(goFile, '');
      socket.close();
    }
  });
});

describe('JobService.shutdown with a fan-out under way', () => {
  let t: TestApp;
  let operator: HttpClient;
  let socket: TestSocket;
  let project: Awaited<ReturnType<typeof waitProject>>;
  const hosts = ['vmo-gone-a', 'vmo-gone-b'];

  beforeAll(async () => {
    project = await waitProject();
    t = await startTestApp({
      config: {
        projects: [{ alias: 'waiter', dir: project.dir }],
        ssh: { config: await unreachableHosts(project.dir, hosts) },
        presets: [{ name: 'hold', command: 'sleep {secs}', params: { secs: '^[0-9]{1,7}$' } }],
        jobs: { maxConcurrent: 1, graceSeconds: 0 },
      },
    });
    operator = await t.loginAs('operator');
    socket = await operator.socket();
  });
  afterAll(async () => {
    socket?.close();
    await project?.go();
    await t?.close();
  });

  it('ends the group interrupted, its queued children too', async () => {
    const first = await startJob(operator, 'waiter', 'wait', { GO: project.goFile });
    await expect.poll(async () => (await getJob(operator, first)).status).toBe('running');
    const res = await operator.post('/api/jobs/fanout', {
      hostAliases: hosts,
      preset: 'hold',
      params: { secs: '1' },
    });
    expect(res.status).toBe(201);
    const { jobId: groupId } = (await res.json()) as { jobId: string };
    const followed = follow(socket, groupId);

    await t.services.jobs.shutdown('going down');

    const group = await followed;
    expect(group.done.status).toBe('interrupted');
    expect(textOf(group.events, 'system')).toContain('interrupted: 0 of 2 hosts succeeded');
    const job = await getJob(operator, groupId);
    expect(job.status).toBe('interrupted');
    expect(job.children!.map((c) => [c.host, c.status, c.startedAt])).toEqual(
      hosts.map((h) => [h, 'interrupted', null]),
    );
    expect((await getJob(operator, first)).status).toBe('interrupted');
  });
});

describe('JobService when a fan-out is canceled twice', () => {
  let t: TestApp;
  let operator: HttpClient;
  let socket: TestSocket;
  let dir: string;
  const hosts = ['vmo-gone-x', 'vmo-gone-y'];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vmo-fanout-'));
    t = await startTestApp({
      config: {
        ssh: { config: await unreachableHosts(dir, hosts) },
        presets: [{ name: 'hold', command: 'sleep {secs}', params: { secs: '^[0-9]{1,7}$' } }],
        jobs: { maxConcurrent: 4, graceSeconds: 0 },
        fanout: { maxParallel: 2 },
      },
    });
    operator = await t.loginAs('operator');
    socket = await operator.socket();
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  it('acknowledges the second cancel, which changes nothing', async () => {
    const table = await rowLocks(t.database.url);
    let groupId = '';
    try {
      // No output is stored for now: both children start, and stay on this server until released.
      await table.lockEvents();
      const res = await operator.post('/api/jobs/fanout', {
        hostAliases: hosts,
        preset: 'hold',
        params: { secs: '1' },
      });
      expect(res.status).toBe(201);
      groupId = ((await res.json()) as { jobId: string }).jobId;
      // Both children have started (and ended: nobody listens there), but cannot record it yet.
      await expect
        .poll(async () => (await getJob(operator, groupId)).children!.map((c) => c.status), {
          timeout: 10_000,
        })
        .toEqual(['running', 'running']);
      await expect.poll(table.waitingEventWrites, { timeout: 10_000 }).toBeGreaterThan(0);
      for (let i = 0; i < 2; i++) {
        const cancel = await operator.post('/api/jobs/cancel', { jobId: groupId });
        expect(cancel.status).toBe(202);
        expect(await cancel.json()).toEqual({ jobId: groupId, status: 'running' });
      }
    } finally {
      await table.release();
    }
    const group = await follow(socket, groupId);
    expect(group.done.status).toBe('canceled');
    expect(textOf(group.events, 'system').match(/canceled by /g)).toHaveLength(1);
    const children = (await getJob(operator, groupId)).children!;
    expect(children.map((c) => c.status)).toEqual(['canceled', 'canceled']);
  });
});

describe('JobService when a fan-out is canceled just as a child starts', () => {
  let t: TestApp;
  let operator: HttpClient;
  let project: Awaited<ReturnType<typeof waitProject>>;
  const hosts = ['vmo-gone-1', 'vmo-gone-2', 'vmo-gone-3'];

  beforeAll(async () => {
    project = await waitProject();
    t = await startTestApp({
      config: {
        projects: [{ alias: 'waiter', dir: project.dir }],
        ssh: { config: await unreachableHosts(project.dir, hosts) },
        presets: [{ name: 'hold', command: 'sleep {secs}', params: { secs: '^[0-9]{1,7}$' } }],
        jobs: { maxConcurrent: 1, graceSeconds: 0 },
        fanout: { maxParallel: 1 },
      },
    });
    operator = await t.loginAs('operator');
  });
  afterAll(async () => {
    await project?.go();
    await t?.close();
  });

  // Regression (bug found by this test): cancelGroup() took a child between the queue and its
  // spawn for queued: splice(-1) dropped the LAST queued child from the queue, and the child ran
  // anyway, racing its own cancel line for the same seq and staying `running` for good. Two locks
  // hold that window open: one on the child's row (its start waits), one on job_events (the
  // cancel's write waits until the start went through).
  it('does not start a child its group was canceled with', async () => {
    const first = await startJob(operator, 'waiter', 'wait', { GO: project.goFile });
    await expect.poll(async () => (await getJob(operator, first)).status).toBe('running');
    const res = await operator.post('/api/jobs/fanout', {
      hostAliases: hosts,
      preset: 'hold',
      params: { secs: '1' },
    });
    expect(res.status).toBe(201);
    const { jobId: groupId } = (await res.json()) as { jobId: string };
    const [, second] = (await getJob(operator, groupId)).children!.map((c) => c.id);

    const row = await rowLocks(t.database.url);
    let cancel: Promise<Response> | null = null;
    try {
      await row.lock(second!);
      // The slot frees up: child 1 runs and fails at once, child 2 leaves the queue and waits.
      await project.go();
      await expect.poll(row.waiting, { timeout: 10_000 }).toBe(1);
      // Child 2 is between the queue and its spawn: the cancel notes it and answers at once.
      cancel = operator.post('/api/jobs/cancel', { jobId: groupId });
      expect((await cancel).status).toBe(202);
    } finally {
      await row.release();
    }
    expect((await cancel).status).toBe(202);
    await expect
      .poll(async () => (await getJob(operator, second!)).status, { timeout: 5_000 })
      .not.toBe('running');
    const events = await storedEvents(operator, second!);
    expect(textOf(events, 'system')).not.toContain('started:');
    expect((await getJob(operator, second!)).status).toBe('canceled');
  });
});

describe('JobService.shutdown when a queued job’s end cannot be recorded', () => {
  let t: TestApp;
  let operator: HttpClient;

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
        jobs: { maxConcurrent: 1, graceSeconds: 0 },
      },
    });
    operator = await t.loginAs('operator');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('still stops the running jobs, and leaves that one for the next start', async () => {
    const running = await startJob(operator, 'engine', 'slow');
    const queued = await startJob(operator, 'engine', 'hello', { NAME: 'never' });
    await expect.poll(async () => (await getJob(operator, running)).status).toBe('running');
    // The database refuses to mark that one job interrupted (a real error, not an outage).
    await sql`
      create function vmo_test_refuse() returns trigger language plpgsql as $$
      begin
        if new.status = 'interrupted' and new.id = ${sql.lit(queued)}::uuid then
          raise exception 'refused by the test';
        end if;
        return new;
      end $$`.execute(t.db.db);
    await sql`create trigger vmo_test_refuse before update on jobs
      for each row execute function vmo_test_refuse()`.execute(t.db.db);
    const warnings = vi.spyOn(testLog, 'warn');
    try {
      await t.services.jobs.shutdown('going down');
      expect(warnings).toHaveBeenCalledWith(
        { jobId: queued, err: expect.stringContaining('refused by the test') as string },
        'could not record the interrupted job',
      );
    } finally {
      warnings.mockRestore();
      await sql`drop trigger vmo_test_refuse on jobs`.execute(t.db.db);
    }
    expect((await getJob(operator, running)).status).toBe('interrupted');
    // Its system line is stored; its status could not be: the next start finishes the job.
    expect((await getJob(operator, queued)).status).toBe('queued');
    expect(textOf(await eventsSoFar(operator, queued), 'system')).toBe(
      'interrupted before it started: going down\n',
    );
    expect(await t.services.jobs.recoverInterrupted()).toBe(1);
    const job = await getJob(operator, queued);
    expect(job).toMatchObject({ status: 'interrupted', lastSeq: 2 });
  });
});

describe('JobService when the connection drops as a job starts', () => {
  let t: TestApp;
  let operator: HttpClient;
  let project: Awaited<ReturnType<typeof waitProject>>;

  beforeAll(async () => {
    project = await waitProject();
    t = await startTestApp({
      viaProxy: true,
      config: {
        projects: [
          { alias: 'engine', dir: ENGINE_PROJECT },
          { alias: 'waiter', dir: project.dir },
        ],
        jobs: { maxConcurrent: 1, graceSeconds: 0 },
      },
    });
    operator = await t.loginAs('operator');
  });
  afterAll(async () => {
    t?.proxy?.restore();
    await project?.go();
    await t?.close();
  });

  // Regression (bug found by this test): durably() retried a start whose reply was lost though the
  // server had applied it; the retry found the job no longer `queued` and run() gave it up, leaving
  // it `running` for good with no process. A row lock holds the UPDATE in the server while the
  // connection is cut; releasing it lets the server apply it.
  it('runs the job when its start was written but the reply was lost', async () => {
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
  let t: TestApp;
  let operator: HttpClient;
  let socket: TestSocket;

  beforeAll(async () => {
    t = await startTestApp({
      viaProxy: true,
      config: {
        projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
        jobs: { graceSeconds: 1 },
        db: { outageSeconds: 1 },
      },
    });
    operator = await t.loginAs('operator');
    socket = await operator.socket();
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  /** Runs `slow`, cuts the database until the job's process is stopped for it, then restores it. */
  async function jobThroughOutage(): Promise<{ jobId: string; followed: Promise<Followed> }> {
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
  let t: TestApp;
  let operator: HttpClient;
  let project: Awaited<ReturnType<typeof waitProject>>;

  beforeAll(async () => {
    project = await waitProject();
    t = await startTestApp({
      viaProxy: true,
      config: {
        projects: [
          { alias: 'engine', dir: ENGINE_PROJECT },
          { alias: 'waiter', dir: project.dir },
        ],
        jobs: { maxConcurrent: 1, graceSeconds: 0 },
        db: { outageSeconds: 1 },
      },
    });
    operator = await t.loginAs('operator');
  });
  afterAll(async () => {
    t?.proxy?.restore();
    await project?.go();
    await t?.close();
  });

  // Regression (bug found by this test): shutdown() awaited each queued job's end first, whose write
  // retried for ever during an outage: it never returned, and running jobs were never stopped.
  it('returns within its grace even with a queued job', async () => {
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
