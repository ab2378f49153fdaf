// Keeps search_blocks up with the jobs' output (issue 25), out of the live path: a job's output
// is indexed when it ends (the bus nudges this instance; a sweep finds the others' and those left
// over), and a long-running job's completed lines every `runningEveryMs`. One job at a time in one
// transaction with its progress row locked (SKIP LOCKED: two instances never index one job), so
// its blocks and its progress commit together and a crash redoes the batch, never half of it.
import type { JobEventsRepository } from '../db/job-events.repository.js';
import type { SearchRepository } from '../db/search.repository.js';
import type { Logger } from '../logger.js';
import { WorkLoop } from '../loop.js';
import { closeLines, feedLines, toBlocks, type DoneLine } from './lines.js';

export interface IndexerOptions {
  pollMs: number;
  /**
   * The share of its time the indexer works while `busy()` says jobs are running (it sleeps the
   * rest): live output keeps the machine; a backlog is caught up when it is quiet.
   */
  busyDuty: number;
  /** A running job's new lines are indexed at most this often. */
  runningEveryMs: number;
  /** Output read per job per transaction (a bigger job takes several). */
  batchBytes: number;
}

/** How often the oldest job not indexed is looked for in the whole table. */
const RESCAN_MS = 60_000;

/**
 * Reads events a page at a time; each page at most this big (at least one event). The indexer
 * shares the server's event loop with every request: it splits a page into lines in one go, then
 * lets the loop turn, so a request waits for at most one page's work (a few ms), not a batch's.
 */
const PAGE_BYTES = 1024 * 1024;

/** One turn of the event loop: what waits (requests, live output) goes first. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class SearchIndexer {
  /** Ends a pause (stopping only: a job's end does not cut the share given to live output). */
  private halt: (() => void) | null = null;
  /** Jobs created before this are all indexed; null: to be read again from the database. */
  private since: Date | null = null;
  private sinceReadAt = 0;
  private failing = false;
  private readonly loop: WorkLoop;

  constructor(
    private readonly deps: {
      repo: SearchRepository;
      log: Logger;
      options: IndexerOptions;
      /** Whether jobs run on this instance now. */
      busy?: () => boolean;
    },
  ) {
    this.loop = new WorkLoop((stopped) => this.runOnce(stopped), deps.options.pollMs);
  }

  /** A job ended: its output is all stored, index it now. */
  nudge(): void {
    this.loop.nudge();
  }

  start(): () => Promise<void> {
    const stop = this.loop.start();
    return async () => {
      const stopping = stop();
      this.halt?.();
      await stopping;
    };
  }

  /** One sweep: indexes what is pending. Returns whether there may be more right away. */
  async runOnce(stopped: () => boolean = () => false): Promise<boolean> {
    const { repo, log, options } = this.deps;
    try {
      // Now and then from the whole table: a job written with an older time (another
      // instance's clock, a restore) is found too.
      if (this.since === null || Date.now() - this.sinceReadAt > RESCAN_MS) {
        this.since = (await repo.lowWater()) ?? new Date(Date.now() - 60_000);
        this.sinceReadAt = Date.now();
      }
      const pending = await repo.pending(this.since, 50, options.runningEveryMs);
      let more = false;
      for (const job of pending) {
        if (stopped()) return false;
        const t0 = performance.now();
        more = (await this.indexJob(job.id)) || more;
        if (this.deps.busy?.()) await this.pause(performance.now() - t0);
      }
      // Everything before the oldest job still undone is done: the next sweeps start there.
      this.since = (await repo.oldestUndone(this.since)) ?? new Date(Date.now() - 60_000);
      this.failing = false;
      return more || pending.length === 50;
    } catch (err) {
      if (!this.failing) log.warn({ err: (err as Error).message }, 'search: indexing paused');
      this.failing = true;
      return false;
    }
  }

  /** Sleeps so that `workedMs` was `busyDuty` of the time (a nudge or a stop cuts it short). */
  private pause(workedMs: number): Promise<void> {
    const duty = this.deps.options.busyDuty;
    const ms = Math.min(5_000, (workedMs * (1 - duty)) / duty);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.halt = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => (this.halt = null));
  }

  /** Indexes one batch of a job's output; true when more of it is waiting. */
  async indexJob(jobId: string): Promise<boolean> {
    const { repo, options } = this.deps;
    const more = await repo.withJob(jobId, async ({ trx, seq, state, job, events }) => {
      const done: DoneLine[] = [];
      let read = 0;
      let at = seq;
      while (read < options.batchBytes) {
        const page = await readPage(events, jobId, at);
        if (page.length === 0) break;
        for (const e of page) {
          feedLines(state, e.stream, e.chunk, done);
          read += e.chunk.length;
          at = e.seq;
        }
        await turn();
      }
      const all = job.ended && at >= job.last_seq;
      if (all) closeLines(state, done);
      await repo.addBlocks(trx, jobId, job.created_at, toBlocks(done));
      await repo.saveProgress(trx, jobId, { seq: at, state, done: all });
      return !all && at < job.last_seq;
    });
    return more ?? false;
  }
}

function readPage(events: JobEventsRepository, jobId: string, after: number) {
  return events.after(jobId, after, 5000, PAGE_BYTES);
}
