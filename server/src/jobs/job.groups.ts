// Fan-out groups: one `group` job whose children run on many hosts, at most `maxParallel` at once.
// The group keeps a line per child as they end and takes its status from all of them (SPEC §2).
import type { JobStatus, StartFanout, StartedJob, User } from '@vmo/protocol';
import type { AuditRepository } from '../db/audit.repository.js';
import {
  triggerColumns,
  type JobRow,
  type JobsRepository,
  type StartTrigger,
} from '../db/jobs.repository.js';
import type { Logger } from '../logger.js';
import type { JobBus } from './job.bus.js';
import type { JobRecords } from './job.records.js';
import type { JobQueue } from './job.queue.js';
import type { JobRequests } from './job.requests.js';
import type { JobRuns } from './job.runs.js';
import type { OutputPipeline } from './output.pipeline.js';

export interface Group {
  row: JobRow;
  pipeline: OutputPipeline;
  remaining: number;
  statuses: JobStatus[];
  canceledBy?: string;
  interrupted?: string;
  /** Settles when the group has its final status. */
  finished: Promise<void>;
  release: () => void;
}

/** success only if every child succeeded; canceled if the group was; interrupted on shutdown; else failed. */
export function groupStatus(g: Pick<Group, 'statuses' | 'canceledBy' | 'interrupted'>): JobStatus {
  if (g.interrupted) return 'interrupted';
  if (g.canceledBy) return 'canceled';
  return g.statuses.every((s) => s === 'success') ? 'success' : 'failed';
}

export function childLine(
  row: Pick<JobRow, 'host' | 'vm' | 'status' | 'exit_code' | 'signal'>,
): string {
  const how = row.signal
    ? ` (${row.signal})`
    : row.exit_code !== null
      ? ` (exit ${row.exit_code})`
      : '';
  // A VM by its name, whichever ssh entry reached it.
  return `${row.vm ?? row.host ?? '?'}: ${row.status}${how}`;
}

export interface JobGroupsDeps {
  jobs: JobsRepository;
  audit: AuditRepository;
  requests: JobRequests;
  records: JobRecords;
  bus: JobBus;
  log: Logger;
  limits: { fanoutParallel: number };
  instanceId: string;
  /** The children wait in it like any job. */
  queue: JobQueue;
  /** Stops a child when its group is canceled. */
  runs: Pick<JobRuns, 'stop'>;
}

export class JobGroups {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly deps: JobGroupsDeps) {
    deps.queue.onSettled((child, row) => {
      if (child.groupId) void this.childDone(child.groupId, row);
    });
  }

  /** A group job with one child per host; children queue like any job, at most fanout.maxParallel at once. */
  async start(
    req: StartFanout,
    user: User,
    source: string | null,
    trigger?: StartTrigger,
  ): Promise<StartedJob> {
    const { records } = this.deps;
    const plan = await this.deps.requests.fanout(req, user);
    const row = await this.deps.jobs.create({
      type: 'group',
      status: 'running',
      ...plan.group,
      requested_by: user.id,
      instance_id: this.deps.instanceId,
      ...triggerColumns(trigger),
    });
    await this.deps.audit.add({
      userId: user.id,
      username: user.username,
      action: plan.audit.action,
      target: row.id,
      source,
      details: plan.audit.details,
    });
    records.changed(row);
    let release!: () => void;
    const finished = new Promise<void>((r) => (release = r));
    const group: Group = {
      row,
      pipeline: records.systemPipeline(row),
      remaining: plan.children.length,
      statuses: [],
      finished,
      release,
    };
    this.groups.set(row.id, group);
    this.deps.queue.openGroup(row.id);
    group.pipeline.system(
      `fan-out to ${plan.hosts.length} hosts (${plan.hosts.map((h) => h.replace(/^vm:/, '')).join(', ')}), at most ${this.deps.limits.fanoutParallel} at once`,
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
      records.changed(childRow);
      this.deps.queue.admit(childRow, child.launch, {
        exclusiveKey: child.exclusiveKey,
        groupId: row.id,
      });
    }
    return { jobId: row.id, type: 'group' };
  }

  /** The group with that id while it runs here. */
  get(id: string): Group | undefined {
    return this.groups.get(id);
  }

  /** Shutdown: every group ends `interrupted` once its children have. */
  interrupt(reason: string): void {
    for (const group of this.groups.values()) group.interrupted = reason;
  }

  /** Shutdown, after the grace: what still waits on an unreachable database is given up. */
  abandon(): void {
    for (const group of this.groups.values()) group.pipeline.abandon();
  }

  /** Settle when each group running now has its final status. */
  finished(): Promise<void>[] {
    return [...this.groups.values()].map((g) => g.finished);
  }

  /** A child ended: the group notes it, and ends itself after the last one. */
  async childDone(groupId: string, child: JobRow): Promise<void> {
    const group = this.groups.get(groupId);
    if (!group) return;
    group.statuses.push(child.status);
    group.pipeline.system(childLine(child));
    if (--group.remaining > 0) return;
    this.groups.delete(groupId);
    this.deps.queue.closeGroup(groupId);
    const status = groupStatus(group);
    const ok = group.statuses.filter((s) => s === 'success').length;
    group.pipeline.system(
      `${status}: ${ok} of ${group.statuses.length} hosts succeeded${group.canceledBy ? `; canceled by ${group.canceledBy}` : ''}`,
    );
    await group.pipeline.flush();
    try {
      const row = await this.deps.records.durably(() =>
        this.deps.jobs.transition(groupId, ['running'], { status, finished_at: new Date() }),
      );
      const final = row ?? { ...group.row, status };
      this.deps.records.changed(final);
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
  async cancel(group: Group, user: User): Promise<{ jobId: string; status: JobStatus }> {
    group.canceledBy ??= user.username;
    for (const child of this.deps.queue.children(group.row.id)) {
      await this.deps.runs.stop(
        child,
        user.username,
        `canceled with its group by ${user.username} before it started`,
      );
    }
    return { jobId: group.row.id, status: 'running' };
  }
}
