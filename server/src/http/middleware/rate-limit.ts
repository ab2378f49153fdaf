// Failed sign-ins are limited per source address and username, and per address overall, so a
// password cannot be guessed quickly; a success does not count. 429 RATE_LIMITED with Retry-After.
// The counts live in Postgres when a repository is given (the server always gives one), so a
// restart forgets nothing and every instance of a cluster counts together.
import type { RequestHandler } from 'express';
import {
  ipKeyGenerator,
  rateLimit,
  type ClientRateLimitInfo,
  type Options,
  type Store,
} from 'express-rate-limit';
import type { LoginLimitsRepository } from '../../db/login-limits.repository.js';
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

/** express-rate-limit's Store over the login_limits table: fixed windows, shared by all instances. */
export class PostgresLimitStore implements Store {
  readonly localKeys = false;
  private windowMs = DEFAULT_LOGIN_LIMITS.windowMs;
  private counted = 0;

  constructor(
    private readonly repo: LoginLimitsRepository,
    readonly prefix: string,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const found = await this.repo.get(this.prefix + key);
    return found && { totalHits: found.hits, resetTime: found.resetAt };
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    // Now and then, passed windows go (a failed sign-in is rare enough for this to be cheap).
    if (++this.counted % 100 === 0) await this.repo.deleteExpired();
    const { hits, resetAt } = await this.repo.increment(this.prefix + key, this.windowMs);
    return { totalHits: hits, resetTime: resetAt };
  }

  /** Best effort: in a database outage, a sign-in that succeeded may stay counted as a failure. */
  async decrement(key: string): Promise<void> {
    await this.repo.decrement(this.prefix + key).catch(() => undefined);
  }

  resetKey(key: string): Promise<void> {
    return this.repo.reset(this.prefix + key);
  }
}

/** The source address (req.ip, so behind a trusted proxy the forwarded one); IPv6 by /56. */
const address = (req: Req) => ipKeyGenerator(req.ip ?? 'unknown');

function limiter(
  limit: number,
  windowMs: number,
  key: (req: Req) => string,
  store: Store | undefined,
) {
  return rateLimit({
    ...(store ? { store } : {}),
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

/**
 * After express.json(): the username is read from the body when there is one. Without a repository
 * (unit tests of the routes) the counts stay in this process's memory.
 */
export function loginRateLimit(
  limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
  repo?: LoginLimitsRepository,
): RequestHandler[] {
  // A signed-in user changing their password is limited under their own name.
  const username = (req: Req) => {
    const name = req.user?.username ?? (req.body as { username?: unknown } | undefined)?.username;
    return typeof name === 'string' ? name.slice(0, 64).toLowerCase() : '';
  };
  return [
    limiter(
      limits.perAddress,
      limits.windowMs,
      address,
      repo && new PostgresLimitStore(repo, 'addr:'),
    ),
    limiter(
      limits.perUser,
      limits.windowMs,
      (req) => `${address(req)}|${username(req)}`,
      repo && new PostgresLimitStore(repo, 'user:'),
    ),
  ];
}
