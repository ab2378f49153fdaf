// Retention running by itself on its timer, against a real database: what it deletes, that it
// logs, that a failed sweep is retried, and that stop() stops it.
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, testLog, type TestDatabase } from '../../test/fixtures/postgres.js';
import { openDb } from '../db/client.js';
import { JobsRepository } from '../db/jobs.repository.js';
import { Retention } from './retention.js';

/** The sessions of this database now (the statistics snapshot cleared first). */
async function sessions(client: pg.Client) {
  await client.query('select pg_stat_clear_snapshot()');
  return client.query<{ wait_event_type: string | null; query: string }>(
    'select wait_event_type, query from pg_stat_activity where datname = current_database()',
  );
}

/** A real logger whose lines the test can read. */
function capturedLog() {
  type Line = { level: number; msg: string; [k: string]: unknown };
  const lines: Line[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as Line) },
  );
  return { log, lines };
}

describe(Retention.name, () => {
  let database: TestDatabase;
  let jobs: JobsRepository;
  const old = new Date(Date.now() - 40 * 86_400_000);

  beforeAll(async () => {
    database = await createTestDatabase();
    jobs = new JobsRepository(database.open().db);
  });
  afterAll(async () => {
    await database?.drop();
  });
  afterEach(() => {
    // Also when a test timed out inside its fake clock.
    vi.useRealTimers();
  });

  async function finishedJob(finishedAt: Date, repo = jobs): Promise<string> {
    const row = await repo.create({
      type: 'stream',
      status: 'running',
      project: 'p',
      host: null,
      target: 't',
      args: {},
      preset: null,
      command: 'make t',
      argv: ['make', 't'],
      requested_by: null,
      instance_id: 'default',
    });
    await repo.transition(row.id, ['running'], { status: 'success', finished_at: finishedAt });
    return row.id;
  }

  it('sweeps every everyMs once started, in batches, and says how many jobs went', async () => {
    const gone = await Promise.all([1, 2, 3].map(() => finishedJob(old)));
    const recent = await finishedJob(new Date());
    const { log, lines } = capturedLog();
    const stop = new Retention({ jobs, log, retentionDays: 30, batchSize: 2, everyMs: 20 }).start();
    try {
      await expect
        .poll(async () => Promise.all(gone.map(async (id) => (await jobs.get(id)) ?? null)))
        .toEqual([null, null, null]);
      await expect
        .poll(() => lines.filter((l) => l.msg === 'retention deleted old jobs'))
        .toEqual([expect.objectContaining({ jobs: 3, olderThanDays: 30 })]);
    } finally {
      stop();
    }
    expect(await jobs.get(recent)).toBeDefined();
  });

  it('by default sweeps 10 s after start, then every hour', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    // A pool of its own, opened under the fake clock: its idle and connect timers are fake too,
    // so advancing an hour cannot confuse a pool that started with real ones. Its per-query bound
    // is fake as well: beyond any hour advanced here, or a query still on the wire (the machine
    // is busy) would "time out" in fake time and lose its connection.
    const handle = database.open({ pool: { queryMs: 2 ** 31 - 1 } });
    const repo = new JobsRepository(handle.db);
    const deleted: number[] = [];
    let announce = () => {};
    const log = pino(
      { level: 'info' },
      {
        write: (line: string) => {
          const entry = JSON.parse(line) as { msg: string; jobs?: number };
          if (entry.msg === 'retention deleted old jobs') deleted.push(entry.jobs!);
          announce();
        },
      },
    );
    const nextLog = () => new Promise<void>((r) => (announce = r));
    const stop = new Retention({ jobs: repo, log, retentionDays: 30 }).start();
    try {
      const first = await finishedJob(old, repo);
      await vi.advanceTimersByTimeAsync(9_999);
      expect(await repo.get(first)).toBeDefined();
      let logged = nextLog();
      await vi.advanceTimersByTimeAsync(1);
      await logged;
      expect(deleted).toEqual([1]);
      expect(await repo.get(first)).toBeUndefined();

      const second = await finishedJob(old, repo);
      await vi.advanceTimersByTimeAsync(3_600_000 - 10_000 - 1);
      expect(await repo.get(second)).toBeDefined();
      logged = nextLog();
      await vi.advanceTimersByTimeAsync(1);
      await logged;
      expect(deleted).toEqual([1, 1]);
    } finally {
      stop();
      await handle.close();
      vi.useRealTimers();
    }
  });

  it('stops sweeping once stopped', async () => {
    const { log } = capturedLog();
    // 20 days old: out of reach of the 30-day sweeps of the test before, should one still run.
    const retention = new Retention({ jobs, log, retentionDays: 10, everyMs: 10 });
    const stop = retention.start();
    stop();
    const kept = await finishedJob(new Date(Date.now() - 20 * 86_400_000));
    // Many periods later the old job is still there: no sweep ran after stop().
    await new Promise((r) => setTimeout(r, 200));
    expect(await jobs.get(kept)).toBeDefined();
    expect(await retention.sweep()).toBe(1);
  });

  it('does not start a sweep while the last one still runs', async () => {
    const held = await finishedJob(old);
    // Another connection holds that row: the sweep's DELETE waits until it lets go.
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    const waitingDeletes = async () => {
      const { rows } = await sessions(other);
      return rows.filter((r) => r.wait_event_type === 'Lock' && /delete from "jobs"/i.test(r.query))
        .length;
    };
    const { log, lines } = capturedLog();
    await other.query('begin');
    await other.query('select id from jobs where id = $1 for update', [held]);
    const stop = new Retention({ jobs, log, retentionDays: 30, everyMs: 10 }).start();
    try {
      await expect.poll(waitingDeletes).toBe(1);
      // Many ticks later, still that one sweep.
      await new Promise((r) => setTimeout(r, 200));
      expect(await waitingDeletes()).toBe(1);
      await other.query('commit');
      await expect
        .poll(() => lines.filter((l) => l.msg === 'retention deleted old jobs').length)
        .toBeGreaterThan(0);
      expect(await jobs.get(held)).toBeUndefined();
    } finally {
      stop();
      await other.query('rollback').catch(() => {});
      await other.end();
    }
  });

  it('logs a failed sweep and tries again on the next one', async () => {
    // Nothing listens on port 1: every query fails at once with ECONNREFUSED.
    const unreachable = openDb('postgres://vmo@127.0.0.1:1/none', testLog);
    const { log, lines } = capturedLog();
    const stop = new Retention({
      jobs: new JobsRepository(unreachable.db),
      log,
      retentionDays: 30,
      everyMs: 10,
    }).start();
    try {
      await expect
        .poll(() => lines.filter((l) => l.msg === 'retention sweep failed; will retry').length)
        .toBeGreaterThanOrEqual(2);
    } finally {
      stop();
      await unreachable.close();
    }
    expect(lines.find((l) => l.msg === 'retention sweep failed; will retry')).toMatchObject({
      level: 40,
      err: expect.stringContaining('ECONNREFUSED') as string,
    });
  });
});
