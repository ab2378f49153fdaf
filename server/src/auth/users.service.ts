// User management for admins: create, change role, disable, reset password, delete; always leaving
// one admin who can sign in, ending sessions where a change calls for it, and auditing each change.
import type { CreateUser, ManagedUser, UpdateUser, User } from '@vmo/protocol';
import type { AuditRepository } from '../db/audit.repository.js';
import type { UserRow } from '../db/schema.js';
import type { SessionsRepository } from '../db/sessions.repository.js';
import type { UserChange, UsersRepository } from '../db/users.repository.js';
import { AppError } from '../errors.js';
import type { AuthEvents } from './auth.events.js';
import { toUser } from './auth.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const toManagedUser = (row: UserRow): ManagedUser => ({
  ...toUser(row),
  disabled: row.disabled,
  ssoGroups: row.sso_groups,
});

export interface UsersServiceDeps {
  users: UsersRepository;
  sessions: SessionsRepository;
  audit: AuditRepository;
  events: AuthEvents;
  hashPassword: (password: string) => Promise<string>;
}

export class UsersService {
  constructor(private readonly deps: UsersServiceDeps) {}

  async list(): Promise<ManagedUser[]> {
    return (await this.deps.users.list()).map(toManagedUser);
  }

  async create(req: CreateUser, actor: User, source: string | null): Promise<ManagedUser> {
    const created = await this.deps.users.createIfMissing({
      username: req.username,
      role: req.role,
      password_hash: await this.deps.hashPassword(req.password),
    });
    if (!created) throw new AppError('CONFLICT', `the username "${req.username}" is taken`);
    const row = (await this.deps.users.findByUsername(req.username))!;
    await this.audit(actor, 'user.create', row.username, source, { role: row.role });
    return toManagedUser(row);
  }

  async update(
    id: string,
    req: UpdateUser,
    actor: User,
    source: string | null,
  ): Promise<ManagedUser> {
    if (req.disabled === true && UUID.test(id) && id.toLowerCase() === actor.id)
      throw new AppError('CONFLICT', 'you cannot disable yourself; another admin can');
    const hash =
      req.password === undefined ? undefined : await this.deps.hashPassword(req.password);
    const { before, after } = await this.deps.users.exclusively(async (users) => {
      const before = await this.find(users, id);
      if (hash !== undefined && before.provider === 'oidc')
        throw new AppError(
          'VALIDATION',
          `${before.username} signs in through single sign-on and has no local password to reset`,
        );
      const losesAdmin =
        before.role === 'admin' &&
        !before.disabled &&
        ((req.role !== undefined && req.role !== 'admin') || req.disabled === true);
      if (losesAdmin && (await users.countActiveAdmins(before.id)) === 0)
        throw new AppError('CONFLICT', `${before.username} is the last admin who can sign in`);
      const change: UserChange = {};
      if (req.role !== undefined) change.role = req.role;
      if (req.disabled !== undefined) change.disabled = req.disabled;
      if (hash !== undefined) change.password_hash = hash;
      return { before, after: (await users.update(before.id, change))! };
    });
    // A disabled user, or one whose password an admin reset, is signed out everywhere at once.
    const ended = (req.disabled === true && !before.disabled) || hash !== undefined;
    if (ended) await this.deps.sessions.deleteForUser(after.id);
    this.deps.events.emit({ kind: 'user', userId: after.id, ended });
    await this.audit(actor, 'user.update', after.username, source, describeChange(before, req));
    return toManagedUser(after);
  }

  async delete(id: string, actor: User, source: string | null): Promise<void> {
    if (UUID.test(id) && id.toLowerCase() === actor.id)
      throw new AppError('CONFLICT', 'you cannot delete yourself; another admin can');
    const gone = await this.deps.users.exclusively(async (users) => {
      const row = await this.find(users, id);
      if (row.role === 'admin' && !row.disabled && (await users.countActiveAdmins(row.id)) === 0)
        throw new AppError('CONFLICT', `${row.username} is the last admin who can sign in`);
      await users.delete(row.id);
      return row;
    });
    await this.deps.sessions.deleteForUser(gone.id);
    this.deps.events.emit({ kind: 'user', userId: gone.id, ended: true });
    await this.audit(actor, 'user.delete', gone.username, source, { role: gone.role });
  }

  private async find(users: UsersRepository, id: string): Promise<UserRow> {
    const row = UUID.test(id) ? await users.findById(id.toLowerCase()) : undefined;
    if (!row) throw new AppError('USER_NOT_FOUND', `no user ${id}`);
    return row;
  }

  private audit(
    actor: User,
    action: string,
    target: string,
    source: string | null,
    details: Record<string, unknown>,
  ): Promise<void> {
    return this.deps.audit.add({
      userId: actor.id,
      username: actor.username,
      action,
      target,
      source,
      details,
    });
  }
}

/** What changed, for the audit log; a new password is recorded as reset, never its value. */
function describeChange(before: UserRow, req: UpdateUser): Record<string, unknown> {
  const details: Record<string, unknown> = {};
  if (req.role !== undefined && req.role !== before.role)
    details.role = { from: before.role, to: req.role };
  if (req.disabled !== undefined && req.disabled !== before.disabled)
    details.disabled = req.disabled;
  if (req.password !== undefined) details.passwordReset = true;
  return details;
}
