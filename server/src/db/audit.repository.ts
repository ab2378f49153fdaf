import { sql, type Kysely, type Selectable } from 'kysely';
import { contentOf, hashOf } from '../audit/chain.js';
import type { AuditLogTable, Database } from './schema.js';

export interface AuditEntry {
  userId: string | null;
  username: string | null;
  action: string;
  target?: string | null;
  source?: string | null;
  details?: Record<string, unknown> | null;
}

export type AuditRow = Selectable<AuditLogTable>;

export interface AuditFilter {
  action?: string;
  username?: string;
  /** `details.environment` (a job's, or a fan-out's) is this. */
  environment?: string;
  /** `details.vm` is this. */
  vm?: string;
  /** Rows with a smaller id (ids grow with time, so this pages newest first). */
  beforeId?: number;
  limit: number;
}

export class AuditRepository {
  /** Told after each entry is committed (the backup ships it at once). */
  onAdded: () => void = () => {};

  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Appends an entry to the one chain: under the chain row's lock (every instance takes it), the
   * next id, the hash of the entry before and this entry's own, written with the new head in the
   * same transaction.
   */
  async add(e: AuditEntry): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const head = await trx
        .selectFrom('audit_chain')
        .select(['head_id', 'head_hash'])
        .forUpdate()
        .executeTakeFirstOrThrow();
      const row = {
        id: Number(head.head_id) + 1,
        ts: new Date(),
        user_id: e.userId,
        username: e.username,
        action: e.action,
        target: e.target ?? null,
        source: e.source ?? null,
        details: e.details ?? null,
      };
      const hash = hashOf(head.head_hash, contentOf(row));
      await sql`
        WITH entry AS (
          INSERT INTO audit_log (id, ts, user_id, username, action, target, source, details, prev_hash, hash)
          VALUES (${row.id}, ${row.ts}, ${row.user_id}, ${row.username}, ${row.action}, ${row.target},
                  ${row.source}, ${row.details ? JSON.stringify(row.details) : null}::jsonb,
                  ${head.head_hash}, ${hash})
        )
        UPDATE audit_chain SET head_id = ${row.id}, head_hash = ${hash}`.execute(trx);
    });
    this.onAdded();
  }

  /** The chain's head (its last entry) and anchor (the last entry retention deleted). */
  chain(): Promise<{ head_id: number; head_hash: string; anchor_id: number; anchor_hash: string }> {
    return this.db
      .selectFrom('audit_chain')
      .select(['head_id', 'head_hash', 'anchor_id', 'anchor_hash'])
      .executeTakeFirstOrThrow();
  }

  /** Up to `limit` entries after `afterId`, oldest first, optionally within [since, until). */
  range(f: { afterId: number; limit: number; since?: Date; until?: Date }): Promise<AuditRow[]> {
    let q = this.db.selectFrom('audit_log').selectAll().where('id', '>', f.afterId);
    if (f.since) q = q.where('ts', '>=', f.since);
    if (f.until) q = q.where('ts', '<', f.until);
    return q.orderBy('id').limit(f.limit).execute();
  }

  /**
   * Retention: deletes up to `limit` of the oldest entries older than `before` (and not past
   * `upToId`, what the backup has); the last one deleted becomes the anchor, in the same
   * transaction. Returns how many were deleted.
   */
  async deleteOldest(before: Date, upToId: number, limit: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      await trx.selectFrom('audit_chain').select('one').forUpdate().execute();
      // The newest of the first `limit` entries that qualify: one query for a full batch or less.
      const edge = await trx
        .selectFrom(
          trx
            .selectFrom('audit_log')
            .select(['id', 'hash'])
            .where('ts', '<', before)
            .where('id', '<=', upToId)
            .orderBy('id')
            .limit(limit)
            .as('batch'),
        )
        .select(['id', 'hash'])
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!edge) return 0;
      const res = await trx.deleteFrom('audit_log').where('id', '<=', edge.id).executeTakeFirst();
      await trx
        .updateTable('audit_chain')
        .set({ anchor_id: edge.id, anchor_hash: edge.hash })
        .execute();
      return Number(res.numDeletedRows);
    });
  }

  /** Newest first; one row more than `limit`, so the caller knows whether there is a next page. */
  list(f: AuditFilter): Promise<AuditRow[]> {
    let q = this.db.selectFrom('audit_log').selectAll();
    if (f.action) q = q.where('action', '=', f.action);
    if (f.username) q = q.where('username', '=', f.username);
    if (f.environment) q = q.where(sql<string>`details->>'environment'`, '=', f.environment);
    if (f.vm) q = q.where(sql<string>`details->>'vm'`, '=', f.vm);
    if (f.beforeId) q = q.where('id', '<', f.beforeId);
    return q
      .orderBy('id', 'desc')
      .limit(f.limit + 1)
      .execute();
  }
}
