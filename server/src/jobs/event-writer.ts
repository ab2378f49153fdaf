// Group commit: the output of every running job goes through one writer, which commits what all
// jobs have ready in one statement. Per job, one batch is in flight at a time (the pipeline waits
// for its commit), so seq order holds; across jobs, 200 jobs cost a few statements, not 200.
import { isDbUnavailable } from '../errors.js';
import type { StoredEvent } from '../db/job-events.repository.js';
import type { EventStore } from './output.pipeline.js';

export interface EventBatch {
  jobId: string;
  events: StoredEvent[];
  addBytes: number;
}

export interface BatchStore {
  /** Commits all the batches in one transaction. */
  appendMany(batches: EventBatch[]): Promise<void>;
  /** Whether every event of the batch is stored already (its commit went through, its reply was lost). */
  stored(batch: EventBatch): Promise<boolean>;
}

interface Waiting extends EventBatch {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class EventWriter implements EventStore {
  private waiting: Waiting[] = [];
  private inflight = 0;

  constructor(
    private readonly store: BatchStore,
    private readonly o: { maxInflight?: number; maxEventsPerStatement?: number } = {},
  ) {}

  append(jobId: string, events: StoredEvent[], addBytes: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ jobId, events, addBytes, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    const max = this.o.maxInflight ?? 2;
    while (this.inflight < max && this.waiting.length > 0) {
      const take: Waiting[] = [];
      let events = 0;
      while (
        this.waiting.length &&
        (take.length === 0 ||
          events + this.waiting[0]!.events.length <= (this.o.maxEventsPerStatement ?? 2000))
      ) {
        const w = this.waiting.shift()!;
        take.push(w);
        events += w.events.length;
      }
      this.inflight++;
      void this.commit(take).finally(() => {
        this.inflight--;
        this.kick();
      });
    }
  }

  private async commit(batches: Waiting[]): Promise<void> {
    try {
      await this.store.appendMany(batches);
      for (const b of batches) b.resolve();
    } catch (err) {
      if (isDbUnavailable(err)) {
        for (const b of batches) b.reject(err);
        return;
      }
      // One job's bad batch must not hold the others back: try them one by one.
      await Promise.all(batches.map((b) => this.one(b, batches.length === 1 ? err : null)));
    }
  }

  /** One batch on its own (`failed`: the error it already met alone, so it is not tried again). */
  private async one(b: Waiting, failed: unknown): Promise<void> {
    const err =
      failed ??
      (await this.store.appendMany([b]).then(
        () => null,
        (e: unknown) => e,
      ));
    if (err === null) return b.resolve();
    // A retry of a commit whose reply was lost in an outage meets its own rows: that is success.
    const duplicate = (err as { code?: string }).code === '23505';
    if (duplicate && (await this.store.stored(b).catch(() => false))) b.resolve();
    else b.reject(err);
  }
}
