// The server's side of the one permission function: `can()` from the protocol, given this server's
// settings, asked by every route and socket event; and each Job as one caller may see it.
import {
  can,
  decide,
  jobCan,
  permissionsOf,
  type Action,
  type GlobalAction,
  type Job,
  type JobAction,
  type JobFacts,
  type JobRecord,
  type Permissions,
  type Policy,
  type Subject,
  type User,
} from '@vmo/protocol';
import { AppError } from '../errors.js';

/** What a caller who may not read an ad-hoc command sees instead of it. */
export const HIDDEN_COMMAND = '(ad-hoc command, shown to admins only)';

/** Any ad-hoc command, as can() sees it: whether a caller may read such a command's text. */
export const AD_HOC_FACTS: JobFacts = {
  type: 'ssh',
  status: 'success',
  preset: null,
  target: null,
  project: null,
  requestedBy: null,
};

export class Access {
  constructor(readonly policy: Policy) {}

  subject(user: Pick<User, 'id' | 'role'>): Subject {
    return { id: user.id, role: user.role, policy: this.policy };
  }

  can(user: Pick<User, 'id' | 'role'>, action: GlobalAction): boolean;
  can(user: Pick<User, 'id' | 'role'>, action: JobAction, job: JobFacts): boolean;
  can(user: Pick<User, 'id' | 'role'>, action: Action, job?: JobFacts): boolean {
    return can(this.subject(user), action as JobAction, job as JobFacts);
  }

  /** 403 FORBIDDEN with `can()`'s reason when the answer is no. */
  assert(user: Pick<User, 'id' | 'role'>, action: GlobalAction): void;
  assert(user: Pick<User, 'id' | 'role'>, action: JobAction, job: JobFacts): void;
  assert(user: Pick<User, 'id' | 'role'>, action: Action, job?: JobFacts): void {
    const d = decide(this.subject(user), action, job);
    if (!d.allowed) throw new AppError('FORBIDDEN', d.reason);
  }

  permissions(user: Pick<User, 'id' | 'role'>): Permissions {
    return permissionsOf(this.subject(user));
  }

  /** The job as this caller gets it: what they may do with it, and no command they may not read. */
  present(job: JobRecord, user: Pick<User, 'id' | 'role'>): Job {
    const subject = this.subject(user);
    const command = can(subject, 'job.readCommand', job) ? job.command : hiddenCommand(job);
    return { ...job, command, can: jobCan(subject, job) };
  }
}

function hiddenCommand(job: JobRecord): string {
  if (job.vm) return `${HIDDEN_COMMAND} @ ${job.vm}`;
  return job.host ? `ssh ${job.host} -- ${HIDDEN_COMMAND}` : HIDDEN_COMMAND;
}

/** A stored row's facts, as `can()` wants them. */
export const factsOf = (row: {
  type: JobFacts['type'];
  status: JobFacts['status'];
  preset: string | null;
  target: string | null;
  project: string | null;
  requested_by: string | null;
}): JobFacts => ({
  type: row.type,
  status: row.status,
  preset: row.preset,
  target: row.target,
  project: row.project,
  requestedBy: row.requested_by ? { id: row.requested_by } : null,
});
