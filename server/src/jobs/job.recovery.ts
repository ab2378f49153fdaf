// Jobs left unfinished by an instance that is gone (this one before a restart, or another one that
// stopped answering) become `interrupted`, with a line saying why; their output up to then is kept.
// What their processes left running is ended first (runners/leftovers.ts), so a re-run never
// overlaps a deploy that is still going.
import type { JobRow, JobsRepository } from '../db/jobs.repository.js';
import { stopLeftovers, type StopOptions } from '../process/leftovers.js';
import type { JobBus } from './job.bus.js';
import type { JobRecords } from './job.records.js';

export interface JobRecoveryDeps {
  jobs: JobsRepository;
  records: JobRecords;
  bus: JobBus;
  instanceId: string;
  /** SIGTERM, then SIGKILL after `graceMs` (jobs.graceSeconds). */
  leftovers: StopOptions;
}

export class JobRecovery {
  constructor(private readonly deps: JobRecoveryDeps) {}

  /** At start-up: jobs this instance left queued or running (it stopped or died) become `interrupted`. */
  async interrupted(): Promise<number> {
    const rows = await this.deps.jobs.unfinished(this.deps.instanceId);
    await this.markInterrupted(
      rows,
      'interrupted: the server stopped while this job was running; its output up to then is kept',
    );
    return rows.length;
  }

  /**
   * Several instances: the unfinished jobs of instances whose heartbeat is older than `staleSeconds`
   * (or that never had one) are taken over, once, and become `interrupted`.
   */
  async orphans(staleSeconds: number): Promise<number> {
    const adopted = await this.deps.jobs.adoptOrphans(this.deps.instanceId, staleSeconds);
    await this.markInterrupted(
      adopted.map((a) => a.row),
      (row) => {
        const { previous } = adopted.find((a) => a.row === row)!;
        const why = previous
          ? `the server instance running it (${previous}) stopped answering (no heartbeat for ${staleSeconds} s)`
          : 'no server instance was recorded as running it';
        return `interrupted: ${why}; ${this.deps.instanceId} took it over; its output up to then is kept`;
      },
    );
    return adopted.length;
  }

  private async markInterrupted(
    rows: JobRow[],
    why: string | ((row: JobRow) => string),
  ): Promise<void> {
    // Every job's leftovers at once: the grace period is waited for once, not once per job.
    const stopped = await Promise.all(
      rows.map((row) =>
        row.process ? stopLeftovers(row.process, this.deps.leftovers) : Promise.resolve(null),
      ),
    );
    for (const [i, row] of rows.entries()) {
      await this.deps.jobs.dropUncommitted(row.id);
      const pipeline = this.deps.records.systemPipeline(row);
      pipeline.system(typeof why === 'string' ? why : why(row));
      if (stopped[i]) pipeline.system(stopped[i]);
      await pipeline.flush();
      const done = await this.deps.jobs.transition(row.id, ['queued', 'running'], {
        status: 'interrupted',
        finished_at: new Date(),
      });
      if (!done) continue;
      this.deps.records.changed(done);
      // Someone may follow it (on another instance, since it ran elsewhere): this is its end.
      this.deps.bus.publishDone({
        jobId: done.id,
        status: done.status,
        exitCode: done.exit_code,
        signal: done.signal,
        lastSeq: pipeline.committedSeq,
      });
    }
  }
}
