import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** The session rows connect-pg-simple writes; `sess` is JSON with our `userId` in it. */
export class SessionsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Ends one session. */
  async delete(sid: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('sid', '=', sid).execute();
  }

  /** Ends every session of the user, except `keepSid` (the one asking, after a password change). */
  async deleteForUser(userId: string, keepSid: string | null = null): Promise<number> {
    let q = this.db.deleteFrom('sessions').where(sql<string>`sess->>'userId'`, '=', userId);
    if (keepSid) q = q.where('sid', '<>', keepSid);
    const res = await q.executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
