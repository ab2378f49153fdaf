// Jobs that are queued or running right now, kept current by `jobs:changed`: the dashboard's
// "Running" card and the project page's per-target running state (seed F5) read it.
import type { Job } from '@vmo/protocol';
import { FINAL_STATUSES } from '@vmo/protocol';
import { fetchJobs } from '$lib/api/jobs.js';
import type { JobsSocket } from '$lib/realtime/connection.svelte.js';
import { Snapshots } from './snapshots.js';

const isActive = (job: Job) => !FINAL_STATUSES.includes(job.status);

/** Newest first, one entry per job; a job that ended leaves the list. */
export function applyActive(items: readonly Job[], job: Job): Job[] {
  const rest = items.filter((j) => j.id !== job.id);
  if (!isActive(job)) return rest;
  return [job, ...rest].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export class ActiveJobs {
  items = $state.raw<Job[]>([]);
  /** True until the first answer: the views show placeholders, not "nothing is running". */
  loading = $state(true);
  error = $state<unknown>(null);
  #snapshots = new Snapshots();

  /** Asks the server (again, e.g. after a reconnect, when changes may have been missed). */
  async load(): Promise<void> {
    try {
      const { value, since } = await this.#snapshots.take(() =>
        Promise.all([
          fetchJobs({ status: 'running' }, { limit: 500 }),
          fetchJobs({ status: 'queued' }, { limit: 500 }),
        ]),
      );
      let items: Job[] = [];
      for (const job of [...value[0].items, ...value[1].items, ...since]) {
        items = applyActive(items, job);
      }
      this.items = items;
      this.error = null;
    } catch (error) {
      this.error = error;
    } finally {
      this.loading = false;
    }
  }

  apply(job: Job): void {
    this.#snapshots.heard(job);
    this.items = applyActive(this.items, job);
  }

  /** Follows `jobs:changed` and reloads on every (re)connect; returns the unsubscribe. */
  follow(socket: JobsSocket): () => void {
    const onChanged = ({ job }: { job: Job }) => this.apply(job);
    const onConnect = () => void this.load();
    socket.on('jobs:changed', onChanged);
    socket.on('connect', onConnect);
    return () => {
      socket.off('jobs:changed', onChanged);
      socket.off('connect', onConnect);
    };
  }

  /** The running or queued stream job of one target, if any (the newest). */
  forTarget(alias: string, target: string): Job | undefined {
    return this.items.find(
      (j) => j.project === alias && j.target === target && j.host === null && j.parentId === null,
    );
  }
}
