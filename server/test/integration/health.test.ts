import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATION_NAMES, migrateToLatest } from '../../src/db/migrate.js';
import { startTestApp, type TestApp } from '../fixtures/app.js';
import { createTestDatabase, type TestDatabase } from '../fixtures/postgres.js';
import { startTcpProxy, type TcpProxy } from '../fixtures/tcp-proxy.js';

describe('GET /api/health', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    // The app reaches its database only through a proxy this test can cut; the real server is never touched.
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(database.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    t = await startTestApp({ dbUrl: viaProxy.toString() });
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('answers 200 {ok, db, version} without a session', async () => {
    const res = await t.anonymous().get('/api/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, db: 'up', version: 'test' });
  });

  it('answers 503 DB_UNAVAILABLE while the database is cut off, and 200 again after', async () => {
    const viewer = await t.loginAs('viewer');
    proxy.cut();
    const down = await t.anonymous().get('/api/health');
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({
      ok: false,
      db: 'down',
      error: { code: 'DB_UNAVAILABLE' },
    });

    // Routes that need the database say so with the same code rather than a 500.
    const me = await viewer.get('/api/auth/me');
    expect(me.status).toBe(503);
    expect(await me.json()).toMatchObject({ error: { code: 'DB_UNAVAILABLE' } });

    proxy.restore();
    await expect
      .poll(async () => (await t.anonymous().get('/api/health')).status, { timeout: 10_000 })
      .toBe(200);
  });
});

describe(migrateToLatest.name, () => {
  it('is idempotent: a second start applies nothing and keeps the data', async () => {
    const database = await createTestDatabase({ migrate: false });
    try {
      const first = database.open();
      expect(await migrateToLatest(first.db)).toEqual(MIGRATION_NAMES);
      expect(MIGRATION_NAMES.slice(0, 4)).toEqual([
        '0001_initial',
        '0003_cluster',
        '0004_line_marks',
        '0005_login_limits',
      ]);
      await first.db
        .insertInto('users')
        .values({ username: 'kept', role: 'viewer', password_hash: null })
        .execute();
      await first.close();

      const second = database.open();
      expect(await migrateToLatest(second.db)).toEqual([]);
      const users = await second.db.selectFrom('users').select('username').execute();
      expect(users).toEqual([{ username: 'kept' }]);
    } finally {
      await database.drop();
    }
  });

  it('is safe when two instances start at once', async () => {
    const database = await createTestDatabase({ migrate: false });
    try {
      const [a, b] = [database.open(), database.open()];
      const results = await Promise.all([migrateToLatest(a.db), migrateToLatest(b.db)]);
      expect(results.flat()).toEqual(MIGRATION_NAMES);
    } finally {
      await database.drop();
    }
  });
});
