// A run saved to be started later (a schedule's, a trigger's): checked when it is saved as a start
// by hand would be, and started as a user through the job service, with what started it.
import type { ScheduleRun, StartedJob, User } from '@vmo/protocol';
import type { AuditRepository } from '../db/audit.repository.js';
import type { Access } from '../auth/permissions.js';
import type { StartTrigger } from '../db/jobs.repository.js';
import type { JobRequests } from '../jobs/job.requests.js';
import type { JobService } from '../jobs/job.service.js';
import { AppError } from '../errors.js';

export interface SavedRunsDeps {
  jobs: JobService;
  requests: JobRequests;
  access: Access;
}

export class SavedRuns {
  constructor(private readonly deps: SavedRunsDeps) {}

  /**
   * The request as a start by hand would check it, now: the role, an ad-hoc command's rules, a
   * target or preset that exists, and a @confirm target's or protected place's confirmation.
   */
  async check(run: ScheduleRun, user: User): Promise<void> {
    const { access, requests } = this.deps;
    access.assert(user, 'job.run');
    if (run.kind === 'stream') await requests.stream(run.request);
    else if (run.kind === 'ssh') requests.ssh(run.request, user);
    else await requests.fanout(run.request, user);
  }

  start(
    run: ScheduleRun,
    user: User,
    source: string | null,
    trigger: StartTrigger,
  ): Promise<StartedJob> {
    const { jobs } = this.deps;
    switch (run.kind) {
      case 'stream':
        return jobs.startStream(run.request, user, source, trigger);
      case 'ssh':
        return jobs.startSsh(run.request, user, source, trigger);
      case 'fanout':
        return jobs.startFanout(run.request, user, source, trigger);
    }
  }
}

/**
 * The run with `args` given at start: a target's make variables, a preset's parameters, over those
 * saved. The rails check them as any run's.
 */
export function withArgs(run: ScheduleRun, args: Record<string, string> | undefined): ScheduleRun {
  if (!args || Object.keys(args).length === 0) return run;
  switch (run.kind) {
    case 'stream':
      return {
        kind: 'stream',
        request: { ...run.request, args: { ...run.request.args, ...args } },
      };
    case 'ssh':
      if (!('preset' in run.request))
        throw new AppError('BAD_ARGS', 'an ad-hoc command takes no arguments');
      return {
        kind: 'ssh',
        request: { ...run.request, params: { ...run.request.params, ...args } },
      };
    case 'fanout':
      return run.request.preset !== undefined
        ? {
            kind: 'fanout',
            request: { ...run.request, params: { ...run.request.params, ...args } },
          }
        : { kind: 'fanout', request: { ...run.request, args: { ...run.request.args, ...args } } };
  }
}

/**
 * An audit entry about a saved run's holder (a schedule, a trigger), named in the details under
 * `kind`; by the user who acted, or by nobody (a schedule whose owner is gone).
 */
export function auditSaved(
  audit: AuditRepository,
  entry: {
    user: User | null;
    action: string;
    holder: { kind: 'schedule' | 'trigger'; id: string; name: string };
    source: string | null;
    details: Record<string, unknown>;
  },
): Promise<void> {
  return audit.add({
    userId: entry.user?.id ?? null,
    username: entry.user?.username ?? null,
    action: entry.action,
    target: entry.holder.id,
    source: entry.source,
    details: { [entry.holder.kind]: entry.holder.name, ...entry.details },
  });
}
