// More than one batch of a job's output in flight (issue 26): batches commit in any order, and
// `jobs.last_seq` only ever moves over a contiguous run of committed seqs. What committed ahead of
// a batch still in flight waits in `jobs.seq_ahead` until that batch fills the gap; readers never
// read past last_seq, and recovery drops what lies beyond it.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE jobs ADD COLUMN seq_ahead int4multirange NOT NULL DEFAULT '{}'`.execute(db);
  // Where a committed batch [first, last] leaves a job's last_seq and seq_ahead. Called from the
  // commit's UPDATE with the row as that UPDATE finds it (a concurrent commit of the same job waits
  // for the row lock and then sees the other's values), so two batches that commit in either
  // order leave the same result.
  await sql`
    CREATE FUNCTION vmo_seq_advance(last_seq int, ahead int4multirange, first int, last int,
                                    OUT new_last int, OUT new_ahead int4multirange)
    LANGUAGE sql IMMUTABLE AS $$
      WITH merged AS (
        SELECT CASE WHEN first IS NULL THEN ahead
                    ELSE ahead + int4multirange(int4range(first, last, '[]')) END AS m
      ), run AS (
        SELECT (SELECT upper(r) - 1 FROM unnest(m) AS r WHERE r @> (last_seq + 1)) AS upto, m
        FROM merged
      )
      SELECT coalesce(upto, last_seq),
             m - int4multirange(int4range(NULL, coalesce(upto, last_seq), '[]'))
      FROM run
    $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION vmo_seq_advance(int, int4multirange, int, int)`.execute(db);
  await sql`ALTER TABLE jobs DROP COLUMN seq_ahead`.execute(db);
}
