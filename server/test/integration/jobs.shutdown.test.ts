// JobService.shutdown: running and queued jobs end interrupted, a fan-out with them, and a queued
// job whose end cannot be recorded is left for the next start to recover.
import { sql } from 'kysely';
import { describe, expect, it, vi } from 'vitest';
import {
  fanOutBehindWaiter,
  HOLD_PRESET,
  unreachableHosts,
  useJobApp,
} from '../fixtures/job-app.js';
import {
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
import { testLog } from '../fixtures/postgres.js';

describe('JobService.shutdown', () => {
  const app = useJobApp({
    socket: true,
    config: {
      projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
      jobs: { maxConcurrent: 1, graceSeconds: 1 },
    },
  });

  it('turns running and queued jobs interrupted, each with a system event saying why', async () => {
    const { t, operator, socket } = app;
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

describe('JobService.shutdown with a fan-out under way', () => {
  const hosts = ['vmo-gone-a', 'vmo-gone-b'];
  const app = useJobApp(async (project) => ({
    socket: true,
    config: {
      projects: [{ alias: 'waiter', dir: project.dir }],
      ssh: { config: await unreachableHosts(project.dir, hosts) },
      presets: [HOLD_PRESET],
      jobs: { maxConcurrent: 1, graceSeconds: 0 },
    },
  }));

  it('ends the group interrupted, its queued children too', async () => {
    const { t, operator, socket, project } = app;
    const { first, groupId } = await fanOutBehindWaiter(operator, project, hosts);
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

describe('JobService.shutdown when a queued job’s end cannot be recorded', () => {
  const app = useJobApp({
    config: {
      projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
      jobs: { maxConcurrent: 1, graceSeconds: 0 },
    },
  });

  it('still stops the running jobs, and leaves that one for the next start', async () => {
    const { t, operator } = app;
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
