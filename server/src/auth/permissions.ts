// SPEC §4's rules about jobs, in one place: whose output a user may read and what they may cancel.
import { ROLE_RANK, type User } from '@vmo/protocol';
import type { JobRow } from '../db/jobs.repository.js';
import { AppError } from '../errors.js';

type JobFacts = Pick<JobRow, 'type' | 'preset' | 'target' | 'requested_by'>;

/** An ssh job that is neither a preset nor a project target: a command an admin typed. */
export const isAdHoc = (job: JobFacts): boolean =>
  job.type === 'ssh' && job.preset === null && job.target === null;

/**
 * Viewers read stream and ssh output; terminal output is its owner's and the admins' (what a
 * shell shows is as private as what is typed into it); ad-hoc output is the admins' only.
 */
export function canSeeOutput(user: User, job: JobFacts): boolean {
  if (user.role === 'admin') return true;
  if (isAdHoc(job)) return false;
  if (job.type === 'terminal') return job.requested_by === user.id;
  return true;
}

export function assertCanSeeOutput(user: User, job: JobFacts): void {
  if (!canSeeOutput(user, job))
    throw new AppError(
      'FORBIDDEN',
      job.type === 'terminal'
        ? 'only the owner of a terminal (or an admin) may see its output'
        : 'only admins may see the output of ad-hoc commands',
    );
}

/** Operators cancel catalog jobs; a terminal is its owner's (or an admin's), an ad-hoc job an admin's. */
export function assertCanCancel(user: User, job: JobFacts): void {
  if (ROLE_RANK[user.role] < ROLE_RANK.operator)
    throw new AppError('FORBIDDEN', 'this needs the operator role');
  if (user.role === 'admin') return;
  if (isAdHoc(job)) throw new AppError('FORBIDDEN', 'only admins may cancel ad-hoc commands');
  if (job.type === 'terminal' && job.requested_by !== user.id)
    throw new AppError('FORBIDDEN', 'only the owner of a terminal (or an admin) may end it');
}
