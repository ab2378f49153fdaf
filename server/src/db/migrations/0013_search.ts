// Search across every job's output (issue 25): the lines a user sees, in blocks of about 64 KiB
// with a trigram index (pg_trgm), so a literal or a regular expression finds its few blocks
// among gigabytes; and how far each job's output has been indexed. Both go with their job.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Trusted since PostgreSQL 13: a database owner may create it.
  await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
  await db.schema
    .createTable('search_blocks')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('job_id', 'uuid', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
    // Its job's: results come newest job first, a window of jobs at a time.
    .addColumn('job_created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('first_line', 'integer', (c) => c.notNull())
    // The lines' numbers when they are not first_line, first_line + 1, … (streams interleaved).
    .addColumn('line_nos', sql`integer[]`)
    // The lines as a user sees them, joined with \n.
    .addColumn('body', 'text', (c) => c.notNull())
    .execute();
  // lz4 where the server has it: blocks are read back at every search, and pglz is slow to undo.
  await sql`DO $$ BEGIN
              ALTER TABLE search_blocks ALTER COLUMN body SET COMPRESSION lz4;
            EXCEPTION WHEN OTHERS THEN NULL;
            END $$`.execute(db);
  await sql`CREATE INDEX search_blocks_trgm ON search_blocks USING gin (body gin_trgm_ops)`.execute(
    db,
  );
  await sql`CREATE INDEX search_blocks_newest ON search_blocks (job_created_at DESC, job_id DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX search_blocks_job ON search_blocks (job_id, id)`.execute(db);

  await db.schema
    .createTable('search_progress')
    .addColumn('job_id', 'uuid', (c) => c.primaryKey().references('jobs.id').onDelete('cascade'))
    // Events up to this seq are in search_blocks.
    .addColumn('seq', 'integer', (c) => c.notNull().defaultTo(0))
    // The lines still unfinished there (search/lines.ts LinesState).
    .addColumn('state', 'jsonb', (c) => c.notNull())
    // The job ended and all its output is in.
    .addColumn('done', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('search_progress').execute();
  await db.schema.dropTable('search_blocks').execute();
}
