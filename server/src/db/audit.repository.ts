import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface AuditEntry {
  userId: string | null;
  username: string | null;
  action: string;
  target?: string | null;
  source?: string | null;
  details?: Record<string, unknown> | null;
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
}
