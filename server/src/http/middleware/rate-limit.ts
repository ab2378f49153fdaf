// Failed sign-ins are limited per source address and username, and per address overall, so a
// password cannot be guessed quickly; a success does not count. 429 RATE_LIMITED with Retry-After.
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { AppError } from '../../errors.js';

export interface LoginLimits {
  /** Failed attempts for one username from one address, per window. */
  perUser: number;
  /** Failed attempts from one address, whatever the username, per window. */
  perAddress: number;
  windowMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perUser: 10,
  perAddress: 100,
  windowMs: 15 * 60 * 1000,
};

type Req = Parameters<RequestHandler>[0];

/** The source address (req.ip, so behind a trusted proxy the forwarded one); IPv6 by /56. */
const address = (req: Req) => ipKeyGenerator(req.ip ?? 'unknown');

function limiter(limit: number, windowMs: number, key: (req: Req) => string) {
  return rateLimit({
    windowMs,
    limit,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: key,
    // security.trustProxy (a boolean, SPEC §2) decides whether X-Forwarded-For counts; the operator
    // chose it, so neither its presence nor a trusting setting is reported as a misconfiguration.
    validate: { xForwardedForHeader: false, trustProxy: false },
    handler: (_req, _res, next, options) =>
      next(
        new AppError(
          'RATE_LIMITED',
          `too many failed attempts; try again in ${Math.ceil(options.windowMs / 60_000)} minutes at most`,
        ),
      ),
  });
}

/** After express.json(): the username is read from the body when there is one. */
export function loginRateLimit(limits: LoginLimits = DEFAULT_LOGIN_LIMITS): RequestHandler[] {
  // A signed-in user changing their password is limited under their own name.
  const username = (req: Req) => {
    const name = req.user?.username ?? (req.body as { username?: unknown } | undefined)?.username;
    return typeof name === 'string' ? name.slice(0, 64).toLowerCase() : '';
  };
  return [
    limiter(limits.perAddress, limits.windowMs, address),
    limiter(limits.perUser, limits.windowMs, (req) => `${address(req)}|${username(req)}`),
  ];
}
