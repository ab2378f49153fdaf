// The jobs this server holds, from the moment they are admitted to the moment their end is stored:
// who waits and why (jobs.maxConcurrent, an `@exclusive` twin, a fan-out's limit), who starts next
// (first in, first out among those that may), and what each running job holds (its exclusive key,
// its group's slot). It runs nothing itself: the worker given to serve() does (JobRuns.run).
import type { Waiting } from '@vmo/protocol';
import type { JobRow } from '../db/jobs.repository.js';
import type { Logger } from '../logger.js';
import type { RunHandle } from '../runners/runner.js';
import type { Launch } from './job.requests.js';
import type { OutputPipeline } from './output.pipeline.js';

/** A job this server holds, from the queue to its end. */
export interface Active {
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
  /** Settles when the job has its final status (stored, or given up on). */
  finished: Promise<void>;
}

export interface QueueLimits {
  maxConcurrent: number;
  /** Children of one fan-out running at once. */
  fanoutParallel: number;
}

export interface JobQueueDeps {
  limits: QueueLimits;
  /** Why each queued job waits: written here, shown by the job queries. */
  waiting: Map<string, Waiting>;
  /** Announces a job whose reason to wait changed. */
  changed(row: JobRow): void;
  log: Logger;
}

/** Runs one job to its end; what it throws is logged, and the job's place is freed all the same. */
export type Worker = (active: Active) => Promise<void>;
export type SettledListener = (active: Active, row: JobRow) => void;

export class JobQueue {
  private readonly held = new Map<string, Active>();
  private readonly releases = new Map<string, () => void>();
  /** Ids of admitted jobs that have not started, in the order they came. */
  private readonly line: string[] = [];
  /** Batch jobs started and not yet let go (terminals do not count: they never wait). */
  private running = 0;
  /** `project:target` of `@exclusive` targets running now, and the job that runs it. */
  private readonly busyKeys = new Map<string, string>();
  /** Each open fan-out's children running now. */
  private readonly groupSlots = new Map<string, number>();
  private readonly settledListeners: SettledListener[] = [];
  private worker?: Worker;
  private closed = false;

  constructor(private readonly deps: JobQueueDeps) {}

  /** The worker that runs each job the queue starts; admitted jobs wait until there is one. */
  serve(worker: Worker): void {
    this.worker = worker;
    this.pump();
  }

  /** Called with each job whose end is stored (settle()), e.g. to end a fan-out after its last child. */
  onSettled(listener: SettledListener): void {
    this.settledListeners.push(listener);
  }

  /** Holds the job and lines it up; it starts as soon as nothing keeps it waiting. */
  admit(row: JobRow, launch: Launch, options: { exclusiveKey?: string; groupId?: string } = {}) {
    let release!: () => void;
    const finished = new Promise<void>((r) => (release = r));
    const active: Active = { row, launch, finished, ...options };
    this.held.set(row.id, active);
    this.releases.set(row.id, release);
    this.line.push(row.id);
    this.pump();
    return active;
  }

  get(id: string): Active | undefined {
    return this.held.get(id);
  }

  /** Every job held: queued, starting or running. */
  all(): Active[] {
    return [...this.held.values()];
  }

  /** The fan-out's children held here: queued, starting or running. */
  children(groupId: string): Active[] {
    return this.all().filter((a) => a.groupId === groupId);
  }

  /** Takes a job that has not started out of the line; false when it is not waiting there. */
  withdraw(id: string): boolean {
    const at = this.line.indexOf(id);
    if (at < 0) return false;
    this.line.splice(at, 1);
    this.deps.waiting.delete(id);
    return true;
  }

  /** Shutdown: nothing starts any more; the jobs that were waiting are taken out and returned. */
  close(): Active[] {
    this.closed = true;
    this.deps.waiting.clear();
    return this.line.splice(0).map((id) => this.held.get(id)!);
  }

  /** A fan-out whose children count against `fanoutParallel` while they run. */
  openGroup(groupId: string): void {
    this.groupSlots.set(groupId, 0);
  }

  closeGroup(groupId: string): void {
    this.groupSlots.delete(groupId);
  }

  /** The job has its final status: it is let go, and whoever waits on it hears so. */
  settle(active: Active, row: JobRow): void {
    this.letGo(active);
    for (const listener of this.settledListeners) listener(active, row);
  }

  /** Shutting down: nothing starts any more. */
  get isClosed(): boolean {
    return this.closed;
  }

  get runningCount(): number {
    return this.running;
  }

  /** Jobs waiting for room (maxConcurrent, an `@exclusive` twin, a fan-out's limit). */
  get queuedCount(): number {
    return this.line.length;
  }

  private letGo(active: Active): void {
    this.held.delete(active.row.id);
    const release = this.releases.get(active.row.id);
    this.releases.delete(active.row.id);
    release?.();
  }

  /** Starts queued jobs in order while there is room; an `@exclusive` target waits for its running twin. */
  private pump(): void {
    const worker = this.worker;
    if (!worker || this.closed) return;
    for (let i = 0; i < this.line.length;) {
      const active = this.held.get(this.line[i]!)!;
      // A terminal is a person waiting at a prompt: it never queues behind batch jobs.
      const interactive = active.launch.runner === 'pty';
      const wait = this.blocker(active, interactive);
      if (wait) {
        this.wait(active, wait);
        i++;
        continue;
      }
      this.line.splice(i, 1);
      this.deps.waiting.delete(active.row.id);
      this.claim(active, interactive);
      worker(active)
        .catch((err: unknown) =>
          this.deps.log.error({ err, jobId: active.row.id }, 'job runner failed'),
        )
        .finally(() => {
          // Also when the worker threw (shutdown during an outage): nobody waits on this job any more.
          this.letGo(active);
          this.free(active, interactive);
          this.pump();
        });
    }
  }

  private claim(active: Active, interactive: boolean): void {
    if (active.exclusiveKey) this.busyKeys.set(active.exclusiveKey, active.row.id);
    const slots = active.groupId ? this.groupSlots.get(active.groupId) : undefined;
    if (slots !== undefined) this.groupSlots.set(active.groupId!, slots + 1);
    if (!interactive) this.running++;
  }

  private free(active: Active, interactive: boolean): void {
    if (active.exclusiveKey) this.busyKeys.delete(active.exclusiveKey);
    const slots = active.groupId ? this.groupSlots.get(active.groupId) : undefined;
    if (slots !== undefined) this.groupSlots.set(active.groupId!, slots - 1);
    if (!interactive) this.running--;
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
      const command = this.held.get(twin)?.row.command ?? 'run';
      return {
        reason: 'exclusive',
        jobId: twin,
        message: `waits for the running ${command} to end (one run at a time)`,
      };
    }
    const slots = active.groupId ? this.groupSlots.get(active.groupId) : undefined;
    if (slots !== undefined && slots >= fanoutParallel)
      return {
        reason: 'fanout',
        message: `waits for a free place in its fan-out (fanout.maxParallel is ${fanoutParallel})`,
      };
    return null;
  }

  /** Records why a queued job waits, and announces it when that changed. */
  private wait(active: Active, wait: Waiting): void {
    const before = this.deps.waiting.get(active.row.id);
    if (before?.reason === wait.reason && before.jobId === wait.jobId) return;
    this.deps.waiting.set(active.row.id, wait);
    this.deps.changed(active.row);
  }
}
