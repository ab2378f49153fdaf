// Notifications (issue 24): channels, rules, and the outbox of deliveries. A delivery row is
// written in the transaction that ends its job (jobs.repository's transition), so an end is never
// told twice nor lost; instances claim due rows with FOR UPDATE SKIP LOCKED and a lease.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('notification_channels')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('webhook', 'slack', 'email')`))
    // webhook, slack: where to POST (a Slack URL is itself a credential); email: the SMTP server.
    .addColumn('url', 'text', (c) => c.notNull())
    // webhook: the HMAC key; email: the SMTP password. Never answered, never logged.
    .addColumn('secret', 'text')
    .addColumn('recipients', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('sender', 'text')
    .addColumn('created_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('notification_rules')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('owner_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('channel_id', 'uuid', (c) =>
      c.notNull().references('notification_channels.id').onDelete('cascade'),
    )
    // 'failed' | 'succeeded' | 'canceled' | 'interrupted' | 'recovered'
    .addColumn('outcomes', sql`text[]`, (c) => c.notNull())
    .addColumn('project', 'text')
    .addColumn('target', 'text')
    .addColumn('environment', 'text')
    .addColumn('schedule_id', 'uuid', (c) => c.references('schedules.id').onDelete('cascade'))
    .addColumn('mine', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('notification_deliveries')
    // Also the idempotency key the receiver sees.
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('channel_id', 'uuid', (c) =>
      c.notNull().references('notification_channels.id').onDelete('cascade'),
    )
    .addColumn('rule_id', 'uuid', (c) => c.references('notification_rules.id').onDelete('set null'))
    // Retention deletes a job's deliveries with it.
    .addColumn('job_id', 'uuid', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status IN ('pending', 'sending', 'sent', 'failed')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // While 'sending': the claiming instance's lease; past it, another instance takes the row over.
    .addColumn('lease_until', 'timestamptz')
    .addColumn('claimed_by', 'text')
    // Retried until then (a day after it was made, or after "send again").
    .addColumn('give_up_at', 'timestamptz', (c) =>
      c.notNull().defaultTo(sql`now() + interval '1 day'`),
    )
    .addColumn('sent_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // One message per channel per job end, however many rules send it there.
    .addUniqueConstraint('notification_deliveries_once', ['channel_id', 'job_id'])
    .execute();
  await sql`CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at)
            WHERE status IN ('pending', 'sending')`.execute(db);
  await sql`CREATE INDEX notification_deliveries_log ON notification_deliveries (created_at DESC, id DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX notification_deliveries_job ON notification_deliveries (job_id)`.execute(
    db,
  );
  // "recovered": the last earlier end of the same run (project, host, command); md5 because a
  // command may be longer than a btree entry can be.
  await sql`CREATE INDEX jobs_same_run ON jobs (md5(command), finished_at DESC) WHERE parent_id IS NULL`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS jobs_same_run`.execute(db);
  await db.schema.dropTable('notification_deliveries').execute();
  await db.schema.dropTable('notification_rules').execute();
  await db.schema.dropTable('notification_channels').execute();
}
