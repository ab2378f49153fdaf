// The read side of jobs: one job, the history page, stored events, the whole log.
import type {
  EventPage,
  EventsQuery,
  Job,
  JobDone,
  JobPage,
  JobRecord,
  JobsQuery,
  JobWithChildren,
  ProjectStats,
  Protection,
  TailPage,
  TailQuery,
  User,
  Waiting,
} from '@vmo/protocol';
import { FINAL_STATUSES, STATS_RUNS, streamsIn } from '@vmo/protocol';
import type { JobEventsRepository } from '../db/job-events.repository.js';
import { decodeCursor, toJob, type JobRow, type JobsRepository } from '../db/jobs.repository.js';
import { AppError } from '../errors.js';
import { AD_HOC_FACTS, factsOf, type Access } from '../auth/permissions.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface JobQueriesDeps {
  jobs: JobsRepository;
  events: JobEventsRepository;
  access: Access;
  /** Whether the place a job ran is protected (the catalog's answer). */
  protectionOf?: (where: {
    type: JobRow['type'];
    project: string | null;
    host: string | null;
  }) => Protection | null;
  /** Why queued jobs wait, as the job service knows it. */
  waiting?: ReadonlyMap<string, Waiting>;
}

export class JobQueries {
  constructor(private readonly deps: JobQueriesDeps) {}

  /** The row, or 404 JOB_NOT_FOUND (also for ids that are not UUIDs). */
  async row(id: string): Promise<JobRow> {
    const row = UUID.test(id) ? await this.deps.jobs.get(id.toLowerCase()) : undefined;
    if (!row) throw new AppError('JOB_NOT_FOUND', `no job ${id}`);
    return row;
  }

  /** The row, when `user` may read its output (SPEC §4); else 403 FORBIDDEN. */
  async readableRow(id: string, user: User): Promise<JobRow> {
    const row = await this.row(id);
    this.deps.access.assert(user, 'job.readOutput', factsOf(row));
    return row;
  }

  /** The stored job with where it ran (protected or not) and why it waits, for any caller. */
  record(row: JobRow): JobRecord {
    return toJob(row, {
      protection: this.deps.protectionOf?.(row) ?? null,
      waiting: this.deps.waiting?.get(row.id),
    });
  }

  /** The job as `user` gets it: with what they may do with it (`can`). */
  present(row: JobRow, user: User): Job {
    return this.deps.access.present(this.record(row), user);
  }

  async get(id: string, user: User): Promise<JobWithChildren> {
    const row = await this.row(id);
    const job = this.present(row, user);
    if (row.type !== 'group') return job;
    const children = await this.deps.jobs.children(row.id);
    return { ...job, children: children.map((c) => this.present(c, user)) };
  }

  async list(q: JobsQuery, user: User): Promise<JobPage> {
    if (q.before && !decodeCursor(q.before))
      throw new AppError('VALIDATION', 'before: not a cursor this server gave out');
    // Searching the text of ad-hoc commands would tell what a caller may not read.
    const adHocText = this.deps.access.can(user, 'job.readCommand', AD_HOC_FACTS);
    const { rows, next } = await this.deps.jobs.list(q, user.id, adHocText);
    return { items: rows.map((r) => this.present(r, user)), nextCursor: next };
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
    const { events, start, cut } = await this.deps.events.before(
      row.id,
      q.before ?? row.last_seq + 1,
      q.limit,
      q.bytes,
      q.cut,
    );
    const first = events[0]?.seq ?? 1;
    return {
      events,
      lineStart: start?.lines ?? null,
      open: start ? streamsIn(start.open) : [],
      nextBefore: first > 1 || cut !== null ? first : null,
      nextCut: cut,
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

  /** Stored events of several jobs, merged in commit order (see JobEventsRepository.afterMany). */
  eventsAfterMany(cursors: readonly { jobId: string; afterSeq: number }[], limit: number) {
    return this.deps.events.afterMany(cursors, limit);
  }

  /** How each of `ids` ended, for those that have (with their last seq); JOB_NOT_FOUND if one is gone. */
  async endings(ids: readonly string[]): Promise<Map<string, JobDone & { lastSeq: number }>> {
    const rows = await this.deps.jobs.getMany(ids);
    const gone = ids.find((id) => !rows.some((r) => r.id === id));
    if (gone) throw new AppError('JOB_NOT_FOUND', `no job ${gone}`);
    const ended = new Map<string, JobDone & { lastSeq: number }>();
    for (const row of rows)
      if (FINAL_STATUSES.includes(row.status))
        ended.set(row.id, {
          jobId: row.id,
          status: row.status,
          exitCode: row.exit_code,
          signal: row.signal,
          lastSeq: row.last_seq,
        });
    return ended;
  }

  /** A group's children as stored (for the group's merged output). */
  childRows(groupId: string): Promise<JobRow[]> {
    return this.deps.jobs.children(groupId);
  }
}
