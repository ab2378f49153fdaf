// Job lifecycle: validate a request, queue it (FIFO past maxConcurrent), run it through a runner and
// the output pipeline, cancel it, and record how it ended. Running one job (job.runs.ts), fan-out
// groups (job.groups.ts), terminal jobs (terminal.jobs.ts) and crash recovery (job.recovery.ts) each
// have their own module.
import type {
  JobStatus,
  RerunJob,
  Waiting,
  StartTerminal,
  StartFanout,
  StartSsh,
  StartStream,
  StartedJob,
  User,
} from '@vmo/protocol';
import type { AuditRepository } from '../db/audit.repository.js';
import { factsOf, type Access } from '../auth/permissions.js';
import type { JobEventsRepository } from '../db/job-events.repository.js';
import type { JobRow, JobsRepository } from '../db/jobs.repository.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Runner } from '../runners/runner.js';
import type { PtyHandle, PtySpec } from '../runners/pty.runner.js';
import type { RemoteSpec } from '../runners/ssh.runner.js';
import type { Terminals } from './terminals.js';
import type { JobBus } from './job.bus.js';
import type { JobQueries } from './job.queries.js';
import { JobGroups } from './job.groups.js';
import { JobRecords } from './job.records.js';
import { JobRecovery } from './job.recovery.js';
import type { JobRequest, JobRequests, Launch } from './job.requests.js';
import { JobRuns, type Active, type RunLimits } from './job.runs.js';
import type { EventStore } from './output.pipeline.js';
import { TerminalJobs } from './terminal.jobs.js';

export interface JobLimits extends RunLimits {
  maxConcurrent: number;
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
  access: Access;
  /** Why each queued job waits: written here, shown by the job queries. */
  waiting?: Map<string, Waiting>;
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

export class JobService {
  private readonly active = new Map<string, Active>();
  private readonly queue: string[] = [];
  private running = 0;
  /** `project:target` of `@exclusive` targets running now, and the job that runs it. */
  private readonly busyKeys = new Map<string, string>();
  /** Why each queued job waits (shared with the job queries, which show it). */
  private readonly waiting: Map<string, Waiting>;
  private stopping = false;
  private readonly records: JobRecords;
  private readonly runs: JobRuns;
  private readonly groups: JobGroups;
  private readonly terminalJobs: TerminalJobs;
  private readonly recovery: JobRecovery;

  constructor(private readonly deps: JobServiceDeps) {
    this.waiting = deps.waiting ?? new Map<string, Waiting>();
    const { jobs, events, writer, queries, audit, requests, runners, bus, log, limits } = deps;
    const records = (this.records = new JobRecords({
      events,
      writer,
      bus,
      record: (row) => queries.record(row),
      limits,
      stopping: () => this.stopping,
    }));
    this.runs = new JobRuns({
      jobs,
      events,
      writer,
      runners,
      terminals: deps.terminals,
      bus,
      log,
      limits,
      records,
      finish: (active, row, lastSeq) => this.finish(active, row, lastSeq),
    });
    this.groups = new JobGroups({
      jobs,
      audit,
      requests,
      records,
      bus,
      log,
      limits,
      instanceId: deps.instanceId,
      queue: {
        enqueue: (row, launch, exclusiveKey, groupId) =>
          this.enqueue(row, launch, exclusiveKey, groupId),
        children: (groupId) => [...this.active.values()].filter((a) => a.groupId === groupId),
        stop: (child, username, whyQueued) => this.stop(child, username, whyQueued),
      },
    });
    this.terminalJobs = new TerminalJobs({
      jobs,
      queries,
      audit,
      requests,
      terminals: deps.terminals,
      desktopEnv: deps.desktopEnv,
      records,
      bus,
      instanceId: deps.instanceId,
      submit: (req, user, source) => this.submit(req, user, source),
    });
    this.recovery = new JobRecovery({
      jobs,
      records,
      bus,
      instanceId: deps.instanceId,
      leftovers: { graceMs: deps.limits.graceSeconds * 1000 },
    });
  }

  async startStream(req: StartStream, user: User, source: string | null): Promise<StartedJob> {
    this.deps.access.assert(user, 'job.run');
    return this.submit(await this.deps.requests.stream(req), user, source);
  }

  async startSsh(req: StartSsh, user: User, source: string | null): Promise<StartedJob> {
    this.deps.access.assert(user, 'job.run');
    return this.submit(this.deps.requests.ssh(req, user), user, source);
  }

  /**
   * The stored request again, through the same rails as the first start: `again.args` replace its
   * arguments, and a `@confirm` target or a protected place wants `again.confirm`.
   */
  async rerun(
    id: string,
    user: User,
    source: string | null,
    again: RerunJob = {},
  ): Promise<StartedJob> {
    const row = await this.deps.queries.row(id);
    this.deps.access.assert(user, 'job.rerun', factsOf(row));
    if (row.type === 'terminal' && row.host)
      return this.startTerminal({ hostAlias: row.host, confirm: again.confirm }, user, source);
    if (row.type === 'group')
      return this.startFanout(await this.fanoutOf(row, again), user, source);
    return this.submit(await this.deps.requests.again(row, user, again), user, source);
  }

  /** A fan-out's request, rebuilt from its group row: the same environment, or the same hosts. */
  private async fanoutOf(row: JobRow, again: RerunJob): Promise<StartFanout> {
    const where = row.host
      ? { environment: row.host }
      : {
          hostAliases: [
            ...new Set((await this.deps.jobs.children(row.id)).map((c) => c.host ?? '')),
          ].filter(Boolean),
        };
    if ('hostAliases' in where && where.hostAliases?.length === 0)
      throw new AppError(
        'VALIDATION',
        'the hosts of this fan-out are not known: start it again from its environment or hosts',
      );
    const args = again.args ?? row.args;
    const confirm = again.confirm !== undefined ? { confirm: again.confirm } : {};
    return row.preset
      ? { ...where, preset: row.preset, params: args, ...confirm }
      : { ...where, alias: row.project ?? '', target: row.target ?? '', args, ...confirm };
  }

  /** A group job with one child per host; children queue like any job, at most fanout.maxParallel at once. */
  startFanout(req: StartFanout, user: User, source: string | null): Promise<StartedJob> {
    this.deps.access.assert(user, 'job.run');
    return this.groups.start(req, user, source);
  }

  /** A terminal in the browser (a pty job, not queued), or the user's own terminal app (`spawned`). */
  startTerminal(req: StartTerminal, user: User, source: string | null): Promise<StartedJob> {
    this.deps.access.assert(user, 'hostAlias' in req ? 'hostShell.open' : 'terminal.open');
    return this.terminalJobs.start(req, user, source);
  }

  /** Reaches an open terminal synchronously, so keystrokes keep the order they were sent in. */
  terminalInput(jobId: string, data: string, user: User): Promise<void> {
    return this.terminalJobs.input(jobId, data, user);
  }

  terminalResize(jobId: string, cols: number, rows: number, user: User): Promise<void> {
    return this.terminalJobs.resize(jobId, cols, rows, user);
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
    this.records.changed(row);
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
    // A job that already ended answers 409 JOB_FINISHED below, not a refusal.
    this.deps.access.assert(user, 'job.cancel', { ...factsOf(row), status: 'running' });
    const group = this.groups.get(row.id);
    if (group) {
      await this.deps.audit.add({
        userId: user.id,
        username: user.username,
        action: 'job.cancel',
        target: row.id,
        source,
      });
      return this.groups.cancel(group, user);
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
    const why = `canceled by ${user.username} before it started`;
    return { jobId: row.id, status: await this.stop(active, user.username, why) };
  }

  /** A queued job never starts (it ends with `whyQueued`); a starting or running one is stopped. */
  private async stop(
    active: Active,
    username: string,
    whyQueued: string,
  ): Promise<'canceled' | 'running'> {
    const queued = this.queue.indexOf(active.row.id);
    if (queued >= 0) {
      // Still in the queue: it never starts.
      this.queue.splice(queued, 1);
      this.waiting.delete(active.row.id);
      await this.runs.endQueued(active, 'canceled', whyQueued);
      return 'canceled';
    }
    if (!active.canceledBy) {
      active.canceledBy = username;
      // Between the queue and its spawn, run() sees canceledBy and does not start it.
      active.handle?.cancel(this.deps.limits.graceSeconds * 1000);
    }
    return 'running';
  }

  /** Graceful shutdown: running jobs are stopped and end `interrupted`; queued ones too. */
  async shutdown(reason = 'the server is stopping'): Promise<void> {
    this.stopping = true;
    // Running jobs first: they get their grace while the queued ones are written off.
    for (const active of this.active.values()) {
      active.interrupted = reason;
      active.handle?.cancel(this.deps.limits.graceSeconds * 1000);
    }
    this.groups.interrupt(reason);
    this.waiting.clear();
    for (const id of this.queue.splice(0)) {
      const active = this.active.get(id)!;
      this.runs
        .endQueued(active, 'interrupted', `interrupted before it started: ${reason}`)
        .catch((err: unknown) =>
          this.deps.log.warn(
            { jobId: id, err: (err as Error).message },
            'could not record the interrupted job',
          ),
        );
    }
    const allFinished = () =>
      Promise.all([...[...this.active.values()].map((a) => a.finished), ...this.groups.finished()]);
    const within = (ms: number) =>
      Promise.race([allFinished(), new Promise((r) => setTimeout(r, ms).unref())]);
    await within(this.deps.limits.graceSeconds * 1000 + 5_000);
    // Whatever still waits on an unreachable database is given up; the next start marks it interrupted.
    for (const active of this.active.values()) active.pipeline?.abandon();
    this.groups.abandon();
    await within(2_000);
  }

  /** At start-up: jobs this instance left queued or running (it stopped or died) become `interrupted`. */
  recoverInterrupted(): Promise<number> {
    return this.recovery.interrupted();
  }

  /**
   * Several instances: the unfinished jobs of instances whose heartbeat is older than `staleSeconds`
   * (or that never had one) are taken over, once, and become `interrupted`.
   */
  recoverOrphans(staleSeconds: number): Promise<number> {
    return this.recovery.orphans(staleSeconds);
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
      const wait = this.blocker(active, interactive);
      if (wait) {
        this.wait(active, wait);
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.waiting.delete(active.row.id);
      if (active.exclusiveKey) this.busyKeys.set(active.exclusiveKey, active.row.id);
      this.groups.claimSlot(active.groupId);
      if (!interactive) this.running++;
      this.runs
        .run(active)
        .catch((err: unknown) =>
          this.deps.log.error({ err, jobId: active.row.id }, 'job runner failed'),
        )
        .finally(() => {
          // Also when run() threw (shutdown during an outage): nobody waits on this job any more.
          this.active.delete(active.row.id);
          active.release();
          if (active.exclusiveKey) this.busyKeys.delete(active.exclusiveKey);
          this.groups.freeSlot(active.groupId);
          if (!interactive) this.running--;
          if (!this.stopping) this.pump();
        });
    }
  }

  /** What keeps a queued job from starting now, in words the job's page shows; null: nothing. */
  private blocker(active: Active, interactive: boolean): Waiting | null {
    const { maxConcurrent, fanoutParallel } = this.deps.limits;
    if (!interactive && this.running >= maxConcurrent)
      return {
        reason: 'maxConcurrent',
        message: `waits for room: ${maxConcurrent} jobs are running already (jobs.maxConcurrent)`,
      };
    const twin = active.exclusiveKey ? this.busyKeys.get(active.exclusiveKey) : undefined;
    if (twin) {
      const command = this.active.get(twin)?.row.command ?? 'run';
      return {
        reason: 'exclusive',
        jobId: twin,
        message: `waits for the running ${command} to end (one run at a time)`,
      };
    }
    if (this.groups.full(active.groupId))
      return {
        reason: 'fanout',
        message: `waits for a free place in its fan-out (fanout.maxParallel is ${fanoutParallel})`,
      };
    return null;
  }

  /** Records why a queued job waits, and announces it when that changed. */
  private wait(active: Active, wait: Waiting): void {
    const before = this.waiting.get(active.row.id);
    if (before?.reason === wait.reason && before.jobId === wait.jobId) return;
    this.waiting.set(active.row.id, wait);
    this.records.changed(active.row);
  }

  private finish(active: Active, row: JobRow, lastSeq: number): void {
    this.active.delete(row.id);
    this.records.changed(row);
    this.deps.bus.publishDone({
      jobId: row.id,
      status: row.status,
      exitCode: row.exit_code,
      signal: row.signal,
      lastSeq,
    });
    active.release();
    if (active.launch.runner === 'pty') this.deps.terminals.closed(row.id);
    if (active.groupId) void this.groups.childDone(active.groupId, row);
  }
}
