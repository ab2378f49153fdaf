import { sql, type Kysely } from 'kysely';
import type { JobEvent, LineState } from '@vmo/protocol';
import type { StoredEvent } from '../jobs/output.pipeline.js';
import type { Database } from './schema.js';

const hasNul = (s: string) => s.includes('\0');

/** Pages of stored events stop once they hold this many bytes (see `after`). */
export const EVENTS_PAGE_BYTES = 8 * 1024 * 1024;

export class JobEventsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** One statement: the events (multi-row via unnest) and the job's last_seq and output_bytes. */
  async append(jobId: string, events: StoredEvent[], addBytes: number): Promise<void> {
    const last = events.at(-1)?.seq;
    if (last === undefined) {
      if (addBytes)
        await this.db
          .updateTable('jobs')
          .set({ output_bytes: sql`output_bytes + ${addBytes}` })
          .where('id', '=', jobId)
          .execute();
      return;
    }
    const seqs = events.map((e) => e.seq);
    const ts = events.map((e) => new Date(e.ts));
    const streams = events.map((e) => e.stream);
    const chunks = events.map((e) => (hasNul(e.chunk) ? '' : e.chunk));
    const bins = events.map((e) => (hasNul(e.chunk) ? Buffer.from(e.chunk, 'utf8') : null));
    const lineEnds = events.map((e) => e.lineEnd ?? null);
    const opens = events.map((e) => e.openStreams ?? null);
    await sql`
      with inserted as (
        insert into job_events (job_id, seq, ts, stream, chunk, chunk_bin, line_end, open_streams)
        select ${jobId}::uuid, e.seq, e.ts, e.stream, e.chunk, e.bin, e.line_end, e.open_streams
        from unnest(${seqs}::int[], ${ts}::timestamptz[], ${streams}::text[], ${chunks}::text[],
          ${bins}::bytea[], ${lineEnds}::int[], ${opens}::smallint[])
          as e(seq, ts, stream, chunk, bin, line_end, open_streams)
      )
      update jobs set last_seq = ${last}, output_bytes = output_bytes + ${addBytes} where id = ${jobId}::uuid
    `.execute(this.db);
  }

  /**
   * Several jobs' batches in one statement (group commit): events, and each job's last_seq and
   * output_bytes. Each chunk is a parameter of its own: an array literal (unnest) would make both
   * sides escape and parse every byte of output once more.
   */
  async appendMany(
    batches: { jobId: string; events: StoredEvent[]; addBytes: number }[],
  ): Promise<void> {
    const rows = batches.flatMap((b) =>
      b.events.map((e) => {
        const nul = hasNul(e.chunk);
        return sql`(${b.jobId}::uuid, ${e.seq}::int, ${new Date(e.ts)}::timestamptz, ${e.stream},
          ${nul ? '' : e.chunk}, ${nul ? Buffer.from(e.chunk, 'utf8') : null}::bytea,
          ${e.lineEnd ?? null}::int, ${e.openStreams ?? null}::smallint)`;
      }),
    );
    const jobIds = batches.map((b) => b.jobId);
    const lastSeqs = batches.map((b) => b.events.at(-1)?.seq ?? null);
    const bytes = batches.map((b) => b.addBytes);
    const insert = rows.length
      ? sql`inserted as (
          insert into job_events (job_id, seq, ts, stream, chunk, chunk_bin, line_end, open_streams)
          values ${sql.join(rows)}
        ),`
      : sql``;
    await sql`
      with ${insert} totals as (
        select * from unnest(${jobIds}::uuid[], ${lastSeqs}::int[], ${bytes}::bigint[]) as u(id, last_seq, bytes)
      )
      update jobs set last_seq = coalesce(u.last_seq, jobs.last_seq), output_bytes = jobs.output_bytes + u.bytes
      from totals u
      where jobs.id = u.id
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
        order by seq
        limit ${limit}
      ) page
      where before < ${maxBytes}
      order by seq
    `.execute(this.db);
    return rows.map(toEvent);
  }

  /** Where the job's last stored event left its lines: fresh for none, null if it has no marks. */
  async lineState(jobId: string): Promise<LineState | null> {
    const row = await this.db
      .selectFrom('job_events')
      .select(['line_end', 'open_streams'])
      .where('job_id', '=', jobId)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!row) return { lines: 0, open: 0 };
    return row.line_end === null || row.open_streams === null
      ? null
      : { lines: row.line_end, open: row.open_streams };
  }

  /**
   * The last events before `beforeSeq` (up to `limit`, cut once they hold `maxBytes`, always at
   * least one), in seq order, with where the job's lines stood just before the first of them
   * (null when the events predate line marks).
   */
  async before(
    jobId: string,
    beforeSeq: number,
    limit: number,
    maxBytes = EVENTS_PAGE_BYTES,
  ): Promise<{ events: JobEvent[]; start: LineState | null }> {
    const { rows } = await sql<EventRow & { line_end: number | null }>`
      select seq, stream, chunk, chunk_bin, ts, line_end from (
        select seq, stream, chunk, chunk_bin, ts, line_end,
          sum(octet_length(chunk) + coalesce(octet_length(chunk_bin), 0)) over (order by seq desc)
            - octet_length(chunk) - coalesce(octet_length(chunk_bin), 0) as after
        from job_events
        where job_id = ${jobId}::uuid and seq < ${beforeSeq}
        order by seq desc
        limit ${limit}
      ) page
      where after < ${maxBytes}
      order by seq
    `.execute(this.db);
    const first = rows[0];
    if (!first) return { events: [], start: { lines: 0, open: 0 } }; // nothing before it
    const prev = await this.db
      .selectFrom('job_events')
      .select(['line_end', 'open_streams'])
      .where('job_id', '=', jobId)
      .where('seq', '<', first.seq)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const known = rows.every((r) => r.line_end !== null);
    const start: LineState | null = !prev
      ? { lines: 0, open: 0 }
      : prev.line_end === null || prev.open_streams === null
        ? null
        : { lines: prev.line_end, open: prev.open_streams };
    return { events: rows.map(toEvent), start: known ? start : null };
  }
}

interface EventRow {
  seq: number;
  stream: JobEvent['stream'];
  chunk: string;
  chunk_bin: Buffer | null;
  ts: Date;
}

function toEvent(r: EventRow): JobEvent {
  return {
    seq: r.seq,
    stream: r.stream,
    chunk: r.chunk_bin ? r.chunk_bin.toString('utf8') : r.chunk,
    ts: r.ts.getTime(),
  };
}
