// What the signed-in user may do with a job (SPEC §4); the server checks again, this only
// decides which buttons to offer.
import { FINAL_STATUSES, ROLE_RANK, type Job, type User } from '@vmo/protocol';

export const isFinal = (job: Pick<Job, 'status'>): boolean => FINAL_STATUSES.includes(job.status);

export const canRun = (user: User): boolean => ROLE_RANK[user.role] >= ROLE_RANK.operator;

export const canCancel = (user: User, job: Job): boolean => canRun(user) && !isFinal(job);

/** Terminal input is the owner's or an admin's, while the session runs. */
export const canType = (user: User, job: Job): boolean =>
  job.status === 'running' && (user.role === 'admin' || job.requestedBy?.id === user.id);
