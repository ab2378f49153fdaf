// JobService paths the other job tests do not reach: rows it did not start (recovery after a crash,
// refusals for jobs this server does not run, re-runs checked like new requests) and mkcli aliases.
// Shutdown, start and cancel races, and the database going away have files of their own.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobEvent, JobRecord } from '@vmo/protocol';
import { JobEventsRepository } from '../../src/db/job-events.repository.js';
import { JobsRepository, type NewJob } from '../../src/db/jobs.repository.js';
import { markOf } from '../../src/process/leftovers.js';
import { groupAlive, killGroup } from '../../src/process/groups.js';
import { useJobApp } from '../fixtures/job-app.js';
import {
  ENGINE_PROJECT,
  expectContiguous,
  follow,
  getJob,
  startJob,
  storedEvents,
  textOf,
} from '../fixtures/jobs.js';
import { rowLocks } from '../fixtures/row-locks.js';

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

const chunk = (seq: number, stream: JobEvent['stream'], text: string): JobEvent => ({
  seq,
  stream,
  chunk: text,
  ts: Date.now(),
});

describe('JobService with rows it did not start', () => {
  const app = useJobApp({
    socket: true,
    config: { projects: [{ alias: 'engine', dir: ENGINE_PROJECT }] },
  });
  let jobs: JobsRepository;
  let events: JobEventsRepository;

  beforeAll(() => {
    jobs = new JobsRepository(app.t.db.db);
    events = new JobEventsRepository(app.t.db.db);
  });

  it('recoverInterrupted marks what this instance left queued or running interrupted, after its last seq', async () => {
    const { t, operator, socket } = app;
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

    const changed: JobRecord[] = [];
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

  it('recoverInterrupted ends what a job left running, checked by its recorded process mark', async () => {
    const { t, operator } = app;
    // What a crashed server leaves: a job row whose process group still runs.
    const child = spawn('sh', ['-c', 'sleep 60 & sleep 60; wait'], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    const left = await jobs.create(jobRow({ status: 'running' }));
    await expect.poll(() => markOf(child.pid)).not.toBeNull();
    await jobs.setProcess(left.id, markOf(child.pid)!);
    // One whose pid now names another process: never signalled.
    const reused = await jobs.create(jobRow({ status: 'running' }));
    await jobs.setProcess(reused.id, { ...markOf(process.pid)!, start: 1 });
    try {
      expect(await t.services.jobs.recoverInterrupted()).toBe(2);
      expect(groupAlive(child.pid!)).toBe(false);
      expect(textOf(await storedEvents(operator, left.id), 'system')).toMatch(
        /interrupted: the server stopped[^\n]*\n3 of its processes \(sh, sleep\) were still running; ended them with SIGTERM\n$/,
      );
      expect(textOf(await storedEvents(operator, reused.id), 'system')).toContain(
        `pid ${process.pid} is now another process`,
      );
    } finally {
      killGroup(child.pid!, 'SIGKILL');
    }
  });

  it('recoverInterrupted leaves alone a job that ended while it was being recovered', async () => {
    const { t, operator } = app;
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
    [
      'a group job whose hosts are not known',
      jobRow({ type: 'group', target: null, status: 'success' }),
      400,
      'VALIDATION',
      'the hosts of this fan-out are not known: start it again from its environment or hosts',
    ],
    [
      'a terminal job of a target',
      jobRow({ type: 'terminal', status: 'success' }),
      403,
      'FORBIDDEN',
      'open a terminal again from its target',
    ],
    [
      'a stream job without a target',
      jobRow({ target: null, status: 'failed' }),
      403,
      'FORBIDDEN',
      'there is nothing to run again',
    ],
    [
      'a stream job without a project',
      jobRow({ project: null, status: 'failed' }),
      400,
      'VALIDATION',
      'a stream job cannot be re-run from here',
    ],
    [
      'an ssh job without a host',
      jobRow({ type: 'ssh', project: null, target: null, status: 'success' }),
      403,
      'FORBIDDEN',
      'ad-hoc commands are turned off (security.allowAdHoc)',
    ],
  ])('refuses to re-run %s, and stores nothing', async (_what, row, status, code, message) => {
    const { t, operator } = app;
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
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message } });
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
      403,
      'FORBIDDEN',
      'ad-hoc commands are turned off (security.allowAdHoc)',
    ],
  ])('checks a re-run of %s like a new request', async (_what, row, status, code, message) => {
    const { operator } = app;
    const { id } = await jobs.create(row);
    const res = await operator.post(`/api/jobs/${id}/rerun`);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message } });
  });

  it.each(['running', 'queued'] as const)(
    'answers cancel of a job %s in the database but not on this server with 409 JOB_FINISHED',
    async (status) => {
      const { operator, socket } = app;
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
    const { operator } = app;
    const { id } = await jobs.create(jobRow({ status: 'running', instance_id: 'other-instance' }));
    await jobs.transition(id, ['running'], { status: 'interrupted', finished_at: new Date() });
    const res = await operator.post('/api/jobs/cancel', { jobId: id.toUpperCase() });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      error: { code: 'JOB_FINISHED', message: `job ${id} has already ended (interrupted)` },
    });
  });

  it('downloads a log whose empty events do not break its lines', async () => {
    const { operator } = app;
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
    const { operator } = app;
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
  const app = useJobApp(async () => {
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
    return {
      socket: true,
      config: { mkcli: { registry }, projects: [{ alias: 'engine', dir: ENGINE_PROJECT }] },
      // Jobs see only the alias directory on PATH: no make there.
      env: { ...process.env, PATH: bin },
    };
  });

  it('runs an alias found on PATH as `<alias> <target> NAME=value`, in the project dir', async () => {
    const { operator, socket } = app;
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
    const { operator, socket } = app;
    const jobId = await startJob(operator, 'engine', 'hello', { NAME: 'x' });
    const { done, events } = await follow(socket, jobId);
    expect(done).toMatchObject({ status: 'failed', exitCode: null, signal: null });
    expect(events.every((e) => e.stream === 'system')).toBe(true);
    expect(textOf(events, 'system')).toBe(
      'started: make hello NAME=x\ncould not start: spawn make ENOENT\n',
    );
  });

  it('runs make for an mkcli project whose alias is not on PATH', async () => {
    const { operator, socket } = app;
    const jobId = await startJob(operator, 'vmo-plain-alias', 'hello');
    const { done, events } = await follow(socket, jobId);
    // make itself is not on the jobs' PATH here, which shows that make is what it ran.
    expect(done.status).toBe('failed');
    expect(textOf(events, 'system')).toContain('could not start: spawn make ENOENT');
  });
});
