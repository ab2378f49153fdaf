// Which `jobs:changed` updates mean "a job you started has ended": the signed-in layout turns
// those into toasts. Only a job this tab saw before it ended (queued or running), or started
// itself, counts: a page load must not greet the user with every job that ended while away.
import type { Job, JobStatus } from '@vmo/protocol';

/** The statuses a run ends with. `spawned` (handed to a terminal app) is final but not an end. */
export const ENDED_STATUSES: readonly JobStatus[] = [
  'success',
  'failed',
  'canceled',
  'interrupted',
];
const WAITING: readonly JobStatus[] = ['queued', 'running'];

/** Jobs started from this tab (one module per tab in the SPA): see `noteStartedHere`. */
const startedInThisTab = new Set<string>();

/** Called with the id of every job this tab starts (run, terminal, re-run). */
export function noteStartedHere<T extends { jobId: string }>(started: T): T {
  startedInThisTab.add(started.jobId);
  return started;
}

export class JobEnds {
  #waiting = new Set<string>();
  readonly #meId: string;
  readonly #startedHere: Set<string>;

  constructor(meId: string, startedHere: Set<string> = startedInThisTab) {
    this.#meId = meId;
    this.#startedHere = startedHere;
  }

  /** Whether this tab follows the job (saw it queued or running, or started it). */
  known(jobId: string): boolean {
    return this.#waiting.has(jobId) || this.#startedHere.has(jobId);
  }

  /** How many of the user's jobs it knows to be queued or running. */
  get running(): number {
    return this.#waiting.size;
  }

  /** The jobs it waits to hear the end of: after a reconnect, read them again (a missed end). */
  get waiting(): string[] {
    return [...new Set([...this.#waiting, ...this.#startedHere])];
  }

  /** The job, if this update ends one of the user's jobs to tell them about; otherwise null. */
  observe(job: Job): Job | null {
    // A fan-out's children end with their group, which is what the user started.
    if (job.requestedBy?.id !== this.#meId || job.parentId !== null) return null;
    if (WAITING.includes(job.status)) {
      this.#waiting.add(job.id);
      return null;
    }
    const seen = this.#waiting.delete(job.id);
    const startedHere = this.#startedHere.delete(job.id);
    const known = seen || startedHere;
    // A schedule's runs say so only when they did not succeed: one a minute must not bury the page.
    const quiet = job.trigger.kind === 'schedule' && job.status === 'success';
    return known && !quiet && ENDED_STATUSES.includes(job.status) ? job : null;
  }
}

/** "make hello — success": the target for make runs, else the command itself. */
export function jobEndMessage(job: Job): string {
  const what = job.target ? `make ${job.target}` : job.command;
  return `${what} — ${job.status}`;
}
