// Sign-in routes: login, logout, me, and the one-time link the console prints.
import express, { Router, type Request } from 'express';
import { ChangePassword, LoginRequest, type User } from '@vmo/protocol';
import type { AuthService } from '../auth/auth.service.js';
import { AppError } from '../errors.js';
import { loginOriginCheck, requireAuth } from './middleware/authenticate.js';
import { loginRateLimit, type LoginLimits } from './middleware/rate-limit.js';
import { validate } from './middleware/validate.js';

/** The client's address for the audit log: req.ip, so behind security.trustProxy the forwarded one. */
export const sourceOf = (req: Request) => req.ip ?? req.socket.remoteAddress ?? null;

/** A fresh session id on every sign-in, so a planted cookie never becomes a signed-in one (fixation). */
function signIn(req: Request, user: User): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.regenerate((err) => {
      if (err) return reject(err as Error);
      req.session.userId = user.id;
      req.session.save((e) => (e ? reject(e as Error) : resolve()));
    }),
  );
}

export function authRoutes(deps: {
  auth: AuthService;
  security: { publicUrl: string | null; allowedOrigins: string[] };
  loginLimits?: LoginLimits;
}): Router {
  const router = Router();
  const limit = loginRateLimit(deps.loginLimits);
  router.post(
    '/auth/login',
    loginOriginCheck(deps.security),
    express.json({ limit: '8kb' }),
    ...limit,
    validate(LoginRequest),
    async (req, res) => {
      const user = await deps.auth.login(req.body.username, req.body.password, sourceOf(req));
      await signIn(req, user);
      res.json({ user });
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
  router.get('/auth/me', requireAuth, (req, res) => {
    res.json({ user: req.user });
  });
  // Your own password: proven with the current one, guessed no faster than a sign-in.
  router.post(
    '/auth/password',
    requireAuth,
    express.json({ limit: '8kb' }),
    ...limit,
    validate(ChangePassword),
    async (req, res) => {
      const keep = req.authVia === 'session' ? req.sessionID : null;
      const { currentPassword, newPassword } = req.body;
      await deps.auth.changePassword(req.user!, currentPassword, newPassword, keep, sourceOf(req));
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
      await signIn(req, user);
      res.redirect(303, '/');
    } catch {
      res.redirect(303, '/login?link=invalid');
    }
  });
  return router;
}
