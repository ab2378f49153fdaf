// The pool's two waits: a burst of queries behind busy connections waits its turn; a database that
// does not answer a new connection is reported unavailable.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/db/client.js';
import { isDbUnavailable } from '../../src/errors.js';
import { createTestDatabase, testLog, type TestDatabase } from '../fixtures/postgres.js';

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
});
