import { sql, type Kysely } from 'kysely';
import type { JobEvent } from '@vmo/protocol';
import type { Database } from './schema.js';

const hasNul = (s: string) => s.includes('\0');

/** Pages of stored events stop once they hold this many bytes (see `after`). */
export const EVENTS_PAGE_BYTES = 8 * 1024 * 1024;

export class JobEventsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** One statement: the events (multi-row via unnest) and the job's last_seq and output_bytes. */
  async append(jobId: string, events: JobEvent[], addBytes: number): Promise<void> {
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
    await sql`
      with inserted as (
        insert into job_events (job_id, seq, ts, stream, chunk, chunk_bin)
        select ${jobId}::uuid, e.seq, e.ts, e.stream, e.chunk, e.bin
        from unnest(${seqs}::int[], ${ts}::timestamptz[], ${streams}::text[], ${chunks}::text[], ${bins}::bytea[])
          as e(seq, ts, stream, chunk, bin)
      )
      update jobs set last_seq = ${last}, output_bytes = output_bytes + ${addBytes} where id = ${jobId}::uuid
    `.execute(this.db);
  }

  /** Several jobs' batches in one statement (group commit): events, and each job's last_seq and output_bytes. */
  async appendMany(
    batches: { jobId: string; events: JobEvent[]; addBytes: number }[],
  ): Promise<void> {
    const events = batches.flatMap((b) => b.events.map((e) => ({ jobId: b.jobId, e })));
    const jobIds = batches.map((b) => b.jobId);
    const lastSeqs = batches.map((b) => b.events.at(-1)?.seq ?? null);
    const bytes = batches.map((b) => b.addBytes);
    await sql`
      with inserted as (
        insert into job_events (job_id, seq, ts, stream, chunk, chunk_bin)
        select e.job_id, e.seq, e.ts, e.stream, e.chunk, e.bin
        from unnest(
          ${events.map((x) => x.jobId)}::uuid[], ${events.map((x) => x.e.seq)}::int[],
          ${events.map((x) => new Date(x.e.ts))}::timestamptz[], ${events.map((x) => x.e.stream)}::text[],
          ${events.map((x) => (hasNul(x.e.chunk) ? '' : x.e.chunk))}::text[],
          ${events.map((x) => (hasNul(x.e.chunk) ? Buffer.from(x.e.chunk, 'utf8') : null))}::bytea[]
        ) as e(job_id, seq, ts, stream, chunk, bin)
      )
      update jobs set last_seq = coalesce(u.last_seq, jobs.last_seq), output_bytes = jobs.output_bytes + u.bytes
      from unnest(${jobIds}::uuid[], ${lastSeqs}::int[], ${bytes}::bigint[]) as u(id, last_seq, bytes)
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
    const { rows } = await sql<{
      seq: number;
      stream: JobEvent['stream'];
      chunk: string;
      chunk_bin: Buffer | null;
      ts: Date;
    }>`
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
    return rows.map((r) => ({
      seq: r.seq,
      stream: r.stream,
      chunk: r.chunk_bin ? r.chunk_bin.toString('utf8') : r.chunk,
      ts: r.ts.getTime(),
    }));
  }
}
