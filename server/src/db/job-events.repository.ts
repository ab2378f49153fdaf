import { sql, type Kysely } from 'kysely';
import { advanceLinesBy, type JobEvent, type LineState } from '@vmo/protocol';
import { AppError } from '../errors.js';
import { bytesOf, byteEvent, countNewlines, sizeOf, withFields } from '../output/bytes.js';
import { PREPARED } from './client.js';
import type { Database } from './schema.js';

/** An event as stored: with where it leaves the job's lines (jobs/line-marks.ts), when known. */
export interface StoredEvent extends JobEvent {
  lineEnd?: number | null;
  openStreams?: number | null;
}

/**
 * A chunk this long goes to Postgres as a statement parameter of its own (see appendMany). The
 * group commit's 2,000 events per statement keep that far below Postgres's 65,535 parameters.
 */
const OWN_PARAMETER_BYTES = 16 * 1024;

/** Pages of stored events stop once they hold this many bytes (see `after`). */
export const EVENTS_PAGE_BYTES = 8 * 1024 * 1024;

/** An event of one of several jobs read together (`afterMany`). */
export interface SourcedEvent extends JobEvent {
  /** The job that wrote it. */
  source: string;
}

/** Where reading stopped: each job's seq held, and whether more may follow. */
export interface MergedPage {
  events: SourcedEvent[];
  /** Some job's page was full: read again after these. A short page is the end, for now. */
  more: boolean;
}

/**
 * Whether more may follow a page of one job: it was full by count, or it may have been cut by
 * size (its bytes, or for a row stored as text, at most 3 bytes per UTF-16 unit). A short, small
 * page is the end.
 */
function mayContinue(page: readonly JobEvent[], limit: number, maxBytes: number): boolean {
  if (page.length >= limit) return true;
  let bytes = 0;
  for (const e of page) bytes += 'data' in e ? sizeOf(e) : e.chunk.length * 3;
  return bytes >= maxBytes;
}

export class JobEventsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** One statement: the events and the job's last_seq and output_bytes (appendMany of one job). */
  append(jobId: string, events: StoredEvent[], addBytes: number): Promise<void> {
    return this.appendMany([{ jobId, events, addBytes }]);
  }

  /**
   * Several jobs' batches in one statement (group commit): events, and each job's last_seq and
   * output_bytes. An event's output is stored as its bytes (`chunk_bin`; `chunk` is left empty),
   * the text derived when read (output/bytes.ts). Small chunks travel as arrays (unnest: one
   * parameter per column, however many events); a large chunk is a parameter of its own, sent as
   * binary, because an array literal would make both sides escape and parse every byte.
   */
  async appendMany(
    batches: { jobId: string; events: StoredEvent[]; addBytes: number }[],
  ): Promise<void> {
    const all = batches.flatMap((b) =>
      b.events.map((e) => ({ jobId: b.jobId, e, data: bytesOf(e) })),
    );
    const small = all.filter(({ data }) => data.length < OWN_PARAMETER_BYTES);
    const large = all.filter(({ data }) => data.length >= OWN_PARAMETER_BYTES);
    const columns = sql`job_events (job_id, seq, ts, stream, chunk, chunk_bin, line_end, open_streams)`;
    const parts = [];
    if (small.length)
      parts.push(sql`small as (
        insert into ${columns}
        select e.job_id, e.seq, e.ts, e.stream, '', e.bin, e.line_end, e.open_streams
        from unnest(
          ${small.map((x) => x.jobId)}::uuid[], ${small.map((x) => x.e.seq)}::int[],
          ${small.map((x) => new Date(x.e.ts))}::timestamptz[], ${small.map((x) => x.e.stream)}::text[],
          ${small.map((x) => x.data)}::bytea[],
          ${small.map((x) => x.e.lineEnd ?? null)}::int[], ${small.map((x) => x.e.openStreams ?? null)}::smallint[]
        ) as e(job_id, seq, ts, stream, bin, line_end, open_streams)
        returning 1
      )`);
    if (large.length) {
      const rows = large.map(
        ({ jobId, e, data }) => sql`(${jobId}::uuid, ${e.seq}::int, ${new Date(e.ts)}::timestamptz,
          ${e.stream}, '', ${data}::bytea, ${e.lineEnd ?? null}::int, ${e.openStreams ?? null}::smallint)`,
      );
      parts.push(sql`large as (insert into ${columns} values ${sql.join(rows)} returning 1)`);
    }
    // Each job's range of seqs and bytes (two batches of one job may share a statement).
    parts.push(sql`totals as (
      select id, min(first) as first, max(last) as last, sum(bytes) as bytes
      from unnest(
        ${batches.map((b) => b.jobId)}::uuid[], ${batches.map((b) => b.events[0]?.seq ?? null)}::int[],
        ${batches.map((b) => b.events.at(-1)?.seq ?? null)}::int[], ${batches.map((b) => b.addBytes)}::bigint[]
      ) as u(id, first, last, bytes)
      group by id
    )`);
    // The inserts run first, then the jobs' rows are locked in id order (so two statements with
    // batches of the same jobs never deadlock), then updated: a row is locked only for the end of
    // the statement, and another statement's batch of the same job inserts meanwhile.
    const inserted = [small.length ? 'small' : null, large.length ? 'large' : null].filter(
      (t): t is string => t !== null,
    );
    parts.push(sql`locked as (
      select id from jobs
      where id in (select id from totals)
        ${sql.join(
          inserted.map((t) => sql`and (select count(*) from ${sql.table(t)}) >= 0`),
          sql` `,
        )}
      order by id
      for update
    )`);
    // The usual batch follows the last one committed with nothing ahead of it: last_seq moves to
    // its end without calling vmo_seq_advance (a SQL function with a plan of its own each call).
    // Without a large chunk the text is the same for any number of jobs and events: prepared.
    const next = sql`isempty(jobs.seq_ahead) and u.first = jobs.last_seq + 1`;
    const advance = sql`vmo_seq_advance(jobs.last_seq, jobs.seq_ahead, u.first, u.last)`;
    await sql`${large.length ? sql`` : PREPARED}
      with ${sql.join(parts)}
      update jobs set
        last_seq = case when ${next} then u.last else (${advance}).new_last end,
        seq_ahead = case when ${next} then jobs.seq_ahead else (${advance}).new_ahead end,
        output_bytes = jobs.output_bytes + u.bytes
      from totals u
      where jobs.id = u.id and (select count(*) from locked) >= 0
    `.execute(this.db);
  }

  async stored(batch: { jobId: string; events: JobEvent[] }): Promise<boolean> {
    const first = batch.events[0]?.seq;
    const last = batch.events.at(-1)?.seq;
    if (first === undefined || last === undefined) return true;
    const row = await this.db
      .selectFrom('job_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('job_id', '=', batch.jobId)
      .where('seq', '>=', first)
      .where('seq', '<=', last)
      .executeTakeFirstOrThrow();
    return Number(row.n) === batch.events.length;
  }

  /**
   * Up to `limit` events after `afterSeq`, in seq order, cut once they hold `maxBytes` (always at
   * least one): a page of a job that wrote 1 MiB events stays a few MiB in memory, not a GiB.
   * The sizes come from the stored values' headers (octet_length does not decompress them).
   */
  async after(
    jobId: string,
    afterSeq: number,
    limit: number,
    maxBytes = EVENTS_PAGE_BYTES,
  ): Promise<JobEvent[]> {
    const { rows } = await sql<EventRow>`
      select seq, stream, chunk, chunk_bin, ts from (
        select seq, stream, chunk, chunk_bin, ts,
          sum(octet_length(chunk) + coalesce(octet_length(chunk_bin), 0)) over (order by seq)
            - octet_length(chunk) - coalesce(octet_length(chunk_bin), 0) as before
        from job_events
        where job_id = ${jobId}::uuid and seq > ${afterSeq}
          and seq <= (select last_seq from jobs where id = ${jobId}::uuid)
        order by seq
        limit ${limit}
      ) page
      where before < ${maxBytes}
      order by seq
    `.execute(this.db);
    return rows.map(toEvent);
  }

  /**
   * The events of several jobs after the seq held of each, in the order they were committed
   * (job_events.id): a fan-out's output merged. Each job gives up to `limit` events (cut at its
   * share of `maxBytes`); where one job's page was full, nothing committed after its last event
   * is returned yet, so the merge never skips ahead of what it has not read.
   */
  async afterMany(
    cursors: readonly { jobId: string; afterSeq: number }[],
    limit: number,
    maxBytes = EVENTS_PAGE_BYTES,
  ): Promise<MergedPage> {
    if (cursors.length === 1) {
      const { jobId, afterSeq } = cursors[0]!;
      const events = await this.after(jobId, afterSeq, limit, maxBytes);
      return {
        events: events.map((e) => withFields(e, { source: jobId })),
        more: mayContinue(events, limit, maxBytes),
      };
    }
    if (cursors.length === 0) return { events: [], more: false };
    const share = Math.max(256 * 1024, Math.floor(maxBytes / cursors.length));
    const { rows } = await sql<EventRow & { job_id: string; id: string }>`
      select c.job_id, p.id, p.seq, p.stream, p.chunk, p.chunk_bin, p.ts
      from unnest(${cursors.map((c) => c.jobId)}::uuid[], ${cursors.map((c) => c.afterSeq)}::int[])
        as c(job_id, after)
      cross join lateral (
        select id, seq, stream, chunk, chunk_bin, ts from (
          select id, seq, stream, chunk, chunk_bin, ts,
            sum(octet_length(chunk) + coalesce(octet_length(chunk_bin), 0)) over (order by seq)
              - octet_length(chunk) - coalesce(octet_length(chunk_bin), 0) as before
          from job_events
          where job_id = c.job_id and seq > c.after
            and seq <= (select last_seq from jobs where id = c.job_id)
          order by seq
          limit ${limit}
        ) w
        where before < ${share}
      ) p
      order by p.id
    `.execute(this.db);
    const read = rows.map((r) => ({
      id: Number(r.id),
      event: withFields(toEvent(r), { source: r.job_id }),
    }));
    const perJob = new Map<string, { events: JobEvent[]; lastId: number }>();
    for (const { id, event } of read) {
      const job = perJob.get(event.source) ?? { events: [], lastId: 0 };
      job.events.push(event);
      job.lastId = id;
      perJob.set(event.source, job);
    }
    // Past the last event of a full page, an unread event of that job may come first: stop there.
    let horizon = Infinity;
    for (const job of perJob.values())
      if (mayContinue(job.events, limit, share)) horizon = Math.min(horizon, job.lastId);
    const events = read.filter((r) => r.id <= horizon).map((r) => r.event);
    return { events, more: horizon !== Infinity };
  }

  /** Where the job's last stored event left its lines: fresh for none, null if it has no marks. */
  lineState(jobId: string): Promise<LineState | null> {
    return this.stateBefore(jobId, null);
  }

  /** Where the lines stood after the last event before `seq` (any seq when null); see lineState. */
  private async stateBefore(jobId: string, seq: number | null): Promise<LineState | null> {
    let q = this.db
      .selectFrom('job_events')
      .select(['line_end', 'open_streams'])
      .where('job_id', '=', jobId);
    if (seq !== null) q = q.where('seq', '<', seq);
    q = q.where('seq', '<=', (eb) =>
      eb.selectFrom('jobs').select('last_seq').where('id', '=', jobId),
    );
    const row = await q.orderBy('seq', 'desc').limit(1).executeTakeFirst();
    if (!row) return { lines: 0, open: 0 };
    return row.line_end === null || row.open_streams === null
      ? null
      : { lines: row.line_end, open: row.open_streams };
  }

  /**
   * The last events before `beforeSeq` (up to `limit`), in seq order, with where the job's lines
   * stood just before the first of them (null when the events predate line marks). With `cut`, the
   * first `cut` bytes of event `beforeSeq` end the page. The page stops at an event once it holds
   * `maxBytes`; an event that would take it past them is cut to its lines that fit (from just after
   * a line feed; at least its last line), and `cut` then says where its part here starts.
   */
  async before(
    jobId: string,
    beforeSeq: number,
    limit: number,
    maxBytes = EVENTS_PAGE_BYTES,
    cut?: number,
  ): Promise<{ events: JobEvent[]; start: LineState | null; cut: number | null }> {
    const size = sql<number>`(octet_length(chunk) + coalesce(octet_length(chunk_bin), 0))`;
    // With a cut, event beforeSeq counts only its bytes before it.
    const counted =
      cut === undefined
        ? size
        : sql<number>`case when seq = ${beforeSeq} then ${cut}::bigint else ${size} end`;
    const { rows } = await sql<EventRow & { line_end: number | null }>`
      select seq, stream, chunk, chunk_bin, ts, line_end from (
        select seq, stream, chunk, chunk_bin, ts, line_end,
          sum(${counted}) over (order by seq desc) - ${counted} as after
        from job_events
        where job_id = ${jobId}::uuid and seq ${cut === undefined ? sql`<` : sql`<=`} ${beforeSeq}
          and seq <= (select last_seq from jobs where id = ${jobId}::uuid)
        order by seq desc
        limit ${limit}
      ) page
      where after < ${maxBytes}
      order by seq
    `.execute(this.db);
    const events = rows.map(toEvent);
    const last = events.at(-1);
    if (cut !== undefined && last?.seq === beforeSeq) {
      const data = bytesOf(last);
      if (cut >= data.length || data[cut - 1] !== 10)
        throw new AppError('VALIDATION', `cut ${cut} is not a line's start in event ${beforeSeq}`);
      events[events.length - 1] = byteEvent(last.seq, last.stream, data.subarray(0, cut), last.ts);
    } else if (cut !== undefined) {
      throw new AppError('VALIDATION', `no event ${beforeSeq} to cut`);
    }
    const first = events[0];
    if (!first) return { events: [], start: { lines: 0, open: 0 }, cut: null }; // nothing before it
    const known = rows.every((r) => r.line_end !== null);
    const start = known ? await this.stateBefore(jobId, first.seq) : null;
    // The first event past the budget: only its last lines that fit.
    let rest = 0;
    for (const e of events.slice(1)) rest += sizeOf(e);
    const data = bytesOf(first);
    const from =
      rest + data.length > maxBytes ? lineStartNear(data, data.length - (maxBytes - rest)) : 0;
    // Without line marks the page is read from the output's start anyway: never cut.
    if (from === 0 || !start) return { events, start, cut: null };
    events[0] = byteEvent(first.seq, first.stream, data.subarray(from), first.ts);
    const lines = countNewlines(data.subarray(0, from));
    return { events, start: advanceLinesBy(start, first.stream, lines, false), cut: from };
  }
}

/**
 * Where a line starts at or after byte `at` of `data` (just after a line feed), or, when no line
 * starts there, the last one before it; 0 when no line but the first does.
 */
function lineStartNear(data: Buffer, at: number): number {
  const next = at <= 0 ? -1 : data.indexOf(10, at - 1);
  if (next !== -1 && next + 1 < data.length) return next + 1;
  const prev = data.lastIndexOf(10, Math.max(0, Math.min(at, data.length - 1) - 1));
  return prev === -1 ? 0 : prev + 1;
}

interface EventRow {
  seq: number;
  stream: JobEvent['stream'];
  chunk: string;
  chunk_bin: Buffer | null;
  ts: Date;
}

/** A stored event: its text derived from its bytes when first read (rows from before bytes hold text). */
function toEvent(r: EventRow): JobEvent {
  if (r.chunk_bin) return byteEvent(r.seq, r.stream, r.chunk_bin, r.ts.getTime());
  return { seq: r.seq, stream: r.stream, chunk: r.chunk, ts: r.ts.getTime() };
}
