import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export class SettingsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The stored value, or `initial` stored now; the first of several racing instances wins. */
  async getOrCreate(key: string, initial: () => string): Promise<string> {
    await this.db
      .insertInto('settings')
      .values({ key, value: initial() })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const row = await this.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    return row.value;
  }
}
