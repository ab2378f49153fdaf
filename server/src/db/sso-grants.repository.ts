import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, SsoGrantsTable } from './schema.js';

export type SsoGrantRow = Selectable<SsoGrantsTable>;

/** The refresh tokens of single sign-on sessions (sealed by the caller), one per session. */
export class SsoGrantsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Keeps the session's token; nothing when the session is already gone (signed out meanwhile). */
  async keep(sid: string, userId: string, refreshToken: string): Promise<void> {
    await sql`
      INSERT INTO sso_grants (sid, user_id, refresh_token)
      SELECT ${sid}, ${userId}, ${refreshToken} WHERE EXISTS (SELECT 1 FROM sessions WHERE sid = ${sid})
      ON CONFLICT (sid) DO UPDATE SET refresh_token = excluded.refresh_token, checked_at = now()
    `.execute(this.db);
  }

  /**
   * Up to `limit` grants last checked before `before`, claimed for this caller: their checked_at
   * moves to now in the same statement, so another instance skips them (and a crashed check is
   * tried again a period later).
   */
  async claimDue(before: Date, limit: number): Promise<SsoGrantRow[]> {
    const { rows } = await sql<SsoGrantRow>`
      UPDATE sso_grants SET checked_at = now()
      WHERE sid IN (
        SELECT sid FROM sso_grants WHERE checked_at < ${before}
        ORDER BY checked_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
      )
      RETURNING *
    `.execute(this.db);
    return rows;
  }

  /** The provider rotated the token. */
  async replace(sid: string, refreshToken: string): Promise<void> {
    await this.db
      .updateTable('sso_grants')
      .set({ refresh_token: refreshToken })
      .where('sid', '=', sid)
      .execute();
  }
}
