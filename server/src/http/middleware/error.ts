// The one error middleware: every failure becomes `{error: {code, message}}` with its status.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../../logger.js';
import { AppError, toAppError } from '../../errors.js';

export const notFound: RequestHandler = (req, _res, next) =>
  next(new AppError('NOT_FOUND', `no route ${req.method} ${req.path}`));

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const parserError = bodyParserError(err);
    const appError = parserError ?? toAppError(err);
    if (appError.code === 'INTERNAL')
      log.error({ err, method: req.method, path: req.path }, 'request failed');
    else if (appError.code === 'DB_UNAVAILABLE')
      log.warn({ path: req.path }, 'request failed: database unavailable');
    if (res.headersSent) return;
    res.status(appError.status).json({ error: { code: appError.code, message: appError.message } });
  };
}

/**
 * express.json() errors (too large → 413, unparsable or badly compressed → 400 VALIDATION), and a
 * path parameter that is not UTF-8 once decoded (the router's URIError) → 400 VALIDATION.
 */
function bodyParserError(err: unknown): AppError | null {
  if (err instanceof URIError)
    return new AppError('VALIDATION', 'a path parameter is not valid percent-encoded UTF-8');
  const e = err as { type?: string; limit?: number; code?: string; status?: number };
  if (e?.status === 400 && typeof e.code === 'string' && e.code.startsWith('Z_'))
    return new AppError('VALIDATION', 'the request body does not match its Content-Encoding');
  if (e?.type === 'entity.too.large')
    return new AppError(
      'PAYLOAD_TOO_LARGE',
      `the request body is larger than ${e.limit ?? 'the limit'} bytes`,
    );
  if (e?.type === 'entity.parse.failed')
    return new AppError('VALIDATION', 'the request body is not valid JSON');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
    return new AppError('VALIDATION', 'unsupported body encoding');
  return null;
}
