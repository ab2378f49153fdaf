import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export class LoginLinksRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(tokenHash: string, userId: string, expiresAt: Date): Promise<void> {
    await this.db
      .insertInto('login_links')
      .values({ token_hash: tokenHash, user_id: userId, expires_at: expiresAt })
      .execute();
  }

  /** Marks the link used and returns its user, atomically, only if it was unused and unexpired. */
  async consume(tokenHash: string): Promise<string | undefined> {
    const row = await this.db
      .updateTable('login_links')
      .set({ used_at: new Date() })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', new Date())
      .returning('user_id')
      .executeTakeFirst();
    return row?.user_id;
  }
}
