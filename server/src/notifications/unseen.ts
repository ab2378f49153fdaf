// The ends of a user's own jobs, kept until a page of theirs has shown them (issue 24): an end
// that came while no tab of theirs was open, or while it was out of sight, is told on the next
// page they open. Only what the toast would tell: the user's top-level jobs that ended, not a
// terminal handed to a desktop app, and not a schedule's successful runs.
import type { Job, JobRecord, User } from '@vmo/protocol';
import { FINAL_STATUSES } from '@vmo/protocol';
import type { UnseenRepository } from '../db/unseen.repository.js';
import type { JobBus } from '../jobs/job.bus.js';
import type { JobQueries } from '../jobs/job.queries.js';
import type { Logger } from '../logger.js';

/** Whether the end of `job` is one its owner is told of. */
export function tellsOwner(job: JobRecord): boolean {
  if (!job.requestedBy || job.parentId !== null) return false;
  if (!FINAL_STATUSES.includes(job.status) || job.status === 'spawned') return false;
  return !(job.trigger.kind === 'schedule' && job.status === 'success');
}

export class UnseenEnds {
  constructor(
    private readonly deps: {
      unseen: UnseenRepository;
      queries: JobQueries;
      log: Logger;
    },
  ) {}

  /** Records the ends the bus announces (this instance's jobs: each end once). Returns the stop. */
  listen(bus: JobBus): () => void {
    return bus.onChanged((job) => {
      if (!tellsOwner(job)) return;
      this.deps.unseen
        .add(job.requestedBy!.id, job.id)
        .catch((err: unknown) =>
          this.deps.log.warn({ jobId: job.id, err: (err as Error).message }, 'unseen end not kept'),
        );
    });
  }

  /** The caller's unseen ends, newest first (jobs deleted since are gone from the list). */
  async list(user: User): Promise<Job[]> {
    const ids = await this.deps.unseen.list(user.id);
    const jobs: Job[] = [];
    for (const id of ids) {
      const job = await this.deps.queries.get(id, user).catch(() => null);
      if (job) jobs.push(job);
    }
    return jobs;
  }

  seen(user: User, jobIds: readonly string[]): Promise<void> {
    return this.deps.unseen.seen(user.id, jobIds);
  }
}
