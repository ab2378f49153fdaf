// Schedules (issue 23): what runs when, and one row per fire, unique per (schedule, due time), so
// that several instances on one database start each fire once. Jobs say what started them.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('schedules')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('cron', 'text')
    .addColumn('every_seconds', 'integer')
    .addColumn('timezone', 'text', (c) => c.notNull())
    // Intervals count from here.
    .addColumn('anchor', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // The protocol's ScheduleRun: {kind, request}, the request as a start route takes it.
    .addColumn('run', 'jsonb', (c) => c.notNull())
    .addColumn('overlap', 'text', (c) =>
      c.notNull().check(sql`overlap in ('skip', 'queue', 'allow')`),
    )
    .addColumn('missed', 'text', (c) => c.notNull().check(sql`missed in ('skip', 'once')`))
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('owner_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // The next time it is due; null while paused. Instances claim what is due by this.
    .addColumn('next_fire_at', 'timestamptz')
    .addCheckConstraint('schedules_when', sql`(cron is null) <> (every_seconds is null)`)
    .execute();
  await db.schema
    .createIndex('schedules_due_idx')
    .on('schedules')
    .column('next_fire_at')
    .where(sql.ref('next_fire_at'), 'is not', null)
    .execute();

  await db.schema
    .createTable('schedule_fires')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('schedule_id', 'uuid', (c) =>
      c.notNull().references('schedules.id').onDelete('cascade'),
    )
    // When it was due (for a "run now", when it was asked for).
    .addColumn('fire_at', 'timestamptz', (c) => c.notNull())
    // claimed (an instance is starting it) → started | skipped; waiting: queued behind the last run.
    .addColumn('outcome', 'text', (c) =>
      c.notNull().check(sql`outcome in ('claimed', 'waiting', 'started', 'skipped')`),
    )
    .addColumn('reason', 'text')
    .addColumn('job_id', 'uuid', (c) => c.references('jobs.id').onDelete('set null'))
    .addColumn('instance_id', 'text')
    .addColumn('manual', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Each due time of a schedule is fired once, whichever instance claims it.
  await sql`create unique index schedule_fires_once on schedule_fires (schedule_id, fire_at) where not manual`.execute(
    db,
  );
  await db.schema
    .createIndex('schedule_fires_open_idx')
    .on('schedule_fires')
    .columns(['outcome', 'fire_at'])
    .where(sql.ref('outcome'), 'in', ['claimed', 'waiting'])
    .execute();
  await db.schema
    .createIndex('schedule_fires_history_idx')
    .on('schedule_fires')
    .columns(['schedule_id', 'fire_at'])
    .execute();

  await db.schema
    .alterTable('jobs')
    .addColumn('trigger_kind', 'text', (c) =>
      c
        .notNull()
        .defaultTo('manual')
        .check(sql`trigger_kind in ('manual', 'rerun', 'schedule', 'trigger')`),
    )
    .addColumn('trigger_id', 'uuid')
    // The schedule fire that started it: a fire whose instance died after starting the job is
    // recognised as started, not started again.
    .addColumn('schedule_fire_id', 'bigint')
    .execute();
  await db.schema
    .createIndex('jobs_trigger_idx')
    .on('jobs')
    .columns(['trigger_id', 'created_at'])
    .where(sql.ref('trigger_id'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('jobs_trigger_idx').execute();
  await db.schema
    .alterTable('jobs')
    .dropColumn('schedule_fire_id')
    .dropColumn('trigger_id')
    .dropColumn('trigger_kind')
    .execute();
  await db.schema.dropTable('schedule_fires').execute();
  await db.schema.dropTable('schedules').execute();
}
