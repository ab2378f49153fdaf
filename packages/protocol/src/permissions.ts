// The one permission function (SPEC §4): what a signed-in user, or a personal token carrying its
// user's role, may do. Every route and socket event on the server asks it, and every control in the
// web consults what it answered (`GET /api/auth/me`'s `permissions`, each Job's `can`). Pure: the
// server's settings that matter (`security.allowAdHoc`, `terminal.hostShells`) come with the subject.
import { z } from 'zod';
import { ROLE_RANK, User, type Role } from './auth.js';
import { FINAL_STATUSES } from './constants.js';
import type { JobCan, JobStatus, JobType } from './jobs.js';

/** Who may open a shell on a host or VM (`terminal.hostShells`); a shell also needs `security.allowAdHoc`. */
export const HostShells = z.enum(['admin', 'operator', 'off']);
export type HostShells = z.infer<typeof HostShells>;

/** The server's settings `can()` depends on. */
export interface Policy {
  allowAdHoc: boolean;
  hostShells: HostShells;
}

/** A user, or a personal token acting with its user's role. */
export interface Subject {
  id: string;
  role: Role;
  policy: Policy;
}

/** What `can()` needs to know about a job. */
export interface JobFacts {
  type: JobType;
  status: JobStatus;
  preset: string | null;
  target: string | null;
  project: string | null;
  requestedBy: { id: string } | null;
}

/** Actions about no object in particular: these make up `GET /api/auth/me`'s `permissions`. */
export const GLOBAL_ACTIONS = [
  'catalog.read',
  'catalog.refresh',
  'jobs.list',
  'job.run',
  'terminal.open',
  'hostShell.open',
  'adhoc.run',
  'tokens.manage',
  'users.manage',
  'audit.read',
  'schedules.manage',
  'triggers.manage',
  'notifications.manage',
] as const;
export type GlobalAction = (typeof GLOBAL_ACTIONS)[number];

/** Actions about one job: these make up each Job's `can`. */
export const JOB_ACTIONS = [
  'job.readOutput',
  'job.readCommand',
  'job.cancel',
  'job.rerun',
  'job.input',
] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

export type Action = GlobalAction | JobAction;

export const Permissions = z.object(
  Object.fromEntries(GLOBAL_ACTIONS.map((a) => [a, z.boolean()])) as Record<
    GlobalAction,
    z.ZodBoolean
  >,
);
export type Permissions = z.infer<typeof Permissions>;

/** Whether the caller has a password, and whether changing it needs the current one. */
export const PasswordState = z.object({ set: z.boolean(), currentRequired: z.boolean() });
export type PasswordState = z.infer<typeof PasswordState>;

/** `GET /api/auth/me`: who the caller is, what it may do, and where its password stands. */
export const Me = z.object({ user: User, permissions: Permissions, password: PasswordState });
export type Me = z.infer<typeof Me>;

/** `allowed`, or not with the reason a tooltip or a 403 gives. */
export type Decision = { allowed: true } | { allowed: false; reason: string };

const yes: Decision = { allowed: true };
const no = (reason: string): Decision => ({ allowed: false, reason });

const atLeast = (s: Subject, role: Role): Decision =>
  ROLE_RANK[s.role] >= ROLE_RANK[role] ? yes : no(`this needs the ${role} role`);

/** An ssh job that is neither a preset nor a project target: a command an admin typed. */
export const isAdHoc = (job: Pick<JobFacts, 'type' | 'preset' | 'target'>): boolean =>
  job.type === 'ssh' && job.preset === null && job.target === null;

/** A terminal job with no project: a login shell on a host. */
export const isHostShell = (job: Pick<JobFacts, 'type' | 'project'>): boolean =>
  job.type === 'terminal' && job.project === null;

const owns = (s: Subject, job: JobFacts) => job.requestedBy?.id === s.id;

function adHoc(s: Subject): Decision {
  if (!s.policy.allowAdHoc) return no('ad-hoc commands are turned off (security.allowAdHoc)');
  return s.role === 'admin' ? yes : no('ad-hoc commands need the admin role');
}

function hostShell(s: Subject): Decision {
  if (s.policy.hostShells === 'off')
    return no('shells on hosts are turned off (terminal.hostShells)');
  if (!s.policy.allowAdHoc)
    return no(
      'a shell on a host is an ad-hoc command, and those are turned off (security.allowAdHoc)',
    );
  return ROLE_RANK[s.role] >= ROLE_RANK[s.policy.hostShells]
    ? yes
    : no(`shells on hosts need the ${s.policy.hostShells} role (terminal.hostShells)`);
}

/** Whether the output (and the log download) of `job` is the subject's to read. */
function readOutput(s: Subject, job: JobFacts): Decision {
  if (s.role === 'admin') return yes;
  if (isAdHoc(job)) return no('only admins may read the output of ad-hoc commands');
  if (job.type === 'terminal' && !owns(s, job))
    return no('only the owner of a terminal (or an admin) may read what it showed');
  return yes;
}

function cancel(s: Subject, job: JobFacts): Decision {
  if (FINAL_STATUSES.includes(job.status)) return no(`it has already ended (${job.status})`);
  const role = atLeast(s, 'operator');
  if (!role.allowed) return role;
  if (s.role === 'admin') return yes;
  if (isAdHoc(job)) return no('only admins may cancel ad-hoc commands');
  if (job.type === 'terminal' && !owns(s, job))
    return no('only the owner of a terminal (or an admin) may end it');
  return yes;
}

function rerun(s: Subject, job: JobFacts): Decision {
  const role = atLeast(s, 'operator');
  if (!role.allowed) return role;
  if (isAdHoc(job)) return adHoc(s);
  if (job.type === 'terminal')
    return isHostShell(job) ? hostShell(s) : no('open a terminal again from its target');
  if (job.type === 'group') return yes;
  if (job.target === null && job.preset === null) return no('there is nothing to run again');
  return yes;
}

function input(s: Subject, job: JobFacts): Decision {
  if (job.type !== 'terminal') return no('only terminals take input');
  if (job.status !== 'running') return no('the terminal is not open');
  return s.role === 'admin' || owns(s, job)
    ? yes
    : no('only the owner of a terminal (or an admin) may type into it');
}

/** The whole rule, with the reason when the answer is no. `job` is required for job actions. */
export function decide(subject: Subject, action: GlobalAction): Decision;
export function decide(subject: Subject, action: JobAction, job: JobFacts): Decision;
export function decide(subject: Subject, action: Action, job?: JobFacts): Decision;
export function decide(subject: Subject, action: Action, job?: JobFacts): Decision {
  switch (action) {
    case 'catalog.read':
    case 'jobs.list':
    case 'tokens.manage':
      return yes;
    case 'catalog.refresh':
    case 'job.run':
    case 'terminal.open':
    case 'schedules.manage':
      return atLeast(subject, 'operator');
    case 'hostShell.open':
      return hostShell(subject);
    case 'adhoc.run':
      return adHoc(subject);
    case 'users.manage':
    case 'audit.read':
    case 'triggers.manage':
    case 'notifications.manage':
      return atLeast(subject, 'admin');
    case 'job.readOutput':
    case 'job.readCommand':
    case 'job.cancel':
    case 'job.rerun':
    case 'job.input':
      if (!job) throw new TypeError(`can(${action}) needs the job`);
      return decideOnJob(subject, action, job);
  }
}

function decideOnJob(subject: Subject, action: JobAction, job: JobFacts): Decision {
  switch (action) {
    case 'job.readOutput':
      return readOutput(subject, job);
    case 'job.readCommand':
      return isAdHoc(job) && subject.role !== 'admin'
        ? no('only admins may see the text of ad-hoc commands')
        : yes;
    case 'job.cancel':
      return cancel(subject, job);
    case 'job.rerun':
      return rerun(subject, job);
    case 'job.input':
      return input(subject, job);
  }
}

/**
 * Whether the subject may change, pause, run or delete a schedule: its owner (an operator or
 * above), or an admin.
 */
export function decideOnSchedule(subject: Subject, schedule: { ownerId: string | null }): Decision {
  const role = atLeast(subject, 'operator');
  if (!role.allowed) return role;
  if (subject.role === 'admin' || schedule.ownerId === subject.id) return yes;
  return no('only its owner (or an admin) may change a schedule');
}

/** `can(subject, action, object?)`: the yes or no of `decide`. */
export function can(subject: Subject, action: GlobalAction): boolean;
export function can(subject: Subject, action: JobAction, job: JobFacts): boolean;
export function can(subject: Subject, action: Action, job?: JobFacts): boolean {
  return decide(subject, action, job as JobFacts).allowed;
}

/** Every global action's answer, for `GET /api/auth/me`. */
export function permissionsOf(subject: Subject): Permissions {
  return Object.fromEntries(GLOBAL_ACTIONS.map((a) => [a, can(subject, a)])) as Permissions;
}

/** A job's `can` for this subject. */
export function jobCan(subject: Subject, job: JobFacts): JobCan {
  return {
    cancel: can(subject, 'job.cancel', job),
    rerun: can(subject, 'job.rerun', job),
    readOutput: can(subject, 'job.readOutput', job),
    input: can(subject, 'job.input', job),
  };
}
