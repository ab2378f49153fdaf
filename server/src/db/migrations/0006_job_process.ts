// Who each job's process group leader is (runners/leftovers.ts), so that after a crash of the
// server the next start can end what the job left running, and only that.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // {pid, start, boot, host}; null for jobs with no process of their own (groups) or from before.
  await db.schema.alterTable('jobs').addColumn('process', 'jsonb').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('jobs').dropColumn('process').execute();
}
