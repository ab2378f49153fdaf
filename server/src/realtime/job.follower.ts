// One socket following the output of one job, or of a fan-out merged (the group and its
// children): stored events after the seq held of each job first, then live ones, each event
// exactly once and each job's in seq order, the jobs interleaved in commit order; the end last.
// Gaps (a missed live batch) are filled from the database.
import { Disposables, type JobDone, type JobEvent } from '@vmo/protocol';
import type { SourcedEvent } from '../db/job-events.repository.js';
import { AppError } from '../errors.js';
import type { Ended, JobBus, JobTrouble } from '../jobs/job.bus.js';
import { StateMachine } from '../jobs/state-machine.js';
import type { JobQueries } from '../jobs/job.queries.js';
import { sizeOf, withFields } from '../output/bytes.js';
import type { SendBudget } from './send-budget.js';

const REPLAY_PAGE = 1000;

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

/** Where a follower's output goes: the socket events of one job, or of a group merged. */
export interface FollowOutlet {
  log(source: string, event: JobEvent): void;
  /** The followed job ended and everything it and its children wrote was sent. */
  done(done: JobDone): void;
  error(jobId: string, error: JobTrouble): void;
  /** This client fell behind: it rejoins with what it holds of each job. */
  resync(after: ReadonlyMap<string, number>): void;
}

export interface FollowerDeps {
  bus: JobBus;
  queries: JobQueries;
  budget: SendBudget;
  outlet: FollowOutlet;
  onEnd: () => void;
}

export class JobFollower {
  /** The seq sent of each job followed. */
  private readonly sent: Map<string, number>;
  private readonly phase = new StateMachine<FollowerState>('job follower', 'live', FOLLOWER);
  private queued: SourcedEvent[] = [];
  private readonly ended = new Map<string, Ended>();
  private readonly subs = new Disposables();

  /**
   * Follows `jobId` and, for a group, its children too (`sources` holds them all, `jobId` among
   * them); `after` is what the client holds of each.
   */
  constructor(
    private readonly jobId: string,
    sources: readonly string[],
    after: ReadonlyMap<string, number>,
    private readonly deps: FollowerDeps,
  ) {
    this.sent = new Map(sources.map((s) => [s, after.get(s) ?? 0]));
    // Subscribe before reading the database, so nothing committed in between is missed.
    for (const source of sources)
      this.subs.add(
        deps.bus.follow(source, {
          events: (events) => this.onLive(source, events),
          done: (d) => {
            this.ended.set(source, d);
            void this.catchUp();
          },
          error: (error) => {
            if (!this.disposed) deps.outlet.error(source, error);
          },
          // The job runs on another instance: its events are read from the database, never relayed.
          committed: (lastSeq) => {
            if (this.disposed || lastSeq <= this.sentOf(source)) return;
            if (this.phase.is('replaying')) this.phase.to('stale');
            void this.catchUp();
          },
        }),
      );
  }

  /** Starts the replay; call after the join was acknowledged. */
  start(): void {
    void this.catchUp();
  }

  dispose(): void {
    if (this.phase.is('disposed')) return;
    this.phase.to('disposed');
    this.subs.dispose();
  }

  private get disposed(): boolean {
    return this.phase.is('disposed');
  }

  private sentOf(source: string): number {
    return this.sent.get(source) ?? 0;
  }

  /** The next event of its job, and not sent yet. */
  private isNext(e: SourcedEvent): boolean {
    return e.seq === this.sentOf(e.source) + 1;
  }

  private onLive(source: string, events: JobEvent[]): void {
    if (this.disposed) return;
    if (this.deps.budget.over) return this.resync();
    let i = 0;
    if (this.phase.is('live')) {
      for (; i < events.length; i++) {
        const e = events[i]!;
        if (e.seq <= this.sentOf(source)) continue;
        if (e.seq !== this.sentOf(source) + 1) break;
        this.send(source, e);
      }
      if (i === events.length) return;
      // A gap before the rest: read what is missing from the database.
    }
    for (; i < events.length; i++) this.queued.push(withFields(events[i]!, { source }));
    void this.catchUp();
  }

  private send(source: string, e: JobEvent): void {
    this.deps.outlet.log(source, e);
    this.deps.budget.add(sizeOf(e));
    this.sent.set(source, e.seq);
  }

  /** This client fell behind: stop following live (the job never waits); it rejoins from the database. */
  private resync(): void {
    this.deps.outlet.resync(this.sent);
    this.dispose();
    this.deps.onEnd();
  }

  /** Replays from the database until caught up, drains what arrived live meanwhile, ends with the end. */
  private async catchUp(): Promise<void> {
    if (!this.phase.is('live')) return;
    this.phase.to('replaying');
    try {
      for (;;) {
        if (!this.phase.tryTo('replaying')) return; // disposed meanwhile
        // Replay is pulled from the database page by page, the next page read while this one is
        // sent (the database and the socket work side by side), and waits for a slow client.
        let after = new Map(this.sent);
        let next: ReturnType<typeof this.page> | null = this.page(after);
        while (next) {
          const { events, more } = await next;
          if (this.disposed) return;
          if (more) {
            after = new Map(after);
            for (const e of events) after.set(e.source, e.seq);
            next = this.page(after);
          } else next = null;
          for (const e of events) if (this.isNext(e)) this.send(e.source, e);
          await this.deps.budget.drain();
          if (this.disposed) return;
        }
        const queued = this.queued;
        this.queued = [];
        for (const e of queued) if (this.isNext(e)) this.send(e.source, e);
        if (queued.some((e) => e.seq > this.sentOf(e.source))) continue; // still a gap: read again

        const ended = await this.allEnded();
        if (this.disposed) return;
        if (this.queued.length > 0 || this.phase.is('stale')) continue;
        if (!ended) return;
        if ([...this.ended].some(([source, d]) => this.sentOf(source) < d.lastSeq)) continue;
        const { jobId, status, exitCode, signal } = this.ended.get(this.jobId)!;
        this.deps.outlet.done({ jobId, status, exitCode, signal });
        this.dispose();
        this.deps.onEnd();
        return;
      }
    } catch (err) {
      // Storage trouble: tell the client, and let it rejoin from what it has (a job deleted
      // meanwhile says JOB_NOT_FOUND, here and to the rejoin).
      const error =
        err instanceof AppError
          ? { code: err.code, message: err.message }
          : { code: 'DB_UNAVAILABLE' as const, message: (err as Error).message };
      this.deps.outlet.error(this.jobId, error);
      this.deps.outlet.resync(this.sent);
      this.dispose();
      this.deps.onEnd();
    } finally {
      this.phase.tryTo('live'); // unless disposed meanwhile
    }
  }

  /** Whether every job followed has ended, asking the database about those not heard of. */
  private async allEnded(): Promise<boolean> {
    const unknown = [...this.sent.keys()].filter((s) => !this.ended.has(s));
    if (unknown.length === 0) return true;
    const endings = await this.deps.queries.endings(unknown);
    for (const [source, d] of endings) if (!this.ended.has(source)) this.ended.set(source, d);
    return endings.size === unknown.length;
  }

  /** A page of stored events after `after`; a failure surfaces when the page is awaited. */
  private page(after: ReadonlyMap<string, number>) {
    const cursors = [...after].map(([jobId, afterSeq]) => ({ jobId, afterSeq }));
    const read = this.deps.queries.eventsAfterMany(cursors, REPLAY_PAGE);
    read.catch(() => {}); // awaited later, or abandoned with the follower
    return read;
  }
}
