// The tamper-evident audit trail (issue 28): one hash chain written under one lock, verified from
// its anchor to its head, an edit or a deletion named; the export streamed as JSON lines or CSV and
// checked offline with the documented command; retention that keeps the chain verifiable.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditPage, AuditVerify } from '@vmo/protocol';
import { AuditRepository } from '../../src/db/audit.repository.js';
import { CSV_COLUMNS, ZERO_HASH } from '../../src/audit/chain.js';
import { AuditTrail } from '../../src/audit/audit.trail.js';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
import * as chainMigration from '../../src/db/migrations/0016_audit_chain.js';
import { createTestDatabase, testLog } from '../fixtures/postgres.js';

const run = promisify(execFile);
const VERIFY_SCRIPT = fileURLToPath(new URL('../../../scripts/audit-verify.mjs', import.meta.url));
const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T;

describe('the audit trail', () => {
  let t: TestApp;
  let admin: HttpClient;
  const verify = () => json<AuditVerify>(admin.get('/api/audit/verify'));
  /** Runs `change` on the log, then `check`, then puts the log back as it was. */
  async function tampered(change: string, check: () => Promise<void>) {
    const db = t.db.db;
    await sql`CREATE TABLE audit_saved AS SELECT * FROM audit_log`.execute(db);
    try {
      await sql.raw(change).execute(db);
      await check();
    } finally {
      await sql`DELETE FROM audit_log`.execute(db);
      await sql`INSERT INTO audit_log SELECT * FROM audit_saved`.execute(db);
      await sql`DROP TABLE audit_saved`.execute(db);
    }
  }

  beforeAll(async () => {
    t = await startTestApp();
    admin = await t.loginAs('admin');
    for (let i = 0; i < 5; i++) await t.loginAs('viewer');
  });
  afterAll(() => t?.close());

  it('chains every entry to the one before, and verifies up to the last', async () => {
    const page = await json<AuditPage>(admin.get('/api/audit?limit=500'));
    const entries = [...page.items].reverse();
    expect(entries.length).toBeGreaterThanOrEqual(6);
    expect(entries[0]!.prevHash).toBe(ZERO_HASH);
    for (let i = 1; i < entries.length; i++) {
      expect(entries[i]!.prevHash).toBe(entries[i - 1]!.hash);
      expect(Number(entries[i]!.id)).toBe(Number(entries[i - 1]!.id) + 1); // no gaps
    }
    const result = await verify();
    expect(result).toMatchObject({
      ok: true,
      firstBroken: null,
      anchor: null,
      backup: null,
    });
    // The verify call itself is not audited; the log is exactly what was listed.
    expect(result.verifiedUpTo).toBe(entries.at(-1)!.id);
    expect(result.checked).toBe(entries.length);
  });

  it('keeps one chain when many entries are written at once, from two instances', async () => {
    const other = new AuditRepository(t.database.open().db); // a pool of its own, as another instance
    const mine = new AuditRepository(t.db.db);
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (i % 2 ? other : mine).add({ userId: null, username: `u${i}`, action: 'login.failed' }),
      ),
    );
    expect(await verify()).toMatchObject({ ok: true, firstBroken: null });
  });

  it('names an edited entry', async () => {
    const { verifiedUpTo: head } = await verify();
    const target = Number(head) - 3;
    await tampered(
      `UPDATE audit_log SET username = 'someone-else' WHERE id = ${target}`,
      async () => {
        const result = await verify();
        expect(result.ok).toBe(false);
        expect(result.verifiedUpTo).toBe(String(target - 1));
        expect(result.firstBroken).toEqual({
          id: String(target),
          reason: expect.stringMatching(/edited/) as unknown,
        });
      },
    );
    expect((await verify()).ok).toBe(true);
  });

  it('names the entry after a deleted one, and a deleted end of the log', async () => {
    const { verifiedUpTo: head } = await verify();
    const gone = Number(head) - 2;
    await tampered(`DELETE FROM audit_log WHERE id = ${gone}`, async () => {
      expect((await verify()).firstBroken).toEqual({
        id: String(gone + 1),
        reason: expect.stringMatching(/deleted/) as unknown,
      });
    });
    await tampered(`DELETE FROM audit_log WHERE id > ${gone}`, async () => {
      const result = await verify();
      expect(result.ok).toBe(false);
      expect(result.firstBroken?.reason).toMatch(/entries at its end were deleted/);
    });
  });

  it('exports JSON lines with the hashes, checkable offline with the documented command', async () => {
    const res = await admin.get('/api/audit/export');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="?vmo-audit-[\d-]+\.jsonl/,
    );
    const text = await res.text();
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBe((await verify()).checked);
    expect(Object.keys(lines[0]!)).toEqual([
      'id',
      'ts',
      'userId',
      'username',
      'action',
      'target',
      'source',
      'details',
      'prevHash',
      'hash',
    ]);
    const dir = mkdtempSync(path.join(tmpdir(), 'vmo-audit-'));
    const file = path.join(dir, 'export.jsonl');
    writeFileSync(file, text);
    const ok = await run(process.execPath, [VERIFY_SCRIPT, file, '--from-start']);
    expect(ok.stdout).toMatch(new RegExp(`^OK: ${lines.length} entries`));

    // One character changed in one line: the offline check names it.
    const edited = text.replace('"action":"login"', '"action":"logout"');
    expect(edited).not.toBe(text);
    writeFileSync(file, edited);
    const broken = await run(process.execPath, [VERIFY_SCRIPT, file]).catch(
      (err: { code: number; stdout: string }) => err,
    );
    expect(broken).toMatchObject({ code: 1, stdout: expect.stringMatching(/^BROKEN at #\d+/) });
  });

  it('exports a time slice as CSV, quoted where a field needs it', async () => {
    const before = new Date(Date.now() - 1);
    await new AuditRepository(t.db.db).add({
      userId: null,
      username: 'csv',
      action: 'login.failed',
      details: { note: 'a "quoted", comma\nand a line break' },
    });
    const res = await admin.get(
      `/api/audit/export?format=csv&since=${encodeURIComponent(before.toISOString())}`,
    );
    expect(res.headers.get('content-type')).toMatch(/text\/csv/);
    const text = await res.text();
    expect(text.startsWith(CSV_COLUMNS.join(',') + '\r\n')).toBe(true);
    expect(text).toContain('"{""note"":""a \\""quoted\\"", comma\\nand a line break""}"');
    expect(text.trim().split('\r\n')).toHaveLength(2); // the header and the one entry since
    const bad = await admin.get('/api/audit/export?format=xml');
    expect(bad.status).toBe(400);
  });

  it('retention deletes the oldest entries and keeps the chain verifiable from its anchor', async () => {
    const before = await verify();
    const firstId = Number(
      (
        await t.db.db
          .selectFrom('audit_log')
          .select('id')
          .orderBy('id')
          .limit(1)
          .executeTakeFirstOrThrow()
      ).id,
    );
    const trail = new AuditTrail({
      audit: new AuditRepository(t.db.db),
      log: testLog,
      retentionDays: 1,
    });
    const tomorrow = Date.now() + 2 * 24 * 60 * 60 * 1000;
    expect(await trail.prune(4, tomorrow)).toBe(4);
    const after = await verify();
    expect(after).toMatchObject({
      ok: true,
      verifiedUpTo: before.verifiedUpTo,
      checked: before.checked - 4,
      anchor: { id: String(firstId + 3) },
    });
    // The export of what is left starts from the anchor's hash.
    const text = await (await admin.get('/api/audit/export')).text();
    expect((JSON.parse(text.split('\n')[0]!) as { prevHash: string }).prevHash).toBe(
      after.anchor!.hash,
    );
    // Nothing is deleted while the entries are younger than retentionDays.
    expect(await trail.prune(4)).toBe(0);
  });

  it('is for admins only', async () => {
    const viewer = await t.loginAs('viewer');
    expect((await viewer.get('/api/audit/verify')).status).toBe(403);
    expect((await viewer.get('/api/audit/export')).status).toBe(403);
    expect(readFileSync(VERIFY_SCRIPT, 'utf8')).toMatch(/audit-verify/);
  });
});

describe('the chain over entries written before it (migration 0016)', () => {
  it('chains the existing entries oldest first, gaps in their ids and all', async () => {
    const database = await createTestDatabase();
    try {
      const { db } = database.open();
      const asMigrations = db as unknown as Kysely<unknown>; // migrations see no typed schema
      await chainMigration.down(asMigrations);
      // As round 1 wrote them: ids from a sequence (with a gap), times with microseconds.
      await sql`
        INSERT INTO audit_log (id, ts, username, action, target, details) VALUES
          (1, '2026-11-30 10:00:00.123456+00', 'admin', 'login', null, null),
          (2, '2026-11-30 10:00:01.5+00', 'admin', 'job.run', 'a-job', '{"alias":"demo","args":{"B":"2","A":"1"}}'),
          (5, '2026-11-30 10:00:02+00', null, 'login.failed', null, '{"via":"link"}')`.execute(db);
      await chainMigration.up(asMigrations);
      const repo = new AuditRepository(db);
      await repo.add({ userId: null, username: 'after', action: 'logout' });
      const trail = new AuditTrail({ audit: repo, log: testLog, retentionDays: null });
      expect(await trail.verify()).toMatchObject({
        ok: true,
        checked: 4,
        verifiedUpTo: '6',
        firstBroken: null,
      });
      const lines = [];
      for await (const line of trail.lines()) lines.push(line);
      expect(lines.map((l) => l.id)).toEqual(['1', '2', '5', '6']);
      expect(lines[0]!.prevHash).toBe(ZERO_HASH);
      expect(lines[1]!.details).toEqual({ alias: 'demo', args: { A: '1', B: '2' } });
    } finally {
      await database.drop();
    }
  });
});
