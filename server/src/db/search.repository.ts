// Search (migration 0013): the blocks of lines a user sees, and how far each job is indexed.
// Writing is the indexer's (one job at a time, its progress row locked, so two instances never
// index one job twice); reading is the search's, a window of jobs at a time, newest first.
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Block, LinesState } from '../search/lines.js';
import { JobEventsRepository } from './job-events.repository.js';
import type { Database } from './schema.js';

export interface PendingJob {
  id: string;
  created_at: Date;
}

/** A job's place in the newest-first order: results page by it. */
export interface JobPlace {
  createdAt: Date;
  id: string;
}

export interface Pattern {
  kind: 'literal' | 'regex';
  text: string;
  caseSensitive: boolean;
}

export interface SearchFilter {
  status?: string;
  type?: string;
  project?: string;
  host?: string;
  vm?: string;
  environment?: string;
  /** A user id (me), or a username. */
  userId?: string;
  username?: string;
  since?: Date;
  until?: Date;
  /** Not an admin: no ad-hoc output, no terminal but one's own (can(job.readOutput)). */
  readerId?: string;
}

export interface StoredBlock {
  id: string;
  job_id: string;
  first_line: number;
  line_nos: number[] | null;
  body: string;
}

/** A LIKE pattern for `text` anywhere: %, _ and \ taken literally. */
export const likeAnywhere = (text: string) => `%${text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;

function matches(p: Pattern): RawBuilder<boolean> {
  if (p.kind === 'regex')
    return p.caseSensitive ? sql<boolean>`b.body ~ ${p.text}` : sql<boolean>`b.body ~* ${p.text}`;
  const like = likeAnywhere(p.text);
  return p.caseSensitive ? sql<boolean>`b.body LIKE ${like}` : sql<boolean>`b.body ILIKE ${like}`;
}

/** Blocks of jobs older than `upper` (all when null). */
function below(upper: JobPlace | null): RawBuilder<boolean> {
  return upper
    ? sql<boolean>`(b.job_created_at, b.job_id) < (${upper.createdAt}, ${upper.id}::uuid)`
    : sql<boolean>`true`;
}

function filters(f: SearchFilter): RawBuilder<boolean> {
  const parts: RawBuilder<boolean>[] = [sql<boolean>`true`];
  if (f.status) parts.push(sql<boolean>`j.status = ${f.status}`);
  if (f.type) parts.push(sql<boolean>`j.type = ${f.type}`);
  if (f.project) parts.push(sql<boolean>`j.project = ${f.project}`);
  if (f.host) parts.push(sql<boolean>`j.host = ${f.host}`);
  if (f.vm) parts.push(sql<boolean>`j.vm = ${f.vm}`);
  if (f.environment) parts.push(sql<boolean>`j.environment = ${f.environment}`);
  if (f.userId) parts.push(sql<boolean>`j.requested_by = ${f.userId}::uuid`);
  if (f.username)
    parts.push(
      sql<boolean>`j.requested_by = (SELECT id FROM users WHERE username = ${f.username})`,
    );
  if (f.since) parts.push(sql<boolean>`b.job_created_at >= ${f.since}`);
  if (f.until) parts.push(sql<boolean>`b.job_created_at < ${f.until}`);
  if (f.readerId)
    parts.push(sql<boolean>`NOT (j.type = 'ssh' AND j.preset IS NULL AND j.target IS NULL)
      AND NOT (j.type = 'terminal' AND j.requested_by IS DISTINCT FROM ${f.readerId}::uuid)`);
  return sql<boolean>`${sql.join(parts, sql` AND `)}`;
}

export class SearchRepository {
  constructor(private readonly db: Kysely<Database>) {}

  // ---- the indexer's side

  /** The oldest job whose output is not all indexed yet (null: none). */
  async lowWater(): Promise<Date | null> {
    const row = await sql<{ at: Date | null }>`
      SELECT min(j.created_at) AS at FROM jobs j
      LEFT JOIN search_progress p ON p.job_id = j.id
      WHERE p.done IS NOT TRUE
    `.execute(this.db);
    return row.rows[0]?.at ?? null;
  }

  /**
   * Jobs created since `since` with output not indexed yet: ended ones (all of it), running
   * ones with new output whose last indexing is `runningEveryMs` old.
   */
  async pending(since: Date, limit: number, runningEveryMs: number): Promise<PendingJob[]> {
    const { rows } = await sql<PendingJob>`
      SELECT j.id, j.created_at FROM jobs j
      LEFT JOIN search_progress p ON p.job_id = j.id
      WHERE j.created_at >= ${since}
        AND (p.job_id IS NULL OR NOT p.done)
        AND (j.finished_at IS NOT NULL
             OR (j.last_seq > coalesce(p.seq, 0)
                 AND coalesce(p.updated_at, j.created_at)
                     < now() - ${runningEveryMs} * interval '1 millisecond'))
      ORDER BY j.created_at, j.id
      LIMIT ${limit}
    `.execute(this.db);
    return rows;
  }

  /** The oldest created_at among jobs since `since` not all indexed (null: none). */
  async oldestUndone(since: Date): Promise<Date | null> {
    const { rows } = await sql<{ at: Date | null }>`
      SELECT min(j.created_at) AS at FROM jobs j
      LEFT JOIN search_progress p ON p.job_id = j.id
      WHERE j.created_at >= ${since} AND p.done IS NOT TRUE
    `.execute(this.db);
    return rows[0]?.at ?? null;
  }

  /**
   * Runs `work` on one job's progress, locked: null when another instance holds it. `work` gets
   * the transaction, its progress and the job's events reader; what it writes commits together.
   */
  async withJob<T>(
    jobId: string,
    work: (ctx: {
      trx: Transaction<Database>;
      seq: number;
      state: LinesState;
      job: { created_at: Date; last_seq: number; ended: boolean };
      events: JobEventsRepository;
    }) => Promise<T>,
  ): Promise<T | null> {
    return this.db.transaction().execute(async (trx) => {
      await sql`INSERT INTO search_progress (job_id, state) VALUES (${jobId}::uuid, ${JSON.stringify({ lines: 0, open: {} })}::jsonb)
                ON CONFLICT (job_id) DO NOTHING`.execute(trx);
      const { rows } = await sql<{ seq: number; state: LinesState; done: boolean }>`
        SELECT seq, state, done FROM search_progress WHERE job_id = ${jobId}::uuid
        FOR UPDATE SKIP LOCKED
      `.execute(trx);
      const progress = rows[0];
      if (!progress || progress.done) return null;
      const job = await trx
        .selectFrom('jobs')
        .select(['created_at', 'last_seq', sql<boolean>`finished_at IS NOT NULL`.as('ended')])
        .where('id', '=', jobId)
        .executeTakeFirst();
      if (!job) return null;
      return work({
        trx,
        seq: progress.seq,
        state: progress.state,
        job,
        events: new JobEventsRepository(trx),
      });
    });
  }

  async addBlocks(
    trx: Transaction<Database>,
    jobId: string,
    createdAt: Date,
    blocks: readonly Block[],
  ): Promise<void> {
    if (blocks.length === 0) return;
    await trx
      .insertInto('search_blocks')
      .values(
        blocks.map((b) => ({
          job_id: jobId,
          job_created_at: createdAt,
          first_line: b.firstLine,
          line_nos: b.lineNos,
          body: b.body,
        })),
      )
      .execute();
  }

  async saveProgress(
    trx: Transaction<Database>,
    jobId: string,
    p: { seq: number; state: LinesState; done: boolean },
  ): Promise<void> {
    await trx
      .updateTable('search_progress')
      .set({ seq: p.seq, state: JSON.stringify(p.state), done: p.done, updated_at: sql`now()` })
      .where('job_id', '=', jobId)
      .execute();
  }

  // ---- the search's side

  /**
   * Jobs with a matching block below `upper` and at or above `lower`, newest first, at most
   * `limit`: the window's blocks read in order through the newest-first index, each checked (no
   * trigram bitmap of the whole table for a word most blocks hold). For small windows.
   */
  async jobsInWindow(
    p: Pattern,
    f: SearchFilter,
    window: { upper: JobPlace | null; lower: JobPlace },
    limit: number,
  ): Promise<JobPlace[]> {
    return this.db.transaction().execute(async (trx) => {
      // The window through its index, in order (whatever the statistics say of the table).
      await sql`SET LOCAL enable_bitmapscan = off`.execute(trx);
      await sql`SET LOCAL enable_seqscan = off`.execute(trx);
      // The window's blocks first, whatever the filters: jobs must not drive (a filter such as
      // status=failed would have every failed job's blocks read).
      const { rows } = await sql<{ job_id: string; job_created_at: Date }>`
        WITH hit AS MATERIALIZED (
          SELECT b.job_id, b.job_created_at FROM search_blocks b
          WHERE ${below(window.upper)}
            AND (b.job_created_at, b.job_id) >= (${window.lower.createdAt}, ${window.lower.id}::uuid)
            AND ${matches(p)}
        )
        SELECT DISTINCT b.job_created_at, b.job_id FROM hit b JOIN jobs j ON j.id = b.job_id
        WHERE ${filters(f)}
        ORDER BY b.job_created_at DESC, b.job_id DESC
        LIMIT ${limit}
      `.execute(trx);
      return rows.map((r) => ({ createdAt: r.job_created_at, id: r.job_id }));
    });
  }

  /**
   * Jobs with a matching block below `upper`, newest first, at most `limit`: the candidates come
   * from the trigram index alone (a bitmap scan; no reading of every block in order), so a rare
   * pattern costs its few blocks. Past `timeoutMs` it stops (a pattern too common for it).
   */
  async jobsByIndex(
    p: Pattern,
    f: SearchFilter,
    upper: JobPlace | null,
    limit: number,
    timeoutMs: number,
  ): Promise<JobPlace[]> {
    return this.db.transaction().execute(async (trx) => {
      await sql`SET LOCAL enable_seqscan = off`.execute(trx);
      await sql`SET LOCAL enable_indexscan = off`.execute(trx);
      await sql.raw(`SET LOCAL statement_timeout = ${Math.round(timeoutMs)}`).execute(trx);
      // The match alone picks the blocks (so the trigram index does, not the newest-first one).
      const { rows } = await sql<{ job_id: string; job_created_at: Date }>`
        WITH hit AS MATERIALIZED (
          SELECT b.job_id, b.job_created_at FROM search_blocks b WHERE ${matches(p)}
        )
        SELECT DISTINCT b.job_created_at, b.job_id FROM hit b JOIN jobs j ON j.id = b.job_id
        WHERE ${below(upper)} AND ${filters(f)}
        ORDER BY b.job_created_at DESC, b.job_id DESC
        LIMIT ${limit}
      `.execute(trx);
      return rows.map((r) => ({ createdAt: r.job_created_at, id: r.job_id }));
    });
  }

  /** The place of the `count`-th newest job below `upper` (null: there are fewer). */
  async placeBelow(upper: JobPlace | null, count: number): Promise<JobPlace | null> {
    const under = upper
      ? sql<boolean>`(created_at, id) < (${upper.createdAt}, ${upper.id}::uuid)`
      : sql<boolean>`true`;
    const { rows } = await sql<{ created_at: Date; id: string }>`
      SELECT created_at, id FROM jobs WHERE ${under}
      ORDER BY created_at DESC, id DESC OFFSET ${count - 1} LIMIT 1
    `.execute(this.db);
    const r = rows[0];
    return r ? { createdAt: r.created_at, id: r.id } : null;
  }

  /**
   * A job's first `count` matching blocks, in the order their lines ended. The first `scan`
   * blocks are read in order (a common word is in them); when none of those matches, the rest
   * come from the trigram index (a rare one deep in a long job).
   */
  async matchingBlocks(
    p: Pattern,
    jobId: string,
    count: number,
    scan: number,
  ): Promise<StoredBlock[]> {
    const { rows } = await sql<StoredBlock>`
      SELECT b.id, b.job_id, b.first_line, b.line_nos, b.body FROM (
        SELECT * FROM search_blocks WHERE job_id = ${jobId}::uuid ORDER BY id LIMIT ${scan}
      ) b
      WHERE ${matches(p)} ORDER BY b.id LIMIT ${count}
    `.execute(this.db);
    if (rows.length > 0) return rows;
    return this.db.transaction().execute(async (trx) => {
      await sql`SET LOCAL enable_indexscan = off`.execute(trx);
      const deeper = await sql<StoredBlock>`
        SELECT b.id, b.job_id, b.first_line, b.line_nos, b.body FROM search_blocks b
        WHERE b.job_id = ${jobId}::uuid AND ${matches(p)}
        ORDER BY b.id LIMIT ${count}
      `.execute(trx);
      return deeper.rows;
    });
  }

  /** The block just before or after `blockId` in its job (a line of context at an edge). */
  async neighbour(
    jobId: string,
    blockId: string,
    side: 'before' | 'after',
  ): Promise<StoredBlock | null> {
    const row = await this.db
      .selectFrom('search_blocks')
      .select(['id', 'job_id', 'first_line', 'line_nos', 'body'])
      .where('job_id', '=', jobId)
      .where('id', side === 'before' ? '<' : '>', blockId)
      .orderBy('id', side === 'before' ? 'desc' : 'asc')
      .limit(1)
      .executeTakeFirst();
    return row ?? null;
  }
}
