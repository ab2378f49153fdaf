// What every part of the job service records the same way: a job's change announced on the bus,
// lines of our own in a job's output, and a write repeated until a database outage is over.
import type { JobEventsRepository } from '../db/job-events.repository.js';
import type { JobRecord } from '@vmo/protocol';
import type { JobRow } from '../db/jobs.repository.js';
import { isDbUnavailable, isPermanentDbError } from '../errors.js';
import type { JobBus } from './job.bus.js';
import { OutputPipeline, type EventStore } from './output.pipeline.js';

export interface JobRecordsDeps {
  events: JobEventsRepository;
  /** Where output is committed (the group-commit writer). */
  writer: EventStore;
  bus: JobBus;
  /** The row as the API shows it (the job queries' `record`). */
  record: (row: JobRow) => JobRecord;
  limits: { outageSeconds: number };
  /** The service is shutting down: a write that meets an outage gives up instead of waiting. */
  stopping: () => boolean;
}

export class JobRecords {
  constructor(private readonly deps: JobRecordsDeps) {}

  changed(row: JobRow): void {
    this.deps.bus.publishChanged(this.deps.record(row));
  }

  /** A pipeline for our own lines only (a group, a spawned desktop terminal, a recovered job). */
  systemPipeline(row: JobRow): OutputPipeline {
    const { limits, bus, writer: events } = this.deps;
    return new OutputPipeline({
      jobId: row.id,
      store: events,
      publish: (evts) => bus.publishEvents(row.id, evts),
      firstSeq: row.last_seq + 1,
      lineState: () => this.deps.events.lineState(row.id),
      retryForMs: limits.outageSeconds * 1000,
      isPermanent: isPermanentDbError,
    });
  }

  /** Repeats a database write through an outage (with backoff) until it goes through; other errors throw. */
  async durably<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (!isDbUnavailable(err) || this.deps.stopping()) throw err;
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** (attempt - 1), 2_000)));
      }
    }
  }
}
