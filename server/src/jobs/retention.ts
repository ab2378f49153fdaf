// Retention: whole finished jobs older than `retentionDays` are deleted by the server itself, in
// batches (their events go with them through the foreign key), never a running job, never part of one.
import type { JobsRepository } from '../db/jobs.repository.js';
import type { Logger } from '../logger.js';

export interface RetentionOptions {
  jobs: JobsRepository;
  log: Logger;
  /** 0 keeps everything. */
  retentionDays: number;
  batchSize?: number;
  everyMs?: number;
}

export class Retention {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: RetentionOptions) {}

  /** Deletes old finished jobs batch by batch; returns how many jobs went. */
  async sweep(now = new Date()): Promise<number> {
    if (this.o.retentionDays <= 0) return 0;
    const cutoff = new Date(now.getTime() - this.o.retentionDays * 86_400_000);
    let total = 0;
    for (;;) {
      const n = await this.o.jobs.deleteFinishedBefore(cutoff, this.o.batchSize ?? 50);
      total += n;
      if (n < (this.o.batchSize ?? 50)) break;
    }
    if (total)
      this.o.log.info(
        { jobs: total, olderThanDays: this.o.retentionDays },
        'retention deleted old jobs',
      );
    return total;
  }

  /** Sweeps soon after start, then every `everyMs` (an hour by default). */
  start(): () => void {
    let sweeping = false;
    const run = () => {
      // A slow sweep is not overlapped by the next tick.
      if (sweeping) return;
      sweeping = true;
      this.sweep()
        .finally(() => (sweeping = false))
        .catch((err: unknown) =>
          this.o.log.warn({ err: (err as Error).message }, 'retention sweep failed; will retry'),
        );
    };
    this.timer = setTimeout(run, 10_000);
    const interval = setInterval(run, this.o.everyMs ?? 3_600_000);
    this.timer.unref();
    interval.unref();
    return () => {
      if (this.timer) clearTimeout(this.timer);
      clearInterval(interval);
    };
  }
}
