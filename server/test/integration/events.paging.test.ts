// Pages of stored events are cut by size as well as by count, so neither a replay nor a download
// holds a whole big job in memory; every event still comes exactly once, in order.
import type { JobEvent } from '@vmo/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEventsRepository } from '../../src/db/job-events.repository.js';
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
