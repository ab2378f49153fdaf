// The read side of jobs: one job, the history page, stored events, the whole log.
import type {
  EventPage,
  EventsQuery,
  Job,
  JobPage,
  JobsQuery,
  JobWithChildren,
  ProjectStats,
  TailPage,
  TailQuery,
  User,
} from '@vmo/protocol';
import { FINAL_STATUSES, STATS_RUNS, streamsIn } from '@vmo/protocol';
import type { JobEventsRepository } from '../db/job-events.repository.js';
import { decodeCursor, toJob, type JobRow, type JobsRepository } from '../db/jobs.repository.js';
import { AppError } from '../errors.js';
import { assertCanSeeOutput } from '../auth/permissions.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class JobQueries {
  constructor(private readonly deps: { jobs: JobsRepository; events: JobEventsRepository }) {}

  /** The row, or 404 JOB_NOT_FOUND (also for ids that are not UUIDs). */
  async row(id: string): Promise<JobRow> {
    const row = UUID.test(id) ? await this.deps.jobs.get(id.toLowerCase()) : undefined;
    if (!row) throw new AppError('JOB_NOT_FOUND', `no job ${id}`);
    return row;
  }

  /** The row, when `user` may read its output (SPEC §4); else 403 FORBIDDEN. */
  async readableRow(id: string, user: User): Promise<JobRow> {
    const row = await this.row(id);
    assertCanSeeOutput(user, row);
    return row;
  }

  async get(id: string): Promise<JobWithChildren> {
    const row = await this.row(id);
    const job = toJob(row);
    if (row.type !== 'group') return job;
    return { ...job, children: (await this.deps.jobs.children(row.id)).map(toJob) };
  }

  async list(q: JobsQuery, user: User): Promise<JobPage> {
    if (q.before && !decodeCursor(q.before))
      throw new AppError('VALIDATION', 'before: not a cursor this server gave out');
    const { rows, next } = await this.deps.jobs.list(q, user.id);
    return { items: rows.map(toJob), nextCursor: next };
  }

  /** Each target's last finished runs and their median duration (targets never run are absent). */
  async targetStats(project: string): Promise<ProjectStats> {
    const rows = await this.deps.jobs.targetStats(project, STATS_RUNS);
    return rows.map((r) => ({ target: r.target, recent: r.recent, medianMs: r.median_ms }));
  }

  async events(id: string, q: EventsQuery, user: User): Promise<EventPage> {
    const row = await this.readableRow(id, user);
    const events = await this.deps.events.after(row.id, q.after, q.limit);
    const nextAfter = events.at(-1)?.seq ?? q.after;
    // Re-read: the job may have ended (and written its last events) while we read.
    const current = await this.row(id);
    return {
      events,
      nextAfter,
      done: FINAL_STATUSES.includes(current.status) && nextAfter >= current.last_seq,
    };
  }

  /** The output from its end backwards: a page before `q.before`, and where its lines start. */
  async tail(id: string, q: TailQuery, user: User): Promise<TailPage> {
    const row = await this.readableRow(id, user);
    const { events, start } = await this.deps.events.before(
      row.id,
      q.before ?? row.last_seq + 1,
      q.limit,
      q.bytes,
    );
    const first = events[0]?.seq ?? 1;
    return {
      events,
      lineStart: start?.lines ?? null,
      open: start ? streamsIn(start.open) : [],
      nextBefore: first > 1 ? first : null,
    };
  }

  /** The whole output, page by page, as text: system lines stand on lines of their own. */
  async *log(id: string): AsyncGenerator<string> {
    const row = await this.row(id);
    let after = 0;
    let atLineStart = true;
    for (;;) {
      const page = await this.deps.events.after(row.id, after, 2000);
      if (page.length === 0) return;
      let text = '';
      for (const e of page) {
        const chunk: string =
          e.stream === 'system' ? `${atLineStart ? '' : '\n'}[vmo] ${e.chunk}` : e.chunk;
        text += chunk;
        if (chunk) atLineStart = chunk.endsWith('\n');
      }
      yield text;
      after = page.at(-1)!.seq;
    }
  }

  /** Stored events of a job known to exist. */
  eventsAfter(jobId: string, afterSeq: number, limit: number) {
    return this.deps.events.after(jobId, afterSeq, limit);
  }

  toJob(row: JobRow): Job {
    return toJob(row);
  }
}
