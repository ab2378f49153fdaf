// Pages of stored events are cut by size as well as by count, so neither a replay nor a download
// holds a whole big job in memory; every event still comes exactly once, in order.
import type { JobEvent } from '@vmo/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEventsRepository } from '../../src/db/job-events.repository.js';
import { JobsRepository } from '../../src/db/jobs.repository.js';
import type { Db } from '../../src/db/client.js';
import { createTestDatabase, type TestDatabase } from '../fixtures/postgres.js';

describe('JobEventsRepository.after', () => {
  let database: TestDatabase;
  let db: Db;
  let repo: JobEventsRepository;
  let jobId: string;
  const events: JobEvent[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.open();
    repo = new JobEventsRepository(db.db);
    ({ id: jobId } = await db.db
      .insertInto('jobs')
      .values({ type: 'stream', status: 'running', command: 'make x', argv: '[]', args: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow());
    // Sizes around a 1,000-byte cap: small ones, one exactly at it, one far past it, multibyte
    // text (bytes, not characters, count), and a chunk with NUL (stored as bytes).
    const chunks = [
      'a'.repeat(300),
      'b'.repeat(300),
      'c'.repeat(300),
      'd'.repeat(1000),
      'e'.repeat(5000),
      'é'.repeat(400), // 800 bytes
      'f\0g'.repeat(200),
      'h',
      'i',
    ];
    chunks.forEach((chunk, i) =>
      events.push({
        seq: i + 1,
        stream: i % 2 ? 'stderr' : 'stdout',
        chunk,
        ts: 1_700_000_000_000 + i,
      }),
    );
    await repo.append(jobId, events, 0);
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function pages(limit: number, maxBytes?: number): Promise<JobEvent[][]> {
    const out: JobEvent[][] = [];
    let after = 0;
    for (;;) {
      const page = await repo.after(jobId, after, limit, maxBytes);
      if (page.length === 0) return out;
      out.push(page);
      after = page.at(-1)!.seq;
    }
  }
  const bytes = (e: JobEvent) => Buffer.byteLength(e.chunk);

  it('cuts a page once it holds maxBytes, always with at least one event', async () => {
    const got = await pages(100, 1000);
    expect(got.map((p) => p.map((e) => e.seq))).toEqual([[1, 2, 3, 4], [5], [6, 7], [8, 9]]);
    expect(got.flat()).toEqual(events);
    for (const page of got) {
      const beforeLast = page.slice(0, -1).reduce((n, e) => n + bytes(e), 0);
      expect(beforeLast).toBeLessThan(1000);
    }
  });

  it('still honours the count limit, and the default cap lets small pages through whole', async () => {
    expect((await pages(2, 1_000_000)).map((p) => p.length)).toEqual([2, 2, 2, 2, 1]);
    expect((await pages(1000)).map((p) => p.length)).toEqual([9]);
    expect(await repo.after(jobId, 9, 1000)).toEqual([]);
  });
});

describe('JobEventsRepository.appendMany', () => {
  let database: TestDatabase;
  let repo: JobEventsRepository;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.open();
    repo = new JobEventsRepository(db.db);
  });
  afterAll(async () => {
    await database?.drop();
  });

  const newJob = async () =>
    (
      await db.db
        .insertInto('jobs')
        .values({ type: 'stream', status: 'running', command: 'make x', argv: '[]', args: '{}' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;

  const ev = (seq: number, chunk = `${seq}\n`): JobEvent => ({
    seq,
    stream: 'stdout',
    chunk,
    ts: 1_700_000_000_000 + seq,
  });
  const lastSeq = async (id: string) =>
    await db.db
      .selectFrom('jobs')
      .select(['last_seq', 'seq_ahead'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  const seqsAfter = async (id: string) => (await repo.after(id, 0, 1000)).map((e) => e.seq);

  it('moves last_seq over contiguous commits only: a batch committed ahead waits, unread, for the gap', async () => {
    const id = await newJob();
    await repo.appendMany([{ jobId: id, events: [ev(1), ev(2)], addBytes: 4 }]);
    // Batches 5–6 and 7 commit before 3–4 (two statements in flight): readers stop at 2.
    await repo.appendMany([{ jobId: id, events: [ev(7)], addBytes: 2 }]);
    await repo.appendMany([{ jobId: id, events: [ev(5), ev(6)], addBytes: 4 }]);
    expect(await lastSeq(id)).toEqual({ last_seq: 2, seq_ahead: '{[5,8)}' });
    expect(await seqsAfter(id)).toEqual([1, 2]);
    expect(
      (
        await repo.afterMany(
          [
            { jobId: id, afterSeq: 0 },
            { jobId: id, afterSeq: 1 },
          ],
          100,
        )
      ).events.map((e) => e.seq),
    ).not.toContain(5);
    expect((await repo.before(id, 100, 100)).events.map((e) => e.seq)).toEqual([1, 2]);
    // The gap fills: last_seq runs over everything committed ahead.
    await repo.appendMany([{ jobId: id, events: [ev(3), ev(4)], addBytes: 4 }]);
    expect(await lastSeq(id)).toEqual({ last_seq: 7, seq_ahead: '{}' });
    expect(await seqsAfter(id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Bytes with no event (a character still waiting for its last byte) count, and move nothing.
    await repo.appendMany([{ jobId: id, events: [], addBytes: 2 }]);
    expect(await lastSeq(id)).toEqual({ last_seq: 7, seq_ahead: '{}' });
    const row = await db.db
      .selectFrom('jobs')
      .select('output_bytes')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(Number(row.output_bytes)).toBe(16);
  });

  it('takes two batches of one job in one statement, and commits from two connections at once in either order', async () => {
    const id = await newJob();
    await repo.appendMany([
      { jobId: id, events: [ev(1)], addBytes: 2 },
      { jobId: id, events: [ev(2), ev(3)], addBytes: 4 },
    ]);
    expect((await lastSeq(id)).last_seq).toBe(3);
    // Many batches of one job sent at once on the pool's connections, each big enough to take a
    // while: whatever order they commit in, last_seq ends at the last and nothing is left ahead.
    const big = 'x'.repeat(200_000) + '\n';
    const batches = Array.from({ length: 12 }, (_, i) => ({
      jobId: id,
      events: [ev(4 + 2 * i, big), ev(5 + 2 * i)],
      addBytes: 10,
    }));
    await Promise.all(batches.map((b) => repo.appendMany([b])));
    expect(await lastSeq(id)).toEqual({ last_seq: 27, seq_ahead: '{}' });
    expect(await seqsAfter(id)).toEqual(Array.from({ length: 27 }, (_, i) => i + 1));
  });

  it('drops, for recovery, what was committed past last_seq', async () => {
    const id = await newJob();
    await repo.appendMany([{ jobId: id, events: [ev(1)], addBytes: 2 }]);
    await repo.appendMany([{ jobId: id, events: [ev(3)], addBytes: 2 }]); // 2 never commits
    await new JobsRepository(db.db).dropUncommitted(id);
    expect(await lastSeq(id)).toEqual({ last_seq: 1, seq_ahead: '{}' });
    const left = await db.db
      .selectFrom('job_events')
      .select('seq')
      .where('job_id', '=', id)
      .execute();
    expect(left.map((r) => r.seq)).toEqual([1]);
  });

  it('stores thousands of small events and large ones of several jobs in one statement, exactly', async () => {
    const a = await newJob();
    const b = await newJob();
    const small = (seq: number): JobEvent => ({
      seq,
      stream: seq % 3 ? 'stdout' : 'stderr',
      chunk: `line ${seq}\n`,
      ts: 1_700_000_000_000 + seq,
    });
    const eventsA = Array.from({ length: 9000 }, (_, i) => small(i + 1));
    const eventsB: JobEvent[] = [
      { seq: 1, stream: 'stdout', chunk: 'x'.repeat(40_000), ts: 1 },
      { seq: 2, stream: 'stderr', chunk: 'small', ts: 2 },
      { seq: 3, stream: 'stdout', chunk: 'n\0l'.repeat(10_000), ts: 3 },
      { seq: 4, stream: 'stdout', chunk: '€'.repeat(20_000), ts: 4 },
    ];
    await repo.appendMany([
      {
        jobId: a,
        events: eventsA.map((e, i) => ({ ...e, lineEnd: i + 1, openStreams: 0 })),
        addBytes: 7,
      },
      { jobId: b, events: eventsB, addBytes: 11 },
    ]);
    expect(await repo.after(a, 0, 10_000, Number.MAX_SAFE_INTEGER)).toEqual(eventsA);
    expect(await repo.after(b, 0, 10_000, Number.MAX_SAFE_INTEGER)).toEqual(eventsB);
    expect(await repo.lineState(a)).toEqual({ lines: 9000, open: 0 });
    expect(await repo.lineState(b)).toBeNull(); // stored without marks
    const jobs = await db.db
      .selectFrom('jobs')
      .select(['id', 'last_seq', 'output_bytes'])
      .where('id', 'in', [a, b])
      .execute();
    expect(Object.fromEntries(jobs.map((j) => [j.id, [j.last_seq, j.output_bytes]]))).toEqual({
      [a]: [9000, 7],
      [b]: [4, 11],
    });
  });
});

describe('JobEventsRepository.afterMany', () => {
  let database: TestDatabase;
  let repo: JobEventsRepository;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.open();
    repo = new JobEventsRepository(db.db);
  });
  afterAll(async () => {
    await database?.drop();
  });

  const newJob = async () =>
    (
      await db.db
        .insertInto('jobs')
        .values({ type: 'ssh', status: 'running', command: 'uptime', argv: '[]', args: '{}' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;

  it('merges several jobs in commit order, page by page, each event once', async () => {
    const [a, b, c] = [await newJob(), await newJob(), await newJob()];
    const seqs = { [a]: 0, [b]: 0, [c]: 0 };
    /** Commits in rounds, as a fan-out does: b writes much, a a little, c twice only. */
    const committed: { source: string; chunk: string }[] = [];
    for (let round = 0; round < 40; round++) {
      const batches = [];
      for (const [job, n] of [
        [a, round % 3 === 0 ? 1 : 0],
        [b, 7],
        [c, round === 5 || round === 30 ? 1 : 0],
      ] as const) {
        const events: JobEvent[] = [];
        for (let i = 0; i < n; i++) {
          const chunk = `${job.slice(-4)} ${round}.${i}\n`;
          events.push({ seq: ++seqs[job]!, stream: 'stdout', chunk, ts: round });
          committed.push({ source: job, chunk });
        }
        if (events.length) batches.push({ jobId: job, events, addBytes: 0 });
      }
      await repo.appendMany(batches);
    }
    // Small pages, so that full pages (b's) hold the others back until b has caught up.
    const got: { source: string; chunk: string }[] = [];
    const after = new Map([a, b, c].map((j) => [j, 0]));
    let pages = 0;
    for (;;) {
      const page = await repo.afterMany(
        [...after].map(([jobId, afterSeq]) => ({ jobId, afterSeq })),
        10,
      );
      pages++;
      for (const e of page.events) {
        expect(e.seq).toBe(after.get(e.source)! + 1);
        after.set(e.source, e.seq);
        got.push({ source: e.source, chunk: e.chunk });
      }
      if (!page.more) break;
      expect(page.events.length).toBeGreaterThan(0);
    }
    expect(got).toEqual(committed);
    expect(pages).toBeGreaterThan(20);
    // Caught up: nothing more, and one job alone reads as `after` does.
    expect(
      await repo.afterMany(
        [...after].map(([jobId, afterSeq]) => ({ jobId, afterSeq })),
        10,
      ),
    ).toEqual({
      events: [],
      more: false,
    });
    const one = await repo.afterMany([{ jobId: c, afterSeq: 0 }], 10);
    expect(one.events.map((e) => e.chunk)).toEqual(
      committed.filter((x) => x.source === c).map((x) => x.chunk),
    );
    expect(one.more).toBe(false);
  });
});
