// Parses a request part with a protocol schema; failures become 400 VALIDATION naming the field.
import type { RequestHandler } from 'express';
import type { ParamsDictionary } from 'express-serve-static-core';
import type { z } from 'zod';
import { parseInput } from '../../boundary/input.js';

export type RequestPart = 'body' | 'query' | 'params';

/**
 * Typed so that the route's next handler sees `req.body` as the schema's output. The schema and the
 * part stay readable on the handler, so a test can hold the API description (route-table.ts) to
 * what each route really checks.
 */
export function validate<T extends z.ZodType>(
  schema: T,
  part: RequestPart = 'body',
): RequestHandler<ParamsDictionary, unknown, z.infer<T>> & { schema: T; part: RequestPart } {
  const handler: RequestHandler<ParamsDictionary, unknown, z.infer<T>> = (req, _res, next) => {
    let data: z.infer<T>;
    try {
      data = parseInput(schema, req[part]);
    } catch (err) {
      return next(err);
    }
    if (part === 'body') req.body = data;
    else req.validated = data;
    next();
  };
  return Object.assign(handler, { schema, part });
}

declare module 'express-serve-static-core' {
  interface Request {
    /** The parsed query or params of the route's validate() middleware. */
    validated?: unknown;
  }
}
