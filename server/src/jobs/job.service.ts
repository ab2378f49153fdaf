// Job lifecycle: validate a request, queue it (FIFO past maxConcurrent), run it through a runner and
// the output pipeline, cancel it, and record how it ended.
import type {
  JobStatus,
  StartTerminal,
  StartFanout,
  StartSsh,
  StartStream,
  StartedJob,
  User,
} from '@vmo/protocol';
import type { AuditRepository } from '../db/audit.repository.js';
import { assertCanCancel } from '../auth/permissions.js';
import type { JobEventsRepository } from '../db/job-events.repository.js';
import { toJob, type JobRow, type JobsRepository } from '../db/jobs.repository.js';
import { AppError, isDbUnavailable, isPermanentDbError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RunHandle, Runner, RunResult } from '../runners/runner.js';
import type { PtyHandle, PtySpec } from '../runners/pty.runner.js';
import type { RemoteSpec } from '../runners/ssh.runner.js';
import type { Terminals } from './terminals.js';
import type { JobBus } from './job.bus.js';
import type { JobQueries } from './job.queries.js';
import { childLine, groupStatus, type Group } from './job.groups.js';
import type { JobRequest, JobRequests, Launch } from './job.requests.js';
import { OutputPipeline, type EventStore } from './output.pipeline.js';

export interface JobLimits {
  maxConcurrent: number;
  graceSeconds: number;
  /** 0 = no limit. */
  timeoutSeconds: number;
  maxOutputBytes: number;
  bufferBytes: number;
  outageSeconds: number;
  /** Children of one fan-out running at once. */
  fanoutParallel: number;
}

/** The other instances on this database (cluster.enabled). */
export interface Peers {
  /** Asks the instance that runs the job to cancel it; resolves once the request is sent. */
  cancel(owner: string, jobId: string, user: User, source: string | null): Promise<void>;
}

export interface JobServiceDeps {
  jobs: JobsRepository;
  events: JobEventsRepository;
  queries: JobQueries;
  audit: AuditRepository;
  requests: JobRequests;
  /** Where running jobs' output is committed (the group-commit writer). */
  writer: EventStore;
  runners: { local: Runner; ssh: Runner<RemoteSpec>; pty: Runner<PtySpec, PtyHandle> };
  terminals: Terminals;
  /** Variables a desktop terminal needs beyond the job environment (tests set TERM_CMD here). */
  desktopEnv?: NodeJS.ProcessEnv;
  bus: JobBus;
  log: Logger;
  limits: JobLimits;
  instanceId: string;
  /** Set when several instances share the database. */
  peers?: Peers;
}

interface Active {
  row: JobRow;
  launch: Launch;
  handle?: RunHandle;
  canceledBy?: string;
  interrupted?: string;
  timedOut?: boolean;
  /** Its process has exited; the end is being stored. A cancel now would be a false record. */
  exited?: boolean;
  exclusiveKey?: string;
  /** The fan-out group this job is a child of. */
  groupId?: string;
  pipeline?: OutputPipeline;
  finished: Promise<void>;
  release: () => void;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export class JobService {
  private readonly active = new Map<string, Active>();
  private readonly queue: string[] = [];
  private running = 0;
  private readonly groups = new Map<string, Group>();
  /** `project:target` of `@exclusive` targets running now. */
  private readonly busyKeys = new Set<string>();
  private stopping = false;

  constructor(private readonly deps: JobServiceDeps) {}

  async startStream(req: StartStream, user: User, source: string | null): Promise<StartedJob> {
    return this.submit(await this.deps.requests.stream(req), user, source);
  }

  async startSsh(req: StartSsh, user: User, source: string | null): Promise<StartedJob> {
    return this.submit(this.deps.requests.ssh(req, user), user, source);
  }

  async rerun(id: string, user: User, source: string | null): Promise<StartedJob> {
    const row = await this.deps.queries.row(id);
    return this.submit(await this.deps.requests.again(row, user), user, source);
  }

  /** A group job with one child per host; children queue like any job, at most fanout.maxParallel at once. */
  async startFanout(req: StartFanout, user: User, source: string | null): Promise<StartedJob> {
    const plan = await this.deps.requests.fanout(req, user);
    const row = await this.deps.jobs.create({
      type: 'group',
      status: 'running',
      ...plan.group,
      requested_by: user.id,
      instance_id: this.deps.instanceId,
    });
    await this.deps.audit.add({
      userId: user.id,
      username: user.username,
      action: plan.audit.action,
      target: row.id,
      source,
      details: plan.audit.details,
    });
    this.changed(row);
    let release!: () => void;
    const finished = new Promise<void>((r) => (release = r));
    const group: Group = {
      row,
      pipeline: this.systemPipeline(row),
      limit: this.deps.limits.fanoutParallel,
      running: 0,
      remaining: plan.children.length,
      statuses: [],
      finished,
      release,
    };
    this.groups.set(row.id, group);
    group.pipeline.system(
      `fan-out to ${plan.hosts.length} hosts (${plan.hosts.join(', ')}), at most ${group.limit} at once`,
    );
    for (const child of plan.children) {
      const childRow = await this.deps.jobs.create({
        type: child.type,
        status: 'queued',
        ...child.row,
        parent_id: row.id,
        requested_by: user.id,
        instance_id: this.deps.instanceId,
      });
      this.changed(childRow);
      this.enqueue(childRow, child.launch, child.exclusiveKey, row.id);
    }
    return { jobId: row.id, type: 'group' };
  }

  /** A terminal in the browser (a pty job, not queued), or the user's own terminal app (`spawned`). */
  async startTerminal(req: StartTerminal, user: User, source: string | null): Promise<StartedJob> {
    const request = await this.deps.requests.terminal(req);
    if (req.mode === 'desktop') return this.spawnDesktop(request, user, source);
    this.deps.terminals.reserve();
    try {
      return await this.submit(request, user, source);
    } catch (err) {
      this.deps.terminals.unreserve();
      throw err;
    }
  }

  /**
   * Keystrokes reach an open terminal synchronously, so they keep the order they were sent in;
   * only for a job with no open terminal is the database asked which error to answer.
   */
  async terminalInput(jobId: string, data: string, user: User): Promise<void> {
    const id = jobId.toLowerCase();
    if (!this.deps.terminals.isOpen(id)) await this.deps.queries.row(jobId);
    this.deps.terminals.input(id, data, user);
  }

  async terminalResize(jobId: string, cols: number, rows: number, user: User): Promise<void> {
    const id = jobId.toLowerCase();
    if (!this.deps.terminals.isOpen(id)) await this.deps.queries.row(jobId);
    this.deps.terminals.resize(id, cols, rows, user);
  }

  private async spawnDesktop(
    request: JobRequest,
    user: User,
    source: string | null,
  ): Promise<StartedJob> {
    const spec = request.launch.spec as PtySpec;
    const opened = await this.deps.terminals.desktop(spec.argv, {
      ...spec.env,
      ...(this.deps.desktopEnv ?? {}),
    });
    const now = new Date();
    const row = await this.deps.jobs.create({
      type: 'terminal',
      status: 'spawned',
      ...request.row,
      argv: opened.argv,
      requested_by: user.id,
      instance_id: this.deps.instanceId,
    });
    await this.deps.audit.add({
      userId: user.id,
      username: user.username,
      action: 'terminal.open',
      target: row.id,
      source,
      details: { ...request.audit.details, emulator: opened.emulator, mode: 'desktop' },
    });
    const pipeline = this.systemPipeline(row);
    pipeline.system(
      `opened in ${opened.emulator}${opened.pid ? ` (pid ${opened.pid})` : ''}: ${row.command}`,
    );
    await pipeline.flush();
    const final =
      (await this.deps.jobs.transition(row.id, ['spawned'], {
        started_at: now,
        finished_at: now,
      })) ?? row;
    this.changed(final);
    this.deps.bus.publishDone({
      jobId: row.id,
      status: 'spawned',
      exitCode: null,
      signal: null,
      lastSeq: pipeline.committedSeq,
    });
    return { jobId: row.id, type: 'terminal' };
  }

  /** Stores the job as queued, audits it, and lines it up. */
  private async submit(req: JobRequest, user: User, source: string | null): Promise<StartedJob> {
    const row = await this.deps.jobs.create({
      type: req.type,
      status: 'queued',
      ...req.row,
      requested_by: user.id,
      instance_id: this.deps.instanceId,
    });
    await this.deps.audit.add({
      userId: user.id,
      username: user.username,
      action: req.audit.action,
      target: row.id,
      source,
      details: req.audit.details,
    });
    this.changed(row);
    this.enqueue(row, req.launch, req.exclusiveKey);
    return { jobId: row.id, type: req.type };
  }

  /** `forwarded`: another instance sent this cancel here; it is not sent on again. */
  async cancel(
    id: string,
    user: User,
    source: string | null,
    forwarded = false,
  ): Promise<{ jobId: string; status: JobStatus }> {
    const row = await this.deps.queries.row(id);
    assertCanCancel(user, row);
    const group = this.groups.get(row.id);
    if (group) {
      await this.deps.audit.add({
        userId: user.id,
        username: user.username,
        action: 'job.cancel',
        target: row.id,
        source,
      });
      return this.cancelGroup(group, user);
    }
    const active = this.active.get(row.id);
    if (
      !active ||
      ['success', 'failed', 'canceled', 'interrupted', 'spawned'].includes(row.status)
    ) {
      if (row.status === 'queued' || row.status === 'running') {
        const owner = row.instance_id;
        if (this.deps.peers && !forwarded && owner && owner !== this.deps.instanceId) {
          // Another instance runs it: it cancels (and audits) it; the answer is the status known now.
          await this.deps.peers.cancel(owner, row.id, user, source);
          return { jobId: row.id, status: row.status };
        }
        throw new AppError('JOB_FINISHED', `job ${row.id} is not running on this server`);
      }
      throw new AppError('JOB_FINISHED', `job ${row.id} has already ended (${row.status})`);
    }
    if (active.exited && !active.canceledBy) {
      throw new AppError(
        'JOB_FINISHED',
        `job ${row.id} has already ended; its end is being stored`,
      );
    }
    await this.deps.audit.add({
      userId: user.id,
      username: user.username,
      action: 'job.cancel',
      target: row.id,
      source,
    });
    const queued = this.queue.indexOf(row.id);
    if (queued >= 0) {
      // Still in the queue: it never starts.
      this.queue.splice(queued, 1);
      await this.endQueued(active, 'canceled', `canceled by ${user.username} before it started`);
      return { jobId: row.id, status: 'canceled' };
    }
    if (!active.canceledBy) {
      active.canceledBy = user.username;
      // Between the queue and its spawn, run() sees canceledBy and does not start it.
      active.handle?.cancel(this.deps.limits.graceSeconds * 1000);
    }
    return { jobId: row.id, status: 'running' };
  }

  /** Graceful shutdown: running jobs are stopped and end `interrupted`; queued ones too. */
  async shutdown(reason = 'the server is stopping'): Promise<void> {
    this.stopping = true;
    // Running jobs first: they get their grace while the queued ones are written off.
    for (const active of this.active.values()) {
      active.interrupted = reason;
      active.handle?.cancel(this.deps.limits.graceSeconds * 1000);
    }
    for (const group of this.groups.values()) group.interrupted = reason;
    for (const id of this.queue.splice(0)) {
      const active = this.active.get(id)!;
      this.endQueued(active, 'interrupted', `interrupted before it started: ${reason}`).catch(
        (err: unknown) =>
          this.deps.log.warn(
            { jobId: id, err: (err as Error).message },
            'could not record the interrupted job',
          ),
      );
    }
    const allFinished = () =>
      Promise.all([...this.active.values(), ...this.groups.values()].map((a) => a.finished));
    const within = (ms: number) =>
      Promise.race([allFinished(), new Promise((r) => setTimeout(r, ms).unref())]);
    await within(this.deps.limits.graceSeconds * 1000 + 5_000);
    // Whatever still waits on an unreachable database is given up; the next start marks it interrupted.
    for (const active of this.active.values()) active.pipeline?.abandon();
    for (const group of this.groups.values()) group.pipeline.abandon();
    await within(2_000);
  }

  /** At start-up: jobs this instance left queued or running (it stopped or died) become `interrupted`. */
  async recoverInterrupted(): Promise<number> {
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
  async recoverOrphans(staleSeconds: number): Promise<number> {
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
    for (const row of rows) {
      const pipeline = this.systemPipeline(row);
      pipeline.system(typeof why === 'string' ? why : why(row));
      await pipeline.flush();
      const done = await this.deps.jobs.transition(row.id, ['queued', 'running'], {
        status: 'interrupted',
        finished_at: new Date(),
      });
      if (!done) continue;
      this.changed(done);
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

  get runningCount(): number {
    return this.running;
  }

  /** Jobs waiting for room (maxConcurrent, an `@exclusive` twin, a fan-out's limit). */
  get queuedCount(): number {
    return this.queue.length;
  }

  private enqueue(row: JobRow, launch: Launch, exclusiveKey?: string, groupId?: string): void {
    let release!: () => void;
    const finished = new Promise<void>((r) => (release = r));
    this.active.set(row.id, { row, launch, finished, release, exclusiveKey, groupId });
    this.queue.push(row.id);
    this.pump();
  }

  /** Starts queued jobs in order while there is room; an `@exclusive` target waits for its running twin. */
  private pump(): void {
    for (let i = 0; i < this.queue.length;) {
      const active = this.active.get(this.queue[i]!)!;
      // A terminal is a person waiting at a prompt: it never queues behind batch jobs.
      const interactive = active.launch.runner === 'pty';
      if (!interactive && this.running >= this.deps.limits.maxConcurrent) {
        i++;
        continue;
      }
      const group = active.groupId ? this.groups.get(active.groupId) : undefined;
      if (
        (active.exclusiveKey && this.busyKeys.has(active.exclusiveKey)) ||
        (group && group.running >= group.limit)
      ) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      if (active.exclusiveKey) this.busyKeys.add(active.exclusiveKey);
      if (group) group.running++;
      if (!interactive) this.running++;
      this.run(active)
        .catch((err: unknown) =>
          this.deps.log.error({ err, jobId: active.row.id }, 'job runner failed'),
        )
        .finally(() => {
          // Also when run() threw (shutdown during an outage): nobody waits on this job any more.
          this.active.delete(active.row.id);
          active.release();
          if (active.exclusiveKey) this.busyKeys.delete(active.exclusiveKey);
          const group = active.groupId ? this.groups.get(active.groupId) : undefined;
          if (group) group.running--;
          if (!interactive) this.running--;
          if (!this.stopping) this.pump();
        });
    }
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

  private async run(active: Active): Promise<void> {
    const { limits } = this.deps;
    const startedAt = new Date();
    const started = await this.durably(async () => {
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
    this.changed(started);
    const pipeline = (active.pipeline = this.pipelineFor(active));
    if (active.canceledBy) {
      // Canceled between the queue and its spawn: it never runs.
      pipeline.system(`canceled by ${active.canceledBy} before it started`);
      await pipeline.flush();
      const row = await this.durably(() =>
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
    const row = await this.durably(() => this.deps.jobs.transition(started.id, ['running'], end));
    // Something else may have ended it meanwhile (an admin, a recovering instance): say what is
    // stored; a row deleted under the job leaves only what we decided.
    const final = row ??
      (await this.durably(() => this.deps.jobs.get(started.id))) ?? { ...started, ...end };
    this.finish(active, final, pipeline.committedSeq);
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

  /** Repeats a database write through an outage (with backoff) until it goes through; other errors throw. */
  private async durably<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (!isDbUnavailable(err) || this.stopping) throw err;
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** (attempt - 1), 2_000)));
      }
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

  /** A job that never started: its system line is stored before its final status, so followers see both. */
  private async endQueued(
    active: Active,
    status: 'canceled' | 'interrupted',
    why: string,
  ): Promise<void> {
    const pipeline = (active.pipeline = this.pipelineFor(active));
    pipeline.system(why);
    await pipeline.flush();
    const row = await this.durably(() =>
      this.deps.jobs.transition(active.row.id, ['queued'], {
        status,
        finished_at: new Date(),
      }),
    );
    // Something else may have ended it meanwhile: announce what is stored.
    const final = row ??
      (await this.durably(() => this.deps.jobs.get(active.row.id))) ?? { ...active.row, status };
    this.finish(active, final, pipeline.committedSeq);
  }

  private finish(active: Active, row: JobRow, lastSeq: number): void {
    this.active.delete(row.id);
    this.changed(row);
    this.deps.bus.publishDone({
      jobId: row.id,
      status: row.status,
      exitCode: row.exit_code,
      signal: row.signal,
      lastSeq,
    });
    active.release();
    if (active.launch.runner === 'pty') this.deps.terminals.closed(row.id);
    if (active.groupId) void this.childDone(active.groupId, row);
  }

  /** A pipeline for our own lines only (a group, a spawned desktop terminal, a recovered job). */
  private systemPipeline(row: JobRow): OutputPipeline {
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

  /** A child ended: the group notes it, and ends itself after the last one. */
  private async childDone(groupId: string, child: JobRow): Promise<void> {
    const group = this.groups.get(groupId);
    if (!group) return;
    group.statuses.push(child.status);
    group.pipeline.system(childLine(child));
    if (--group.remaining > 0) return;
    this.groups.delete(groupId);
    const status = groupStatus(group);
    const ok = group.statuses.filter((s) => s === 'success').length;
    group.pipeline.system(
      `${status}: ${ok} of ${group.statuses.length} hosts succeeded${group.canceledBy ? `; canceled by ${group.canceledBy}` : ''}`,
    );
    await group.pipeline.flush();
    try {
      const row = await this.durably(() =>
        this.deps.jobs.transition(groupId, ['running'], { status, finished_at: new Date() }),
      );
      const final = row ?? { ...group.row, status };
      this.changed(final);
      this.deps.bus.publishDone({
        jobId: groupId,
        status,
        exitCode: null,
        signal: null,
        lastSeq: group.pipeline.committedSeq,
      });
    } catch (err) {
      this.deps.log.error({ err, jobId: groupId }, 'could not record the end of a fan-out');
    } finally {
      group.release();
    }
  }

  /** Cancels every child of a group: queued ones never start, running ones are stopped. */
  private async cancelGroup(
    group: Group,
    user: User,
  ): Promise<{ jobId: string; status: JobStatus }> {
    group.canceledBy ??= user.username;
    const children = [...this.active.values()].filter((a) => a.groupId === group.row.id);
    for (const child of children) {
      const queued = this.queue.indexOf(child.row.id);
      if (queued >= 0) {
        this.queue.splice(queued, 1);
        await this.endQueued(
          child,
          'canceled',
          `canceled with its group by ${user.username} before it started`,
        );
      } else if (!child.canceledBy) {
        // Running, or between the queue and its spawn (run() then does not start it).
        child.canceledBy = user.username;
        child.handle?.cancel(this.deps.limits.graceSeconds * 1000);
      }
    }
    return { jobId: group.row.id, status: 'running' };
  }

  private changed(row: JobRow): void {
    this.deps.bus.publishChanged(toJob(row));
  }
}
