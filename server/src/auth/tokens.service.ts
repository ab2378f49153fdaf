// Personal API tokens: `vmo_` + 32 random bytes, shown once, stored as a sha256, carrying the
// user's current role (the user is read at every use, so a role change or disabling applies at once).
import { randomBytes } from 'node:crypto';
import {
  TOKEN_PREFIX,
  type ApiToken,
  type CreatedToken,
  type CreateToken,
  type User,
} from '@vmo/protocol';
import type { AuditRepository } from '../db/audit.repository.js';
import type { TokenRow, TokensRepository } from '../db/tokens.repository.js';
import { AppError } from '../errors.js';
import type { AuthEvents } from './auth.events.js';
import { sha256, toUser } from './auth.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** 32 bytes in base64url are 43 characters. */
const TOKEN_SHAPE = new RegExp(`^${TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`);
/** last_used_at is a hint, not a log: written at most once a minute per token. */
const TOUCH_EVERY_MS = 60_000;

export const toApiToken = (row: TokenRow): ApiToken => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at.toISOString(),
  expiresAt: row.expires_at?.toISOString() ?? null,
  lastUsedAt: row.last_used_at?.toISOString() ?? null,
});

export class TokensService {
  constructor(
    private readonly deps: { tokens: TokensRepository; audit: AuditRepository; events: AuthEvents },
  ) {}

  async create(user: User, req: CreateToken, source: string | null): Promise<CreatedToken> {
    const expiresAt = req.expiresAt ? new Date(req.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now())
      throw new AppError('VALIDATION', 'expiresAt: must lie in the future');
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const row = await this.deps.tokens.create({
      userId: user.id,
      name: req.name,
      tokenHash: sha256(token),
      expiresAt,
    });
    await this.audit(user, 'token.create', row, source);
    return { ...toApiToken(row), token };
  }

  async list(user: User): Promise<ApiToken[]> {
    return (await this.deps.tokens.listForUser(user.id)).map(toApiToken);
  }

  async revoke(user: User, id: string, source: string | null): Promise<void> {
    const row = UUID.test(id)
      ? await this.deps.tokens.delete(id.toLowerCase(), user.id)
      : undefined;
    if (!row) throw new AppError('TOKEN_NOT_FOUND', `you have no token ${id}`);
    this.deps.events.emit({ kind: 'token', tokenId: row.id });
    await this.audit(user, 'token.revoke', row, source);
  }

  /** The user behind a Bearer value, or null when it is unknown, expired, revoked or its user disabled. */
  async authenticate(value: string): Promise<{ user: User; tokenId: string } | null> {
    if (!TOKEN_SHAPE.test(value)) return null;
    const now = new Date();
    const found = await this.deps.tokens.findValid(sha256(value), now);
    if (!found || found.user.disabled) return null;
    const last = found.token.last_used_at?.getTime() ?? 0;
    if (now.getTime() - last >= TOUCH_EVERY_MS) await this.deps.tokens.touch(found.token.id, now);
    return { user: toUser(found.user), tokenId: found.token.id };
  }

  /** The user a still-valid token acts for (its user enabled), or null. */
  async userOf(tokenId: string): Promise<User | null> {
    const found = await this.deps.tokens.findValidById(tokenId, new Date());
    return found && !found.user.disabled ? toUser(found.user) : null;
  }

  private audit(user: User, action: string, row: TokenRow, source: string | null): Promise<void> {
    return this.deps.audit.add({
      userId: user.id,
      username: user.username,
      action,
      target: row.id,
      source,
      details: { name: row.name },
    });
  }
}
