// The ends of each user's jobs not seen yet (migration 0011).
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** At most this many are kept per user: the oldest go first. */
export const MAX_UNSEEN = 50;

export class UnseenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(userId: string, jobId: string): Promise<void> {
    await this.db
      .insertInto('unseen_ends')
      .values({ user_id: userId, job_id: jobId })
      .onConflict((oc) => oc.columns(['user_id', 'job_id']).doNothing())
      .execute();
  }

  /** The user's unseen ends, newest first (the job ids). */
  async list(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('unseen_ends')
      .select('job_id')
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .limit(MAX_UNSEEN)
      .execute();
    return rows.map((r) => r.job_id);
  }

  async seen(userId: string, jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await this.db
      .deleteFrom('unseen_ends')
      .where('user_id', '=', userId)
      .where('job_id', 'in', jobIds)
      .execute();
  }
}
