// The error codes of SPEC §2 and the HTTP status each one answers with.
import { z } from 'zod';

export const ERROR_STATUS = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  VALIDATION: 400,
  BAD_ARGS: 400,
  INTERACTIVE_TARGET: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNKNOWN_PROJECT: 404,
  UNKNOWN_TARGET: 404,
  UNKNOWN_HOST: 404,
  UNKNOWN_PRESET: 404,
  JOB_NOT_FOUND: 404,
  NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  TOKEN_NOT_FOUND: 404,
  SCHEDULE_NOT_FOUND: 404,
  /** A `@confirm` target, or a protected environment or project, started without its confirmation. */
  CONFIRM_REQUIRED: 400,
  /** make cannot read the project's Makefile; the message is make's. */
  MAKEFILE_ERROR: 422,
  JOB_FINISHED: 409,
  /** A username that is taken, or a change that would leave no admin. */
  CONFLICT: 409,
  /** A remote command outside a job failed (host unreachable, auth refused…). */
  REMOTE_FAILED: 502,
  MISDIRECTED: 421,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  DB_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ErrorCode = z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]);

export const ErrorBody = z.object({
  error: z.object({ code: ErrorCode, message: z.string() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** A socket acknowledgement: `{ok: true, ...data}` or `{ok: false, error}`. */
export type Ack<T extends object = object> =
  ({ ok: true } & T) | { ok: false; error: { code: ErrorCode; message: string } };
