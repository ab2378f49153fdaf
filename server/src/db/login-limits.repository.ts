// Counters of failed sign-ins per key in fixed windows, shared by every instance on the database.
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface LimitCount {
  hits: number;
  resetAt: Date;
}

export class LoginLimitsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** One more hit; a window that has passed starts again at 1. */
  async increment(key: string, windowMs: number): Promise<LimitCount> {
    const window = sql<Date>`now() + ${windowMs} * interval '1 millisecond'`;
    const row = await this.db
      .insertInto('login_limits')
      .values({ key, hits: 1, reset_at: window })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          hits: sql`case when login_limits.reset_at <= now() then 1 else login_limits.hits + 1 end`,
          reset_at: sql`case when login_limits.reset_at <= now() then ${window} else login_limits.reset_at end`,
        }),
      )
      .returning(['hits', 'reset_at'])
      .executeTakeFirstOrThrow();
    return { hits: row.hits, resetAt: new Date(row.reset_at) };
  }

  async get(key: string): Promise<LimitCount | undefined> {
    const row = await this.db
      .selectFrom('login_limits')
      .select(['hits', 'reset_at'])
      .where('key', '=', key)
      .where('reset_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
    return row && { hits: row.hits, resetAt: new Date(row.reset_at) };
  }

  /** A request that was counted and then succeeded takes its hit back. */
  async decrement(key: string): Promise<void> {
    await this.db
      .updateTable('login_limits')
      .set({ hits: sql`greatest(hits - 1, 0)` })
      .where('key', '=', key)
      .execute();
  }

  async reset(key: string): Promise<void> {
    await this.db.deleteFrom('login_limits').where('key', '=', key).execute();
  }

  /** Windows that have passed, in one statement; called now and then by the writers. */
  async deleteExpired(): Promise<void> {
    await this.db
      .deleteFrom('login_limits')
      .where('reset_at', '<=', sql<Date>`now()`)
      .execute();
  }
}
