// The pool's two waits: a burst of queries behind busy connections waits its turn; a database that
// does not answer a new connection is reported unavailable.
import net from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREPARED, openDb, type Db } from '../../src/db/client.js';
import { isDbUnavailable } from '../../src/errors.js';
import { createTestDatabase, testLog, type TestDatabase } from '../fixtures/postgres.js';
import { startTcpProxy } from '../fixtures/tcp-proxy.js';

describe('database pool', () => {
  let database: TestDatabase;
  const opened: Db[] = [];
  const open = (url: string, opts: Parameters<typeof openDb>[2]) => {
    const db = openDb(url, testLog, opts);
    opened.push(db);
    return db;
  };

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await Promise.all(opened.map((d) => d.close()));
    await database?.drop();
  });

  it('runs a statement marked PREPARED as one named statement per connection, with its values', async () => {
    const db = open(database.url, { max: 1 });
    const twice = (n: number) => sql<{ n: number }>`${PREPARED} select ${n}::int + 1 as n`;
    expect((await twice(1).execute(db.db)).rows).toEqual([{ n: 2 }]);
    expect((await twice(41).execute(db.db)).rows).toEqual([{ n: 42 }]);
    const { rows } = await sql<{ name: string; statement: string }>`
      select name, statement from pg_prepared_statements`.execute(db.db);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.name).toMatch(/^vmo_[0-9a-f]{20}$/);
    expect(rows[0]!.statement).toContain('select $1::int + 1 as n');
  });

  it('lets a query wait past the connect limit for a busy connection', async () => {
    const db = open(database.url, { max: 1, connectMs: 200, queueMs: 10_000 });
    const busy = await db.pool.connect();
    const queued = db.pool.query<{ n: number }>('select 7 as n');
    // Held for longer than a new connection may take: the queued query must not fail meanwhile.
    await new Promise((r) => setTimeout(r, 600));
    expect(db.pool.waitingCount).toBe(1);
    busy.release();
    expect((await queued).rows).toEqual([{ n: 7 }]);
  });

  it('reports a database that accepts but never answers as unavailable', async () => {
    const silent = net.createServer(() => {}); // accepts, says nothing
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const sockets = new Set<net.Socket>();
    silent.on('connection', (s) => sockets.add(s));
    try {
      const { port } = silent.address() as net.AddressInfo;
      const db = open(`postgres://nobody@127.0.0.1:${port}/none`, {
        connectMs: 200,
        queueMs: 60_000,
      });
      const err = await db.pool.query('select 1').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(isDbUnavailable(err)).toBe(true);
      expect(await db.ping(5_000)).toBe(false);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('gives up a query on a connection that stopped answering, and carries on with new ones', async () => {
    const target = new URL(database.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    try {
      target.hostname = '127.0.0.1';
      target.port = String(proxy.port);
      const db = open(target.toString(), { connectMs: 500, queryMs: 700 });
      expect((await db.pool.query<{ n: number }>('select 1 as n')).rows).toEqual([{ n: 1 }]);
      const idle = db.pool.totalCount;

      proxy.hang(); // packets dropped: no reset, no answer
      const err = await db.pool.query('select 2').then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toBe(
        'the database gave no answer within 0.7 s; its connection was closed',
      );
      expect(isDbUnavailable(err)).toBe(true);
      // The connection that hung is gone from the pool, not handed to the next query.
      expect(db.pool.totalCount).toBe(idle - 1);
      // Health: a bounded ping says no, and frees its connection (no pile-up of pings).
      expect(await Promise.all([db.ping(300), db.ping(300), db.ping(300)])).toEqual([
        false,
        false,
        false,
      ]);
      // A statement through Kysely fails the same way.
      await expect(db.db.selectFrom('settings').selectAll().execute()).rejects.toSatisfy(
        isDbUnavailable,
      );

      proxy.restore();
      await expect.poll(() => db.ping(1_000), { timeout: 5_000 }).toBe(true);
      expect((await db.pool.query<{ n: number }>('select 3 as n')).rows).toEqual([{ n: 3 }]);
    } finally {
      await proxy.close();
    }
  });

  it('lets a long statement run within queryMs; the server stops one that runs past it', async () => {
    const db = open(database.url, { queryMs: 1_500 });
    await expect(db.pool.query('select pg_sleep(0.3)')).resolves.toBeDefined();
    const err = await db.pool.query('select pg_sleep(5)').then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    // statement_timeout (57014) or our own bound, whichever comes first: never a wait for ever.
    expect(err?.code === '57014' || isDbUnavailable(err)).toBe(true);
  });
});
