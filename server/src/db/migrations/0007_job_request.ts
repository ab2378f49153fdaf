// The request each job was started with, as data (protocol StoredRequest), so that a re-run (and
// later a schedule or a trigger) starts from it instead of reading the command line shown.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Null for jobs stored before 0007: their re-run is built from their columns (jobs/requests/stored.ts).
  await db.schema.alterTable('jobs').addColumn('request', 'jsonb').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('jobs').dropColumn('request').execute();
}
