// JobService when a cancel, a start and an end meet: row and table locks hold each race window
// open, so the interleaving under test is the one that happens.
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FINAL_STATUSES } from '@vmo/protocol';
import {
  engineAndWaiter,
  fanOutBehindWaiter,
  HOLD_PRESET,
  unreachableHosts,
  useJobApp,
} from '../fixtures/job-app.js';
import {
  alive,
  eventsSoFar,
  follow,
  getJob,
  pidIn,
  startJob,
  storedEvents,
  textOf,
} from '../fixtures/jobs.js';
import { rowLocks } from '../fixtures/row-locks.js';

describe('JobService when a queued job is canceled just as it starts', () => {
  const app = useJobApp((project) => ({
    config: engineAndWaiter(project),
  }));

  // Regression (bug found by this test): cancel() took "no handle yet" for "still queued", so a job
  // between the queue and its spawn was spliced out at index -1 (the LAST queued job, which then
  // never ran) and ran anyway. A row lock holds that window open here.
  it('cancels it, and the next queued job still runs', async () => {
    const { t, operator, project } = app;
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
    const { t, operator, project } = app;
    const goFile = `${project.goFile}-exit`; // its own: the other tests' file exists already
    const job = await startJob(operator, 'waiter', 'wait', { GO: goFile });
    await expect.poll(async () => (await getJob(operator, job)).status).toBe('running');
    await expect.poll(async () => pidIn(await eventsSoFar(operator, job))).toBeGreaterThan(0);
    const pid = pidIn(await eventsSoFar(operator, job));
    const locks = await rowLocks(t.database.url);
    let cancel: Response | null = null;
    try {
      await locks.lock(job);
      await writeFile(goFile, ''); // it exits; storing its last lines waits on the row
      // Exited for sure (an earlier line's write may be what waits on the row), its end not stored.
      await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);
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
    const { t, operator } = app;
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
    const { t, operator, project } = app;
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
    const { t, operator, project } = app;
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
    const { t, operator, project } = app;
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

describe('JobService when a fan-out is canceled twice', () => {
  const hosts = ['vmo-gone-x', 'vmo-gone-y'];
  const app = useJobApp(async (project) => ({
    socket: true,
    config: {
      ssh: { config: await unreachableHosts(project.dir, hosts) },
      presets: [HOLD_PRESET],
      jobs: { maxConcurrent: 4, graceSeconds: 0 },
      fanout: { maxParallel: 2 },
    },
  }));

  it('acknowledges the second cancel, which changes nothing', async () => {
    const { t, operator, socket } = app;
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
  const hosts = ['vmo-gone-1', 'vmo-gone-2', 'vmo-gone-3'];
  const app = useJobApp(async (project) => ({
    config: {
      projects: [{ alias: 'waiter', dir: project.dir }],
      ssh: { config: await unreachableHosts(project.dir, hosts) },
      presets: [HOLD_PRESET],
      jobs: { maxConcurrent: 1, graceSeconds: 0 },
      fanout: { maxParallel: 1 },
    },
  }));

  // Regression (bug found by this test): cancelGroup() took a child between the queue and its
  // spawn for queued: splice(-1) dropped the LAST queued child from the queue, and the child ran
  // anyway, racing its own cancel line for the same seq and staying `running` for good. Two locks
  // hold that window open: one on the child's row (its start waits), one on job_events (the
  // cancel's write waits until the start went through).
  it('does not start a child its group was canceled with', async () => {
    const { t, operator, project } = app;
    const { groupId } = await fanOutBehindWaiter(operator, project, hosts);
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
    // Ended (a cancel of a child between the queue and its spawn answers before it has ended:
    // `queued` for a moment, which is not `running` either), with its last event stored.
    await expect
      .poll(async () => FINAL_STATUSES.includes((await getJob(operator, second!)).status), {
        timeout: 5_000,
      })
      .toBe(true);
    const events = await storedEvents(operator, second!);
    expect(textOf(events, 'system')).not.toContain('started:');
    expect((await getJob(operator, second!)).status).toBe('canceled');
  });
});
