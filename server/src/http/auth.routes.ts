// Sign-in routes: login, logout, me, and the one-time link the console prints.
import express, { type Request, type Router } from 'express';
import { ROUTE_TABLE, type Me, type User } from '@vmo/protocol';
import type { AuthService } from '../auth/auth.service.js';
import type { Access } from '../auth/permissions.js';
import { AppError } from '../errors.js';
import { loginOriginCheck } from './middleware/authenticate.js';
import type { LoginLimitsRepository } from '../db/login-limits.repository.js';
import { loginRateLimit, type LoginLimits } from './middleware/rate-limit.js';
import { rejectNulInBody } from './middleware/odd-input.js';
import { mount } from './mount.js';

/** The client's address for the audit log: req.ip, so behind security.trustProxy the forwarded one. */
export const sourceOf = (req: Request) => req.ip ?? req.socket.remoteAddress ?? null;

/** A fresh session id on every sign-in, so a planted cookie never becomes a signed-in one (fixation). */
function signIn(req: Request, user: User, viaLink = false): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.regenerate((err) => {
      if (err) return reject(err as Error);
      req.session.userId = user.id;
      if (viaLink) req.session.viaLinkAt = Date.now();
      req.session.save((e) => (e ? reject(e as Error) : resolve()));
    }),
  );
}

/** How long after a one-time link sign-in its session may set a password without the current one. */
export const LINK_GRACE_MS = 60 * 60 * 1000;

/** A cookie session opened by a one-time link within the last hour (never a token). */
function linkSession(req: Request): boolean {
  const at = req.authVia === 'session' ? req.session.viaLinkAt : undefined;
  return at !== undefined && Date.now() - at < LINK_GRACE_MS;
}

export function authRoutes(deps: {
  auth: AuthService;
  access: Access;
  security: { publicUrl: string | null; allowedOrigins: string[] };
  loginLimits?: LoginLimits;
  /** Where failed sign-ins are counted (shared by all instances); in memory without. */
  limitCounts?: LoginLimitsRepository;
}): Router {
  const me = async (req: Request, user: User): Promise<Me> => {
    const set = await deps.auth.hasPassword(user.id);
    return {
      user,
      permissions: deps.access.permissions(user),
      password: { set, currentRequired: set && !linkSession(req) },
    };
  };
  const limit = loginRateLimit(deps.loginLimits, deps.limitCounts);
  const { login, logout, me: whoAmI, changePassword } = ROUTE_TABLE.auth;
  return mount(
    { login, logout, me: whoAmI, changePassword },
    {
      login: {
        before: [
          loginOriginCheck(deps.security),
          express.json({ limit: '8kb' }),
          rejectNulInBody,
          ...limit,
        ],
        handle: async ({ body }, req) => {
          const user = await deps.auth.login(body.username, body.password, sourceOf(req));
          await signIn(req, user);
          return me(req, user);
        },
      },
      logout: async ({ user }, req) => {
        if (req.authVia === 'token')
          throw new AppError(
            'VALIDATION',
            'a token has no session to end; revoke it at /api/tokens',
          );
        await deps.auth.logout(user, req.sessionID, sourceOf(req));
        await new Promise<void>((resolve, reject) =>
          req.session.destroy((err) => (err ? reject(err as Error) : resolve())),
        );
      },
      me: ({ user }, req) => me(req, user),
      // Your own password: proven with the current one, guessed no faster than a sign-in.
      changePassword: {
        before: [express.json({ limit: '8kb' }), rejectNulInBody, ...limit],
        handle: async ({ body, user }, req) => {
          const keep = req.authVia === 'session' ? req.sessionID : null;
          const { currentPassword, newPassword } = body;
          await deps.auth.changePassword(user, currentPassword ?? null, newPassword, keep, {
            source: sourceOf(req),
            viaLink: linkSession(req),
          });
          // The link's grace is spent: from now on the password proves it is you.
          if (req.authVia === 'session') delete req.session.viaLinkAt;
        },
      },
    },
    { access: deps.access, prefix: '/api' },
  );
}

/** GET /auth/link/:token — a browser navigation, so it answers with redirects rather than JSON. */
export function loginLinkRoute(deps: { auth: AuthService; access: Access }): Router {
  const { loginLink } = ROUTE_TABLE.auth;
  return mount(
    { loginLink },
    {
      loginLink: async ({ params }, req, res) => {
        try {
          const user = await deps.auth.consumeLoginLink(params.token!, sourceOf(req));
          await signIn(req, user, true);
          res.redirect(303, '/');
        } catch {
          res.redirect(303, '/login?link=invalid');
        }
      },
    },
    { access: deps.access },
  );
}
