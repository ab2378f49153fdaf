// Sign-in decisions: passwords, the admin bootstrap and one-time login links. Never touches HTTP.
import { createHash, randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import type { User } from '@vmo/protocol';
import { AppError } from '../errors.js';
import type { AuditRepository } from '../db/audit.repository.js';
import type { LoginLinksRepository } from '../db/login-links.repository.js';
import type { UserRow } from '../db/schema.js';
import type { SessionsRepository } from '../db/sessions.repository.js';
import type { UsersRepository } from '../db/users.repository.js';
import type { AuthEvents } from './auth.events.js';

const LINK_TTL_MS = 24 * 60 * 60 * 1000;
// Verifying against a real hash when the user is unknown keeps the timing of both answers alike.
const DUMMY_HASH = argon2.hash('not-a-password-' + randomBytes(8).toString('hex'));

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    provider: row.provider,
    createdAt: row.created_at.toISOString(),
  };
}

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export interface AuthDeps {
  users: UsersRepository;
  links: LoginLinksRepository;
  audit: AuditRepository;
  sessions: SessionsRepository;
  events: AuthEvents;
}

export class AuthService {
  constructor(private readonly deps: AuthDeps) {}

  hashPassword(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id });
  }

  /** Creates `admin` on the first start; its password is set only by the call that creates it. */
  async ensureAdmin(password: string | null): Promise<UserRow> {
    // Most starts find it: no hashing then (a third of a second of a start, spent for nothing).
    const found = await this.deps.users.findByUsername('admin');
    if (found) return found;
    const hash = password ? await this.hashPassword(password) : null;
    await this.deps.users.createIfMissing({
      username: 'admin',
      role: 'admin',
      password_hash: hash,
    });
    const admin = await this.deps.users.findByUsername('admin');
    if (!admin) throw new Error('the admin user vanished right after it was created');
    return admin;
  }

  /** A one-time sign-in secret for `userId`, valid for a day; only its hash is stored. */
  async createLoginLink(userId: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.deps.links.create(sha256(token), userId, new Date(Date.now() + LINK_TTL_MS));
    return token;
  }

  async consumeLoginLink(token: string, source: string | null): Promise<User> {
    const userId = /^[A-Za-z0-9_-]{16,128}$/.test(token)
      ? await this.deps.links.consume(sha256(token))
      : undefined;
    const row = userId ? await this.deps.users.findById(userId) : undefined;
    if (!row || row.disabled) {
      await this.deps.audit.add({
        userId: null,
        username: null,
        action: 'login.failed',
        source,
        details: { via: 'link' },
      });
      throw new AppError('UNAUTHENTICATED', 'this sign-in link is unknown, used or expired');
    }
    await this.deps.audit.add({
      userId: row.id,
      username: row.username,
      action: 'login',
      source,
      details: { via: 'link' },
    });
    return toUser(row);
  }

  async login(username: string, password: string, source: string | null): Promise<User> {
    const row = await this.deps.users.findByUsername(username);
    const ok = row?.password_hash
      ? await argon2.verify(row.password_hash, password)
      : await argon2.verify(await DUMMY_HASH, password);
    if (!row || !row.password_hash || !ok || row.disabled) {
      await this.deps.audit.add({
        userId: row?.id ?? null,
        username,
        action: 'login.failed',
        source,
      });
      throw new AppError('UNAUTHENTICATED', 'wrong username or password');
    }
    await this.deps.audit.add({ userId: row.id, username: row.username, action: 'login', source });
    return toUser(row);
  }

  async userById(id: string): Promise<User | null> {
    const row = await this.deps.users.findById(id);
    return row && !row.disabled ? toUser(row) : null;
  }

  async logout(user: User, sid: string, source: string | null): Promise<void> {
    this.deps.events.emit({ kind: 'session', sid });
    await this.deps.audit.add({
      userId: user.id,
      username: user.username,
      action: 'logout',
      source,
    });
  }

  /**
   * A user's own password, proven with the current one. Every other session of theirs ends
   * (`keepSid`: the one asking, null when a token asks).
   */
  /** Whether the user has a password at all (the bootstrap admin may not, until they set one). */
  async hasPassword(userId: string): Promise<boolean> {
    return !!(await this.deps.users.findById(userId))?.password_hash;
  }

  /**
   * Sets the user's own password. The current one proves it is them, unless they have none yet or
   * `viaLink` (a session a one-time link opened within the hour: whoever holds the console's link
   * is the owner). Their other sessions end.
   */
  async changePassword(
    user: User,
    current: string | null,
    next: string,
    keepSid: string | null,
    how: { source: string | null; viaLink?: boolean },
  ): Promise<void> {
    const { source } = how;
    const row = await this.deps.users.findById(user.id);
    if (row?.provider === 'oidc')
      throw new AppError(
        'VALIDATION',
        'you sign in through single sign-on: your password is kept by your identity provider',
      );
    const proven =
      !!row &&
      (!row.password_hash ||
        how.viaLink === true ||
        (!!current && (await argon2.verify(row.password_hash, current))));
    if (!row || !proven) {
      await this.deps.audit.add({
        userId: user.id,
        username: user.username,
        action: 'password.change',
        target: user.username,
        source,
        details: { ok: false },
      });
      throw new AppError(
        'FORBIDDEN',
        current ? 'the current password is wrong' : 'give your current password',
      );
    }
    await this.deps.users.setPassword(row.id, await this.hashPassword(next));
    await this.deps.sessions.deleteForUser(row.id, keepSid);
    this.deps.events.emit({ kind: 'user', userId: row.id, ended: true });
    await this.deps.audit.add({
      userId: user.id,
      username: user.username,
      action: 'password.change',
      target: user.username,
      source,
      details: {
        ok: true,
        proof: !row.password_hash
          ? 'first password'
          : how.viaLink
            ? 'one-time link'
            : 'current password',
      },
    });
  }
}
