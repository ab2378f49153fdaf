// Several instances on one database (cluster.enabled): who is alive, and where Socket.io's
// postgres adapter keeps broadcasts too big for one NOTIFY.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // One row per running instance; heartbeat_at is the database's clock, so instances never compare
  // their own clocks. An instance whose heartbeat stopped loses its unfinished jobs to the others.
  await db.schema
    .createTable('instances')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('hostname', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('heartbeat_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Recovery looks for unfinished jobs by instance.
  await db.schema
    .createIndex('jobs_unfinished_instance_idx')
    .on('jobs')
    .column('instance_id')
    .where(sql<boolean>`status in ('queued', 'running')`)
    .execute();

  // The layout @socket.io/postgres-adapter expects (its README), for payloads over 8000 bytes.
  await db.schema
    .createTable('socket_io_attachments')
    .addColumn('id', 'bigserial', (c) => c.unique())
    .addColumn('created_at', 'timestamptz', (c) => c.defaultTo(sql`now()`))
    .addColumn('payload', 'bytea')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('socket_io_attachments').ifExists().execute();
  await db.schema.dropIndex('jobs_unfinished_instance_idx').ifExists().execute();
  await db.schema.dropTable('instances').ifExists().execute();
}
