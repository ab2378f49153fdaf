// Triggers (migration 0010): a saved run, its owner, and the sha256 of its secret.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { ScheduleRun } from '@vmo/protocol';
import type { Database, TriggersTable } from './schema.js';

export type TriggerRow = Selectable<TriggersTable> & { owner_username: string | null };

export class TriggersRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private base() {
    return this.db
      .selectFrom('triggers')
      .leftJoin('users', 'users.id', 'triggers.owner_id')
      .selectAll('triggers')
      .select('users.username as owner_username');
  }

  async create(t: {
    name: string;
    run: ScheduleRun;
    owner_id: string;
    secret_hash: string;
  }): Promise<TriggerRow> {
    const { id } = await this.db
      .insertInto('triggers')
      .values({ ...t, run: JSON.stringify(t.run) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return (await this.get(id))!;
  }

  get(id: string): Promise<TriggerRow | undefined> {
    return this.base().where('triggers.id', '=', id).executeTakeFirst();
  }

  list(): Promise<TriggerRow[]> {
    return this.base().orderBy('triggers.name').orderBy('triggers.id').execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('triggers').where('id', '=', id).execute();
  }

  async used(id: string): Promise<void> {
    await this.db
      .updateTable('triggers')
      .set({ uses: sql`uses + 1`, last_used_at: sql`now()` })
      .where('id', '=', id)
      .execute();
  }
}
