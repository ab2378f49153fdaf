// One socket following one job: stored events after `afterSeq` first, then live ones, each seq
// exactly once and in order; `job:done` last. Gaps (a missed live batch) are filled from the database.
import type { JobDone, JobEvent } from '@vmo/protocol';
import { FINAL_STATUSES } from '@vmo/protocol';
import { EVENTS_PAGE_BYTES } from '../db/job-events.repository.js';
import { AppError } from '../errors.js';
import type { JobBus } from '../jobs/job.bus.js';
import { StateMachine } from '../jobs/state-machine.js';
import type { JobQueries } from '../jobs/job.queries.js';
import type { JobsSocket } from './socket.types.js';
import type { SendBudget } from './send-budget.js';

const REPLAY_PAGE = 1000;

type Ended = JobDone & { lastSeq: number };

/**
 * `live`: live events go straight to the socket. `replaying`: stored events are read from the
 * database, live ones wait in `queued`. `stale`: replaying, and told meanwhile that more is
 * committed, so it reads once more before it goes live. `disposed`: it follows no more.
 */
export type FollowerState = 'live' | 'replaying' | 'stale' | 'disposed';
const FOLLOWER = {
  live: ['replaying', 'disposed'],
  replaying: ['stale', 'live', 'disposed'],
  stale: ['replaying', 'disposed'],
  disposed: [],
} as const;

/**
 * Whether more may follow this page: it was full by count, or it may have been cut by size (a
 * UTF-16 unit is at most 3 bytes of UTF-8). A short, small page is the end: no query to be sure.
 */
function mayContinue(page: JobEvent[]): boolean {
  if (page.length >= REPLAY_PAGE) return true;
  let units = 0;
  for (const e of page) units += e.chunk.length;
  return units * 3 >= EVENTS_PAGE_BYTES;
}

export class JobFollower {
  private lastSent: number;
  private readonly phase = new StateMachine<FollowerState>('job follower', 'live', FOLLOWER);
  private queued: JobEvent[] = [];
  private ended: Ended | null = null;
  private readonly unfollow: () => void;

  constructor(
    private readonly socket: JobsSocket,
    private readonly jobId: string,
    afterSeq: number,
    private readonly deps: {
      bus: JobBus;
      queries: JobQueries;
      budget: SendBudget;
      onEnd: () => void;
    },
  ) {
    this.lastSent = afterSeq;
    // Subscribe before reading the database, so nothing committed in between is missed.
    this.unfollow = deps.bus.follow(jobId, {
      events: (events) => this.onLive(events),
      done: (d) => {
        this.ended = d;
        void this.catchUp();
      },
      error: (error) => {
        if (!this.phase.is('disposed')) this.socket.emit('job:error', { jobId: this.jobId, error });
      },
      // The job runs on another instance: its events are read from the database, never relayed.
      committed: (lastSeq) => {
        if (this.phase.is('disposed') || lastSeq <= this.lastSent) return;
        if (this.phase.is('replaying')) this.phase.to('stale');
        void this.catchUp();
      },
    });
  }

  /** Starts the replay; call after the join was acknowledged. */
  start(): void {
    void this.catchUp();
  }

  dispose(): void {
    if (this.phase.is('disposed')) return;
    this.phase.to('disposed');
    this.unfollow();
  }

  private get disposed(): boolean {
    return this.phase.is('disposed');
  }

  private onLive(events: JobEvent[]): void {
    if (this.disposed) return;
    if (this.deps.budget.over) return this.resync();
    if (this.phase.is('live')) {
      let i = 0;
      for (; i < events.length; i++) {
        const e = events[i]!;
        if (e.seq <= this.lastSent) continue;
        if (e.seq !== this.lastSent + 1) break;
        this.send(e);
      }
      if (i === events.length) return;
      events = events.slice(i); // a gap before these: read what is missing from the database
    }
    this.queued.push(...events);
    void this.catchUp();
  }

  private send(e: JobEvent): void {
    // Field by field: the events the pipeline publishes carry line marks the client does not need.
    this.socket.emit('job:log', {
      jobId: this.jobId,
      seq: e.seq,
      stream: e.stream,
      chunk: e.chunk,
      ts: e.ts,
    });
    this.deps.budget.add(e.chunk.length);
    this.lastSent = e.seq;
  }

  /** This client fell behind: stop following live (the job never waits); it rejoins from the database. */
  private resync(): void {
    this.socket.emit('job:resync', { jobId: this.jobId, afterSeq: this.lastSent });
    this.dispose();
    this.deps.onEnd();
  }

  /** Replays from the database until caught up, drains what arrived live meanwhile, ends with job:done. */
  private async catchUp(): Promise<void> {
    if (!this.phase.is('live')) return;
    this.phase.to('replaying');
    try {
      for (;;) {
        if (!this.phase.tryTo('replaying')) return; // disposed meanwhile
        // Replay is pulled from the database page by page, the next page read while this one is
        // sent (the database and the socket work side by side), and waits for a slow client.
        let next: Promise<JobEvent[]> | null = this.page(this.lastSent);
        while (next) {
          const page: JobEvent[] = await next;
          if (this.disposed) return;
          const last = page.at(-1)?.seq;
          next = last !== undefined && mayContinue(page) ? this.page(last) : null;
          for (const e of page) if (e.seq === this.lastSent + 1) this.send(e);
          await this.deps.budget.drain();
          if (this.disposed) return;
        }
        const queued = this.queued;
        this.queued = [];
        for (const e of queued) if (e.seq === this.lastSent + 1) this.send(e);
        if (queued.some((e) => e.seq > this.lastSent)) continue; // still a gap: read again

        const ended = this.ended ?? (await this.endedInDatabase());
        if (this.disposed) return;
        if (
          this.queued.length > 0 ||
          this.phase.is('stale') ||
          (ended && this.lastSent < ended.lastSeq)
        )
          continue;
        if (ended) {
          this.socket.emit('job:done', {
            jobId: this.jobId,
            status: ended.status,
            exitCode: ended.exitCode,
            signal: ended.signal,
          });
          this.dispose();
          this.deps.onEnd();
        }
        return;
      }
    } catch (err) {
      // Storage trouble: tell the client, and let it rejoin from what it has (a job deleted
      // meanwhile says JOB_NOT_FOUND, here and to the rejoin).
      const error =
        err instanceof AppError
          ? { code: err.code, message: err.message }
          : { code: 'DB_UNAVAILABLE' as const, message: (err as Error).message };
      this.socket.emit('job:error', { jobId: this.jobId, error });
      this.socket.emit('job:resync', { jobId: this.jobId, afterSeq: this.lastSent });
      this.dispose();
      this.deps.onEnd();
    } finally {
      this.phase.tryTo('live'); // unless disposed meanwhile
    }
  }

  /** A page of stored events after `afterSeq`; a failure surfaces when the page is awaited. */
  private page(afterSeq: number): Promise<JobEvent[]> {
    const read = this.deps.queries.eventsAfter(this.jobId, afterSeq, REPLAY_PAGE);
    read.catch(() => {}); // awaited later, or abandoned with the follower
    return read;
  }

  private async endedInDatabase(): Promise<Ended | null> {
    const row = await this.deps.queries.row(this.jobId);
    if (!FINAL_STATUSES.includes(row.status)) return null;
    return {
      jobId: row.id,
      status: row.status,
      exitCode: row.exit_code,
      signal: row.signal,
      lastSeq: row.last_seq,
    };
  }
}
