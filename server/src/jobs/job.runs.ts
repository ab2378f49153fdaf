// One job's run: from its request to the queue (submit), from queued to running through its runner
// and the output pipeline, to the status it ended with and the line saying why; a cancel (stop) and
// the end of a job that never started.
import type { JobStatus, StartedJob, User } from '@vmo/protocol';
import type { AuditRepository } from '../db/audit.repository.js';
import type { JobEventsRepository } from '../db/job-events.repository.js';
import {
  triggerColumns,
  type JobRow,
  type JobsRepository,
  type StartTrigger,
} from '../db/jobs.repository.js';
import { isPermanentDbError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PtyHandle, PtySpec } from '../runners/pty.runner.js';
import { markOf } from '../process/leftovers.js';
import type { RunHandle, Runner, RunResult } from '../runners/runner.js';
import type { RemoteSpec } from '../runners/ssh.runner.js';
import type { JobBus } from './job.bus.js';
import type { JobRecords } from './job.records.js';
import type { Active, JobQueue } from './job.queue.js';
import type { JobRequest } from './job.requests.js';
import { OutputPipeline, type EventStore } from './output.pipeline.js';
import type { Terminals } from './terminals.js';

export interface RunLimits {
  graceSeconds: number;
  /** 0 = no limit. */
  timeoutSeconds: number;
  maxOutputBytes: number;
  bufferBytes: number;
  outageSeconds: number;
}

export interface JobRunsDeps {
  jobs: JobsRepository;
  events: JobEventsRepository;
  writer: EventStore;
  runners: { local: Runner; ssh: Runner<RemoteSpec>; pty: Runner<PtySpec, PtyHandle> };
  terminals: Terminals;
  bus: JobBus;
  log: Logger;
  limits: RunLimits;
  records: JobRecords;
  audit: AuditRepository;
  queue: JobQueue;
  instanceId: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export class JobRuns {
  constructor(private readonly deps: JobRunsDeps) {}

  /** Stores the job as queued, audits it, and lines it up. */
  /** `trigger`: what started it, when not the user by hand. */
  async submit(
    req: JobRequest,
    user: User,
    source: string | null,
    trigger?: StartTrigger,
  ): Promise<StartedJob> {
    const row = await this.deps.jobs.create({
      type: req.type,
      status: 'queued',
      ...req.row,
      requested_by: user.id,
      instance_id: this.deps.instanceId,
      ...triggerColumns(trigger),
    });
    await this.deps.audit.add({
      userId: user.id,
      username: user.username,
      action: req.audit.action,
      target: row.id,
      source,
      details: req.audit.details,
    });
    this.deps.records.changed(row);
    this.deps.queue.admit(row, req.launch, { exclusiveKey: req.exclusiveKey });
    return { jobId: row.id, type: req.type };
  }

  /** A queued job never starts (it ends with `whyQueued`); a starting or running one is stopped. */
  async stop(active: Active, username: string, whyQueued: string): Promise<'canceled' | 'running'> {
    if (this.deps.queue.withdraw(active.row.id)) {
      await this.endQueued(active, 'canceled', whyQueued);
      return 'canceled';
    }
    if (!active.canceledBy) {
      active.canceledBy = username;
      // Between the queue and its spawn, run() sees canceledBy and does not start it.
      active.handle?.cancel(this.deps.limits.graceSeconds * 1000);
    }
    return 'running';
  }

  async run(active: Active): Promise<void> {
    const { limits, records } = this.deps;
    const startedAt = new Date();
    const started = await records.durably(async () => {
      const row = await this.deps.jobs.transition(active.row.id, ['queued'], {
        status: 'running',
        started_at: startedAt,
      });
      if (row) return row;
      // A retry after a lost reply finds the first attempt's write: that is still our start.
      const now = await this.deps.jobs.get(active.row.id);
      return now?.status === 'running' && now.started_at?.getTime() === startedAt.getTime()
        ? now
        : undefined;
    });
    if (!started) return; // canceled while it waited
    active.row = started;
    records.changed(started);
    const pipeline = (active.pipeline = this.pipelineFor(active));
    if (active.canceledBy) {
      // Canceled between the queue and its spawn: it never runs.
      pipeline.system(`canceled by ${active.canceledBy} before it started`);
      await pipeline.flush();
      const row = await records.durably(() =>
        this.deps.jobs.transition(started.id, ['running'], {
          status: 'canceled',
          finished_at: new Date(),
        }),
      );
      this.finish(active, row ?? { ...started, status: 'canceled' }, pipeline.committedSeq);
      return;
    }
    const t0 = Date.now();
    const handle = (active.handle = this.launch(active, pipeline));
    pipeline.system(`started: ${started.command}${handle.pid ? ` (pid ${handle.pid})` : ''}`);
    const timer =
      limits.timeoutSeconds > 0 && active.launch.runner !== 'pty'
        ? setTimeout(() => {
            active.timedOut = true;
            pipeline.system(
              `timed out after ${limits.timeoutSeconds} s (jobs.timeoutSeconds): stopping it`,
            );
            handle.cancel(limits.graceSeconds * 1000);
          }, limits.timeoutSeconds * 1000)
        : null;
    // Who leads its process group, so that a start after a crash of the server can end what it
    // left running (jobs/job.recovery.ts).
    const mark = markOf(handle.pid);
    if (mark)
      await records
        .durably(() => this.deps.jobs.setProcess(started.id, mark))
        .catch((err: unknown) =>
          this.deps.log.warn(
            { jobId: started.id, err: (err as Error).message },
            "could not record the job's process: a crash of the server now would leave it running",
          ),
        );
    const result = await handle.done;
    active.exited = true;
    if (timer) clearTimeout(timer);
    pipeline.endStreams();
    pipeline.system(this.describeEnd(active, result, Date.now() - t0));
    await pipeline.flush();

    const status: JobStatus = active.interrupted
      ? 'interrupted'
      : active.canceledBy
        ? 'canceled'
        : result.exitCode === 0 && !pipeline.error && !active.timedOut
          ? 'success'
          : 'failed';
    const end = {
      status,
      exit_code: result.exitCode,
      signal: result.signal,
      truncated: pipeline.truncated,
      finished_at: new Date(),
    };
    const row = await records.durably(() =>
      this.deps.jobs.transition(started.id, ['running'], end),
    );
    // Something else may have ended it meanwhile (an admin, a recovering instance): say what is
    // stored; a row deleted under the job leaves only what we decided.
    const final = row ??
      (await records.durably(() => this.deps.jobs.get(started.id))) ?? { ...started, ...end };
    this.finish(active, final, pipeline.committedSeq);
  }

  /** A job that never started: its system line is stored before its final status, so followers see both. */
  async endQueued(active: Active, status: 'canceled' | 'interrupted', why: string): Promise<void> {
    const { records } = this.deps;
    const pipeline = (active.pipeline = this.pipelineFor(active));
    pipeline.system(why);
    await pipeline.flush();
    const row = await records.durably(() =>
      this.deps.jobs.transition(active.row.id, ['queued'], {
        status,
        finished_at: new Date(),
      }),
    );
    // Something else may have ended it meanwhile: announce what is stored.
    const final = row ??
      (await records.durably(() => this.deps.jobs.get(active.row.id))) ?? { ...active.row, status };
    this.finish(active, final, pipeline.committedSeq);
  }

  /** The job has its final status (stored, or given up on): announced, and let go of. */
  private finish(active: Active, row: JobRow, lastSeq: number): void {
    this.deps.records.changed(row);
    this.deps.bus.publishDone({
      jobId: row.id,
      status: row.status,
      exitCode: row.exit_code,
      signal: row.signal,
      lastSeq,
    });
    if (active.launch.runner === 'pty') this.deps.terminals.closed(row.id);
    this.deps.queue.settle(active, row);
  }

  private pipelineFor(active: Active): OutputPipeline {
    const { limits, bus, writer: events } = this.deps;
    return new OutputPipeline({
      jobId: active.row.id,
      store: events,
      publish: (evts) => bus.publishEvents(active.row.id, evts),
      firstSeq: active.row.last_seq + 1,
      lineState: () => this.deps.events.lineState(active.row.id),
      bufferBytes: limits.bufferBytes,
      maxOutputBytes: limits.maxOutputBytes,
      retryForMs: limits.outageSeconds * 1000,
      isPermanent: isPermanentDbError,
      onBackpressure: (paused) => (paused ? active.handle?.pause() : active.handle?.resume()),
      // Output that cannot be stored for outageSeconds: stop the job (what it wrote is still kept and retried).
      onFailure: (err) => {
        active.handle?.cancel(limits.graceSeconds * 1000);
        const why = (err as Error).message;
        const permanent = isPermanentDbError(err);
        if (permanent)
          this.deps.log.error({ jobId: active.row.id, err: why }, 'job output cannot be stored');
        this.deps.bus.publishError(active.row.id, {
          code: 'DB_UNAVAILABLE',
          message: permanent
            ? `the job's output cannot be stored (${why}); it is being stopped`
            : `the job's output could not be stored for ${limits.outageSeconds} s (${why}); it is being stopped`,
        });
      },
      onRetry: (err, attempt) =>
        this.deps.log.warn(
          { jobId: active.row.id, attempt, err: (err as Error).message },
          'storing job output failed; retrying',
        ),
    });
  }

  private launch(active: Active, pipeline: OutputPipeline): RunHandle {
    const { launch } = active;
    const { runners, terminals, limits } = this.deps;
    switch (launch.runner) {
      case 'local':
        return runners.local.start(launch.spec, pipeline);
      case 'ssh':
        return runners.ssh.start(launch.spec, pipeline);
      case 'pty':
        return terminals.attach(
          active.row,
          pipeline,
          (sink) => runners.pty.start(launch.spec, sink),
          (seconds) => {
            active.canceledBy ??= `the idle timeout: no input or output for ${seconds} s (terminal.idleSeconds)`;
            active.handle?.cancel(limits.graceSeconds * 1000);
          },
        );
    }
  }

  private describeEnd(active: Active, result: RunResult, ms: number): string {
    const lines: string[] = [];
    const failure = active.pipeline?.error;
    if (result.error) lines.push(`could not start: ${result.error}`);
    if (result.diagnosis) lines.push(result.diagnosis);
    if (failure) {
      lines.push(
        `failed: the database did not take its output for ${this.deps.limits.outageSeconds} s (db.outageSeconds), so it was stopped (${(failure as Error).message})`,
      );
    }
    if (result.strays) lines.push('processes it left running in the background were stopped');
    if (active.interrupted) lines.push(`interrupted: ${active.interrupted}`);
    else if (active.canceledBy) lines.push(`canceled by ${active.canceledBy}`);
    if (result.signal) lines.push(`killed by ${result.signal} after ${seconds(ms)}`);
    else if (result.exitCode !== null)
      lines.push(`exited with code ${result.exitCode} after ${seconds(ms)}`);
    return lines.join('\n');
  }
}
