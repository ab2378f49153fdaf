// Sign-in routes: login, logout, me, and the one-time link the console prints.
import express, { type Request, type Response, type Router } from 'express';
import { ROUTE_TABLE, type Me, type User } from '@vmo/protocol';
import type { AuthService } from '../auth/auth.service.js';
import { SsoRefused, type OidcService, type PendingSignIn } from '../auth/oidc.service.js';
import type { Access } from '../auth/permissions.js';
import { AppError } from '../errors.js';
import { loginOriginCheck } from './middleware/authenticate.js';
import type { LoginLimitsRepository } from '../db/login-limits.repository.js';
import { loginRateLimit, type LoginLimits } from './middleware/rate-limit.js';
import { rejectNulInBody } from './middleware/odd-input.js';
import { ANSWERED, mount } from './mount.js';
import { sealedCookie } from './middleware/sealed-cookie.js';

/** The client's address for the audit log: req.ip, so behind security.trustProxy the forwarded one. */
export const sourceOf = (req: Request) => req.ip ?? req.socket.remoteAddress ?? null;

/** A fresh session id on every sign-in, so a planted cookie never becomes a signed-in one (fixation). */
function signIn(
  req: Request,
  user: User,
  how: { viaLink?: boolean; idToken?: string } = {},
): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.regenerate((err) => {
      if (err) return reject(err as Error);
      req.session.userId = user.id;
      if (how.viaLink) req.session.viaLinkAt = Date.now();
      if (user.provider === 'oidc') req.session.sso = { idToken: how.idToken };
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

/** A path of this site to land on after signing in; anything else (another site, `//x`) is `/`. */
export function safeReturnTo(value: string | undefined): string {
  const controls = [...(value ?? '')].some((c) => c.charCodeAt(0) < 0x20 || c === '\x7f');
  if (!value || !/^\/(?![/\\])/.test(value) || controls) return '/';
  return value;
}

/** Sign-ins started in this browser and not yet back (one per tab, the newest few). */
const PENDING_KEPT = 4;

export function authRoutes(deps: {
  auth: AuthService;
  access: Access;
  security: { publicUrl: string | null; allowedOrigins: string[] };
  /** Password sign-in on (`auth.local`). */
  local: boolean;
  /** Single sign-on, when configured. */
  oidc: OidcService | null;
  /** Seals the single sign-on's state, nonce and verifier the browser carries. */
  sessionSecret: string;
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
  const { oidc } = deps;
  const pendingCookie = sealedCookie<PendingSignIn[]>({
    name: 'vmo.sso',
    secret: deps.sessionSecret,
    purpose: 'oidc pending sign-in',
    path: '/api/auth/oidc',
    maxAgeMs: 10 * 60 * 1000,
  });
  const refused = (res: Response, code: string) =>
    res.redirect(302, `/login?error=${encodeURIComponent(code)}`);
  const {
    login,
    logout,
    me: whoAmI,
    changePassword,
    providers,
    oidcLogin,
    oidcCallback,
  } = ROUTE_TABLE.auth;
  return mount(
    { login, logout, me: whoAmI, changePassword, providers, oidcLogin, oidcCallback },
    {
      providers: () => ({ local: deps.local, oidc: oidc ? { name: oidc.name } : null }),
      oidcLogin: async ({ query }, req, res) => {
        if (!oidc) return void refused(res, 'SSO_DISABLED');
        try {
          const { url, pending } = await oidc.begin(safeReturnTo(query.returnTo));
          const kept = (pendingCookie.get(req) ?? []).slice(-(PENDING_KEPT - 1));
          pendingCookie.set(req, res, [...kept, pending]);
          res.redirect(302, url.href);
        } catch (err) {
          if (!(err instanceof SsoRefused)) throw err;
          refused(res, err.code);
        }
      },
      oidcCallback: async (_input, req, res) => {
        if (!oidc) return void refused(res, 'SSO_DISABLED');
        const query = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
        const all = pendingCookie.get(req) ?? [];
        const pending = all.find((p) => p.state === query.get('state')) ?? null;
        // Each started sign-in comes back once: a replayed answer finds nothing to match.
        const rest = all.filter((p) => p !== pending);
        if (rest.length) pendingCookie.set(req, res, rest);
        else pendingCookie.clear(req, res);
        try {
          const { user, idToken, refreshToken } = await oidc.finish(query, pending, sourceOf(req));
          await signIn(req, user, { idToken });
          // With a refresh token, the provider is asked again between sign-ins (checkMinutes).
          if (refreshToken) await oidc.remember(req.sessionID, user.id, refreshToken);
          res.redirect(302, pending!.returnTo);
        } catch (err) {
          if (!(err instanceof SsoRefused)) throw err;
          refused(res, err.code);
        }
      },
      login: {
        before: [
          loginOriginCheck(deps.security),
          express.json({ limit: '8kb' }),
          rejectNulInBody,
          ...limit,
        ],
        handle: async ({ body }, req) => {
          if (!deps.local)
            throw new AppError(
              'FORBIDDEN',
              `password sign-in is off here (auth.local: false): ${oidc ? `sign in with ${oidc.name}, or ` : ''}use the one-time link the console prints`,
            );
          const user = await deps.auth.login(body.username, body.password, sourceOf(req));
          await signIn(req, user);
          return me(req, user);
        },
      },
      logout: async ({ user }, req, res) => {
        if (req.authVia === 'token')
          throw new AppError(
            'VALIDATION',
            'a token has no session to end; revoke it at /api/tokens',
          );
        const sso = req.session.sso;
        await deps.auth.logout(user, req.sessionID, sourceOf(req));
        await new Promise<void>((resolve, reject) =>
          req.session.destroy((err) => (err ? reject(err as Error) : resolve())),
        );
        // RP-initiated logout: signed out here, the browser goes on to sign out at the provider.
        const redirect = sso && oidc ? await oidc.endSessionUrl(sso.idToken) : null;
        if (!redirect) return;
        res.status(200).json({ redirect });
        return ANSWERED;
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
          await signIn(req, user, { viaLink: true });
          res.redirect(303, '/');
        } catch {
          res.redirect(303, '/login?link=invalid');
        }
      },
    },
    { access: deps.access },
  );
}
