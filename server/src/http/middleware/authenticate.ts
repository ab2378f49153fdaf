// Who is asking: the session's user, loaded fresh per request so role changes and disabling apply at once.
import type { RequestHandler } from 'express';
import { decide, TRIGGER_PREFIX, type GlobalAction, type User } from '@vmo/protocol';
import type { AuthService } from '../../auth/auth.service.js';
import type { Access } from '../../auth/permissions.js';
import type { TokensService } from '../../auth/tokens.service.js';
import { AppError, forbidden, unauthenticated } from '../../errors.js';
import { bearerToken } from '../../boundary/bearer.js';
import { originAllowed } from '../../boundary/host.js';

declare module 'express-serve-static-core' {
  interface Request {
    user?: User;
    /** How `user` was established: the session cookie, or a personal token (Bearer). */
    authVia?: 'session' | 'token';
    /** The token's id when authVia is 'token'. */
    tokenId?: string;
    /** A trigger's secret (TRIGGER_PREFIX) from the Bearer header: the trigger's route checks it. */
    triggerSecret?: string;
  }
}

declare module 'express-session' {
  interface SessionData {
    userId?: string;
    /** When this session was opened by a one-time link (ms since epoch): see LINK_GRACE_MS. */
    viaLinkAt?: number;
    /** A single sign-on session: the provider's ID token, the hint of an RP-initiated logout. */
    sso?: { idToken?: string };
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A Bearer token, when given, decides alone (a bad one is 401 even with a session cookie beside it);
 * otherwise the session's user.
 */
export function loadUser(auth: AuthService, tokens: TokensService): RequestHandler {
  return async (req, _res, next) => {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const value = bearerToken(header);
      // A trigger's secret names no user: the caller stays anonymous, and only the trigger's own
      // route (public) reads it.
      if (value?.startsWith(TRIGGER_PREFIX)) {
        req.triggerSecret = value;
        return next();
      }
      const found = value ? await tokens.authenticate(value) : null;
      if (!found)
        return next(
          new AppError('UNAUTHENTICATED', 'the API token is unknown, expired or revoked'),
        );
      req.user = found.user;
      req.authVia = 'token';
      req.tokenId = found.tokenId;
      return next();
    }
    const userId = req.session?.userId;
    if (userId) {
      const user = await auth.userById(userId);
      if (user) {
        req.user = user;
        req.authVia = 'session';
      } else delete req.session.userId;
    }
    next();
  };
}

/** 401 for anonymous callers, before anything looks at the body (SPEC §2 order). */
export const requireAuth: RequestHandler = (req, _res, next) =>
  next(req.user ? undefined : unauthenticated());

/** 403 with `can()`'s reason unless the caller may do `action` (SPEC §4: one permission function). */
export function allow(access: Access, action: GlobalAction): RequestHandler {
  return (req, _res, next) => {
    if (!req.user) return next(unauthenticated());
    const d = decide(access.subject(req.user), action);
    next(d.allowed ? undefined : forbidden(d.reason));
  };
}

/**
 * Cookie-authenticated state changes must come from our own page or an allowed origin (CSRF guard).
 * Anonymous requests pass on to requireAuth's 401; Bearer-token requests carry no ambient cookie.
 */
export function originCheck(opts: OriginOptions): RequestHandler {
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method) || !req.user || req.authVia === 'token') return next();
    if (originAllowed(req, opts)) return next();
    next(foreignOrigin(req.headers.origin));
  };
}

/** Sign-in itself: a browser always sends an Origin on POST, and a foreign one is a login CSRF. */
export function loginOriginCheck(opts: OriginOptions): RequestHandler {
  return (req, _res, next) => {
    if (!req.headers.origin || originAllowed(req, opts)) return next();
    next(foreignOrigin(req.headers.origin));
  };
}

interface OriginOptions {
  publicUrl: string | null;
  allowedOrigins: string[];
}

const foreignOrigin = (origin: string | undefined) =>
  new AppError('FORBIDDEN', `origin "${origin ?? '(none)'}" may not change state here`);
