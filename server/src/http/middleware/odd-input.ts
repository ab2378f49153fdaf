// Input no handler can use, refused at the boundary with a clear 400: a NUL character (Postgres
// stores none in text, and no name, filter or argument needs one) in the URL or a JSON body.
import type { RequestHandler } from 'express';
import { AppError } from '../../errors.js';

const NUL_ESCAPED = /%00/i;

function hasNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 32 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((v) => hasNul(v, depth + 1));
  return Object.entries(value).some(([k, v]) => k.includes('\u0000') || hasNul(v, depth + 1));
}

const nul = (where: string) =>
  new AppError('VALIDATION', `${where} holds a NUL character, which no field accepts`);

/** Before any parsing: the URL's path and query. */
export const rejectNulInUrl: RequestHandler = (req, _res, next) => {
  next(NUL_ESCAPED.test(req.url) || req.url.includes('\u0000') ? nul('the URL') : undefined);
};

/** After a JSON body parser. */
export const rejectNulInBody: RequestHandler = (req, _res, next) => {
  next(hasNul(req.body) ? nul('the request body') : undefined);
};
