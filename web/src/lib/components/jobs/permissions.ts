// What the signed-in user may do, as the server's one permission function answered it (SPEC §4):
// `GET /api/auth/me`'s `permissions` for what concerns no job in particular, and each Job's `can`.
// The web never decides by itself; it only reads these answers to offer or hide its controls.
import {
  FINAL_STATUSES,
  type GlobalAction,
  type Job,
  type PasswordState,
  type Permissions,
  type User,
} from '@vmo/protocol';

/** The signed-in user with what they may do, and where their password stands. */
export type Caller = User & { permissions: Permissions; password: PasswordState };

export const isFinal = (job: Pick<Job, 'status'>): boolean => FINAL_STATUSES.includes(job.status);

export const allowed = (caller: Caller, action: GlobalAction): boolean =>
  caller.permissions[action];

export const canRun = (caller: Caller): boolean => allowed(caller, 'job.run');

export const canCancel = (job: Pick<Job, 'can'>): boolean => job.can.cancel;

/** Terminal input is the owner's or an admin's, while the session runs. */
export const canType = (job: Pick<Job, 'can'>): boolean => job.can.input;

/** Why a control is not offered, for its tooltip. */
export const RUN_NEEDS = 'Running needs the operator role';
