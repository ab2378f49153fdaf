import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** The instances sharing this database (cluster.enabled) and their heartbeats, on the database's clock. */
export class InstancesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Registers the instance or refreshes its heartbeat (a row pruned while it lagged comes back). */
  async beat(id: string, hostname: string, pid: number): Promise<void> {
    await this.db
      .insertInto('instances')
      .values({ id, hostname, pid })
      .onConflict((oc) => oc.column('id').doUpdateSet({ hostname, pid, heartbeat_at: sql`now()` }))
      .execute();
  }

  /** Marks a fresh start: the heartbeat and started_at become now. */
  async register(id: string, hostname: string, pid: number): Promise<void> {
    await this.db
      .insertInto('instances')
      .values({ id, hostname, pid })
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet({ hostname, pid, started_at: sql`now()`, heartbeat_at: sql`now()` }),
      )
      .execute();
  }

  async remove(id: string): Promise<void> {
    await this.db.deleteFrom('instances').where('id', '=', id).execute();
  }

  /** Forgets instances whose heartbeat is older than `staleSeconds` (their jobs were taken over first). */
  async pruneStale(staleSeconds: number): Promise<number> {
    const res = await this.db
      .deleteFrom('instances')
      .where('heartbeat_at', '<', sql<Date>`now() - make_interval(secs => ${staleSeconds})`)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  list(): Promise<{ id: string; hostname: string; pid: number; heartbeat_at: Date }[]> {
    return this.db
      .selectFrom('instances')
      .select(['id', 'hostname', 'pid', 'heartbeat_at'])
      .orderBy('id')
      .execute();
  }
}
