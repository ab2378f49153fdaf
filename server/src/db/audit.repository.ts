import { sql, type Kysely, type Selectable } from 'kysely';
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
  beforeId?: string;
  limit: number;
}

export class AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(e: AuditEntry): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        user_id: e.userId,
        username: e.username,
        action: e.action,
        target: e.target ?? null,
        source: e.source ?? null,
        details: e.details ? JSON.stringify(e.details) : null,
      })
      .execute();
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
