// The job service: the one front the routes and sockets call to start, re-run, cancel and stop jobs.
// It checks who may (can()), then hands over: JobQueue (jobs/job.queue.ts) holds the jobs and decides
// who starts; JobRuns (job.runs.ts) takes a request to its stored end; JobGroups (job.groups.ts) the
// fan-outs; TerminalJobs (terminal.jobs.ts) the terminals; JobRecovery (job.recovery.ts) what a
// stopped or dead instance left. services.ts builds them and gives them to each other.
import type {
  JobStatus,
  JobTrigger,
  RerunJob,
  StartTerminal,
  StartFanout,
  StartSsh,
  StartStream,
  StartedJob,
  User,
} from '@vmo/protocol';
import type { AuditRepository } from '../db/audit.repository.js';
import { factsOf, type Access } from '../auth/permissions.js';
import type { JobsRepository, StartTrigger } from '../db/jobs.repository.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { JobGroups } from './job.groups.js';
import type { JobQueries } from './job.queries.js';
import type { JobQueue } from './job.queue.js';
import type { JobRecovery } from './job.recovery.js';
import type { JobRequests } from './job.requests.js';
import type { JobRuns } from './job.runs.js';
import { rerunRequest, storedRequest } from './requests/stored.js';
import type { TerminalJobs } from './terminal.jobs.js';

/** The other instances on this database (cluster.enabled). */
export interface Peers {
  /** Asks the instance that runs the job to cancel it; resolves once the request is sent. */
  cancel(owner: string, jobId: string, user: User, source: string | null): Promise<void>;
}

export interface JobServiceDeps {
  jobs: JobsRepository;
  queries: JobQueries;
  audit: AuditRepository;
  requests: JobRequests;
  access: Access;
  queue: JobQueue;
  runs: JobRuns;
  groups: JobGroups;
  terminalJobs: TerminalJobs;
  recovery: JobRecovery;
  log: Logger;
  /** jobs.graceSeconds: how long a stopped job has before it is killed. */
  graceSeconds: number;
  instanceId: string;
  /** Set when several instances share the database. */
  peers?: Peers;
}

export class JobService {
  constructor(private readonly deps: JobServiceDeps) {}

  async startStream(
    req: StartStream,
    user: User,
    source: string | null,
    trigger?: StartTrigger,
  ): Promise<StartedJob> {
    this.deps.access.assert(user, 'job.run');
    return this.deps.runs.submit(await this.deps.requests.stream(req), user, source, trigger);
  }

  async startSsh(
    req: StartSsh,
    user: User,
    source: string | null,
    trigger?: StartTrigger,
  ): Promise<StartedJob> {
    this.deps.access.assert(user, 'job.run');
    return this.deps.runs.submit(this.deps.requests.ssh(req, user), user, source, trigger);
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
    const stored = await storedRequest(row, async () =>
      (await this.deps.jobs.children(row.id)).map((c) => c.host ?? ''),
    );
    const next = rerunRequest(stored, again);
    const trigger: JobTrigger = { kind: 'rerun', id: row.id };
    switch (next.kind) {
      case 'stream':
        return this.startStream(next.request, user, source, trigger);
      case 'ssh':
        return this.startSsh(next.request, user, source, trigger);
      case 'terminal':
        return this.startTerminal(next.request, user, source);
      case 'fanout':
        return this.startFanout(next.request, user, source, trigger);
    }
  }

  /** A group job with one child per host; children queue like any job, at most fanout.maxParallel at once. */
  startFanout(
    req: StartFanout,
    user: User,
    source: string | null,
    trigger?: StartTrigger,
  ): Promise<StartedJob> {
    this.deps.access.assert(user, 'job.run');
    return this.deps.groups.start(req, user, source, trigger);
  }

  /** A terminal in the browser (a pty job, not queued), or the user's own terminal app (`spawned`). */
  startTerminal(req: StartTerminal, user: User, source: string | null): Promise<StartedJob> {
    this.deps.access.assert(user, 'hostAlias' in req ? 'hostShell.open' : 'terminal.open');
    return this.deps.terminalJobs.start(req, user, source);
  }

  /** Reaches an open terminal synchronously, so keystrokes keep the order they were sent in. */
  terminalInput(jobId: string, data: string, user: User): Promise<void> {
    return this.deps.terminalJobs.input(jobId, data, user);
  }

  terminalResize(jobId: string, cols: number, rows: number, user: User): Promise<void> {
    return this.deps.terminalJobs.resize(jobId, cols, rows, user);
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
    const group = this.deps.groups.get(row.id);
    if (group) {
      await this.deps.audit.add({
        userId: user.id,
        username: user.username,
        action: 'job.cancel',
        target: row.id,
        source,
      });
      return this.deps.groups.cancel(group, user);
    }
    const active = this.deps.queue.get(row.id);
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
    return { jobId: row.id, status: await this.deps.runs.stop(active, user.username, why) };
  }

  /** Graceful shutdown: running jobs are stopped and end `interrupted`; queued ones too. */
  async shutdown(reason = 'the server is stopping'): Promise<void> {
    const { queue, runs, groups, log } = this.deps;
    const queued = queue.close();
    const graceMs = this.deps.graceSeconds * 1000;
    // Running jobs first: they get their grace while the queued ones are written off.
    for (const active of queue.all()) {
      if (queued.includes(active)) continue;
      active.interrupted = reason;
      active.handle?.cancel(graceMs);
    }
    groups.interrupt(reason);
    for (const active of queued) {
      runs
        .endQueued(active, 'interrupted', `interrupted before it started: ${reason}`)
        .catch((err: unknown) =>
          log.warn(
            { jobId: active.row.id, err: (err as Error).message },
            'could not record the interrupted job',
          ),
        );
    }
    const allFinished = () =>
      Promise.all([...queue.all().map((a) => a.finished), ...groups.finished()]);
    const within = (ms: number) =>
      Promise.race([allFinished(), new Promise((r) => setTimeout(r, ms).unref())]);
    await within(graceMs + 5_000);
    // Whatever still waits on an unreachable database is given up; the next start marks it interrupted.
    for (const active of queue.all()) active.pipeline?.abandon();
    groups.abandon();
    await within(2_000);
  }

  /** At start-up: jobs this instance left queued or running (it stopped or died) become `interrupted`. */
  recoverInterrupted(): Promise<number> {
    return this.deps.recovery.interrupted();
  }

  /**
   * Several instances: the unfinished jobs of instances whose heartbeat is older than `staleSeconds`
   * (or that never had one) are taken over, once, and become `interrupted`.
   */
  recoverOrphans(staleSeconds: number): Promise<number> {
    return this.deps.recovery.orphans(staleSeconds);
  }

  get runningCount(): number {
    return this.deps.queue.runningCount;
  }

  /** Jobs waiting for room (maxConcurrent, an `@exclusive` twin, a fan-out's limit). */
  get queuedCount(): number {
    return this.deps.queue.queuedCount;
  }
}
