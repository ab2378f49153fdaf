// One error type for the whole server; the error middleware and socket acks turn it into SPEC §2's shape.
import { ERROR_STATUS, type ErrorCode } from '@vmo/protocol';

export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

export const unauthenticated = () => new AppError('UNAUTHENTICATED', 'sign in first');
export const forbidden = (why: string) => new AppError('FORBIDDEN', why);

/** Postgres client errors that mean "the database is not reachable", not "the query is wrong". */
export function isDbUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code ?? '';
  return (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'ENOTFOUND',
      '57P01',
      '57P03',
      '08006',
      '08001',
      '08003',
    ].includes(code) ||
    // pg's words for a dropped connection, a pool with no free connection in time, a connection
    // that broke, and a new connection not up in time.
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|^timeout expired$/i.test(
      err.message,
    )
  );
}

/**
 * Postgres errors that no retry can mend: bad data (22), a broken constraint such as the job's row
 * being gone (23), a wrong statement or missing table (42), a value too large (54).
 */
export function isPermanentDbError(err: unknown): boolean {
  if (!(err instanceof Error) || isDbUnavailable(err)) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|42|54)[0-9A-Z]{3}$/.test(code);
}

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isDbUnavailable(err))
    return new AppError('DB_UNAVAILABLE', 'the database is unreachable; try again shortly');
  return new AppError('INTERNAL', 'internal error');
}
