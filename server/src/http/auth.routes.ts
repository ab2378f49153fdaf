// Sign-in routes: login, logout, me, and the one-time link the console prints.
import express, { Router, type Request } from 'express';
import { ChangePassword, LoginRequest, type Me, type User } from '@vmo/protocol';
import type { AuthService } from '../auth/auth.service.js';
import type { Access } from '../auth/permissions.js';
import { AppError } from '../errors.js';
import { loginOriginCheck, requireAuth } from './middleware/authenticate.js';
import type { LoginLimitsRepository } from '../db/login-limits.repository.js';
import { loginRateLimit, type LoginLimits } from './middleware/rate-limit.js';
import { rejectNulInBody } from './middleware/odd-input.js';
import { validate } from './middleware/validate.js';

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
  const router = Router();
  const me = async (req: Request, user: User): Promise<Me> => {
    const set = await deps.auth.hasPassword(user.id);
    return {
      user,
      permissions: deps.access.permissions(user),
      password: { set, currentRequired: set && !linkSession(req) },
    };
  };
  const limit = loginRateLimit(deps.loginLimits, deps.limitCounts);
  router.post(
    '/auth/login',
    loginOriginCheck(deps.security),
    express.json({ limit: '8kb' }),
    rejectNulInBody,
    ...limit,
    validate(LoginRequest),
    async (req, res) => {
      const user = await deps.auth.login(req.body.username, req.body.password, sourceOf(req));
      await signIn(req, user);
      res.json(await me(req, user));
    },
  );
  router.post('/auth/logout', requireAuth, async (req, res) => {
    if (req.authVia === 'token')
      throw new AppError('VALIDATION', 'a token has no session to end; revoke it at /api/tokens');
    await deps.auth.logout(req.user!, req.sessionID, sourceOf(req));
    await new Promise<void>((resolve, reject) =>
      req.session.destroy((err) => (err ? reject(err as Error) : resolve())),
    );
    res.status(204).end();
  });
  router.get('/auth/me', requireAuth, async (req, res) => {
    res.json(await me(req, req.user!));
  });
  // Your own password: proven with the current one, guessed no faster than a sign-in.
  router.post(
    '/auth/password',
    requireAuth,
    express.json({ limit: '8kb' }),
    rejectNulInBody,
    ...limit,
    validate(ChangePassword),
    async (req, res) => {
      const keep = req.authVia === 'session' ? req.sessionID : null;
      const { currentPassword, newPassword } = req.body;
      await deps.auth.changePassword(req.user!, currentPassword ?? null, newPassword, keep, {
        source: sourceOf(req),
        viaLink: linkSession(req),
      });
      // The link's grace is spent: from now on the password proves it is you.
      if (req.authVia === 'session') delete req.session.viaLinkAt;
      res.status(204).end();
    },
  );
  return router;
}

/** GET /auth/link/:token — a browser navigation, so it answers with redirects rather than JSON. */
export function loginLinkRoute(deps: { auth: AuthService }): Router {
  const router = Router();
  router.get('/auth/link/:token', async (req, res) => {
    try {
      const user = await deps.auth.consumeLoginLink(req.params.token, sourceOf(req));
      await signIn(req, user, true);
      res.redirect(303, '/');
    } catch {
      res.redirect(303, '/login?link=invalid');
    }
  });
  return router;
}
