// Mounts a group of the protocol's route declarations (ROUTE_TABLE) on an Express router: each
// route gets its method and path, its access check (the declaration's can() rule), the validation
// of its body and query with the declared schemas, and its answer sent with the declared status.
// A route's handler only turns the parsed input into the answer.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { ApiRoute, Rule, User } from '@vmo/protocol';
import type { z } from 'zod';
import type { Access } from '../auth/permissions.js';
import { allow, requireAuth } from './middleware/authenticate.js';
import { validate } from './middleware/validate.js';

/** A handler's answer when it wrote the response itself (a download, a redirect, a 503 body). */
export const ANSWERED = Object.freeze({ answered: true as const });
type Answered = typeof ANSWERED;

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface Input<R extends ApiRoute> {
  body: Parsed<R['body']>;
  query: Parsed<R['query']>;
  params: Record<string, string>;
  /** The caller; absent only on public routes. */
  user: User;
}

/** The body the declaration promises (its `ok.json`), or nothing for an empty answer. */
export type Reply<R extends ApiRoute> = R['ok'] extends { json: infer S extends z.ZodType }
  ? z.input<S>
  : void;

export type Handler<R extends ApiRoute> = (
  input: Input<R>,
  req: Request,
  res: Response,
) => Reply<R> | Answered | Promise<Reply<R> | Answered>;

export interface RouteImpl<R extends ApiRoute> {
  /** Who the caller is (a session, a token), where the router is not behind that already. */
  authenticate?: RequestHandler[];
  /** After the access check, before validation: the route's own body parser, rate limits. */
  before?: RequestHandler[];
  handle: Handler<R>;
}

export type Handlers<G extends Record<string, ApiRoute>> = {
  [K in keyof G]: Handler<G[K]> | RouteImpl<G[K]>;
};

export interface MountOptions {
  access: Access;
  /** The path the router is mounted under (`/api`), cut from the declared paths. */
  prefix?: string;
}

/** The access check a rule stands for. */
export function guard(rule: Rule, access: Access): RequestHandler[] {
  if (rule === 'public') return [];
  if (rule === 'signedIn') return [requireAuth];
  return [requireAuth, allow(access, rule)];
}

const emptyBody: RequestHandler = (req, _res, next) => {
  req.body ??= {};
  next();
};

export function mount<G extends Record<string, ApiRoute>>(
  group: G,
  handlers: Handlers<G>,
  options: MountOptions,
): Router {
  const router = Router();
  for (const id of Object.keys(group)) {
    const route = group[id]!;
    const impl = handlers[id]!;
    const {
      authenticate = [],
      before = [],
      handle,
    } = typeof impl === 'function' ? { handle: impl } : (impl as RouteImpl<ApiRoute>);
    const { prefix } = options;
    const path =
      prefix && route.path.startsWith(`${prefix}/`) ? route.path.slice(prefix.length) : route.path;
    const chain: RequestHandler[] = [...authenticate, ...guard(route.allow, options.access)];
    chain.push(...before);
    if (route.optionalBody) chain.push(emptyBody);
    if (route.body) chain.push(validate(route.body) as RequestHandler);
    if (route.query) chain.push(validate(route.query, 'query') as RequestHandler);
    chain.push(async (req, res) => {
      const input = {
        body: route.body ? req.body : undefined,
        query: route.query ? req.validated : undefined,
        params: req.params as Record<string, string>,
        user: req.user!,
      } as Input<ApiRoute>;
      const answer = await handle(input, req, res);
      if (answer === ANSWERED || res.headersSent) return;
      if (route.ok.json) res.status(route.ok.status).json(answer);
      else res.status(route.ok.status).end();
    });
    const method = route.method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete';
    router[method](path, ...chain);
  }
  return router;
}
