// Triggers (issue 24): a saved run that other systems start with a URL and a secret of its own.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('triggers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull())
    // The protocol's ScheduleRun: {kind, request}.
    .addColumn('run', 'jsonb', (c) => c.notNull())
    .addColumn('owner_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    // sha256 of the secret, which is shown once.
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('triggers').execute();
}
