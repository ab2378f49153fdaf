// Where each event leaves a job's lines, so the log viewer can open at the end of a long job and
// number its lines without reading what came before (see jobs/line-marks.ts). Events stored before
// this have none (NULL): such a job is shown from its start, as before.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('job_events')
    // Lines the job's output had started once this event was written (all streams).
    .addColumn('line_end', 'integer')
    // Bit per stream (stdout 1, stderr 2, system 4, pty 8) whose last line is still unfinished.
    .addColumn('open_streams', 'smallint')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('job_events')
    .dropColumn('line_end')
    .dropColumn('open_streams')
    .execute();
}
