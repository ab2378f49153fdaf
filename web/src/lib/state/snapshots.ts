// A list fetched over HTTP and kept current by `jobs:changed` races itself: a change can arrive
// while the fetch is in flight and the answer, computed before the change, would then overwrite
// it (a job started or failed during a page's first load stayed invisible until a reload).
// Snapshots records the changes heard while fetches are open, so each answer is handed back with
// the changes to replay over it; the latest change of a job wins, as on the socket.
import type { Job } from '@vmo/protocol';

export class Snapshots {
  #open = new Set<Map<string, Job>>();

  /** Runs `fetch`; its answer comes with the changes heard meanwhile, oldest first. */
  async take<T>(fetch: () => Promise<T>): Promise<{ value: T; since: Job[] }> {
    const heard = new Map<string, Job>();
    this.#open.add(heard);
    try {
      const value = await fetch();
      return { value, since: [...heard.values()] };
    } finally {
      this.#open.delete(heard);
    }
  }

  /** A change to remember for every fetch still open. */
  heard(job: Job): void {
    for (const heard of this.#open) {
      heard.delete(job.id); // keeps the order of the latest changes
      heard.set(job.id, job);
    }
  }
}
