// The job history as the /jobs page shows it: one page at a time by cursor, newest first, kept
// current by `jobs:changed` (new jobs on top, status changes in place).
import type { Job, User } from '@vmo/protocol';
import { fetchJobs, type JobFilter } from '$lib/api/jobs.js';
import { matchesFilter } from './job-filter.js';
import { Snapshots } from './snapshots.js';

export const PAGE_SIZE = 50;

export class JobList {
  items = $state.raw<Job[]>([]);
  nextCursor = $state<string | null>(null);
  loading = $state(false);
  loadingMore = $state(false);
  error = $state<unknown>(null);

  #filter: JobFilter = {};
  #me: User;
  /** Only the latest load may write its answer: filters can change faster than replies come. */
  #generation = 0;
  #snapshots = new Snapshots();

  constructor(me: User) {
    this.#me = me;
  }

  /** The first page for `filter` (also a refresh when the filter is unchanged). */
  async load(filter: JobFilter = this.#filter): Promise<void> {
    this.#filter = filter;
    const generation = ++this.#generation;
    this.loading = true;
    try {
      const { value: page, since } = await this.#snapshots.take(() =>
        fetchJobs(filter, { limit: PAGE_SIZE }),
      );
      if (generation !== this.#generation) return;
      this.items = page.items;
      this.nextCursor = page.nextCursor;
      for (const job of since) this.#put(job);
      this.error = null;
    } catch (error) {
      if (generation === this.#generation) this.error = error;
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
  }

  async more(): Promise<void> {
    if (!this.nextCursor || this.loadingMore) return;
    const generation = this.#generation;
    this.loadingMore = true;
    try {
      const page = await fetchJobs(this.#filter, { before: this.nextCursor, limit: PAGE_SIZE });
      if (generation !== this.#generation) return;
      // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup, not state
      const known = new Set(this.items.map((j) => j.id));
      this.items = [...this.items, ...page.items.filter((j) => !known.has(j.id))];
      this.nextCursor = page.nextCursor;
      this.error = null;
    } catch (error) {
      if (generation === this.#generation) this.error = error;
    } finally {
      this.loadingMore = false;
    }
  }

  /** A `jobs:changed` job: updated where it is, or put on top if it is new and fits the filter. */
  apply(job: Job): void {
    this.#snapshots.heard(job);
    this.#put(job);
  }

  #put(job: Job): void {
    const i = this.items.findIndex((j) => j.id === job.id);
    if (i !== -1) {
      this.items = this.items.with(i, job);
      return;
    }
    const newest = this.items[0];
    const isNew = !newest || job.createdAt >= newest.createdAt;
    if (isNew && matchesFilter(job, this.#filter, this.#me)) this.items = [job, ...this.items];
  }
}
