// User management, passwords, personal API tokens and the audit log (SPEC §2 REST, §4 roles).
import { z } from 'zod';
import { Role, User, Username } from './auth.js';
import { AUDIT_ACTIONS } from './audit-actions.js';

/** Long enough to resist guessing, short enough for argon2 to hash quickly. */
export const Password = z
  .string()
  .min(8, 'at least 8 characters')
  .max(1024, 'at most 1024 characters');

/** A user as an admin sees it: the public fields plus whether it may sign in. */
export const ManagedUser = User.extend({
  disabled: z.boolean(),
  /** An SSO user's groups at their last sign-in (those the role map knows first); null otherwise. */
  ssoGroups: z.array(z.string()).nullable(),
});
export type ManagedUser = z.infer<typeof ManagedUser>;

export const CreateUser = z.strictObject({
  username: Username,
  password: Password,
  role: Role,
});
export type CreateUser = z.infer<typeof CreateUser>;

/** Any of role, disabled and a new password; at least one. */
export const UpdateUser = z
  .strictObject({
    role: Role.optional(),
    disabled: z.boolean().optional(),
    password: Password.optional(),
  })
  .refine((v) => v.role !== undefined || v.disabled !== undefined || v.password !== undefined, {
    message: 'give role, disabled or password',
  });
export type UpdateUser = z.infer<typeof UpdateUser>;

export const UserId = z.uuid();

/**
 * Your own password, proven with the current one; not needed while you have none, or in the
 * hour after signing in with a one-time link (`Me.password.currentRequired`).
 */
export const ChangePassword = z.strictObject({
  currentPassword: z.string().max(1024).optional(),
  newPassword: Password,
});
export type ChangePassword = z.infer<typeof ChangePassword>;

export const ApiToken = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});
export type ApiToken = z.infer<typeof ApiToken>;

export const TokenId = z.uuid();

export const CreateToken = z.strictObject({
  name: z.string().trim().min(1).max(64),
  /** ISO-8601; absent or null: the token never expires. Must lie in the future. */
  expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
});
export type CreateToken = z.infer<typeof CreateToken>;

/** The answer to creating a token: the only time its value is ever shown. */
export const CreatedToken = ApiToken.extend({ token: z.string() });
export type CreatedToken = z.infer<typeof CreatedToken>;

export const AuditAction = z.enum(AUDIT_ACTIONS);
export type AuditAction = z.infer<typeof AuditAction>;

export const AuditEntry = z.object({
  id: z.string(),
  /** The hash chain (SPEC §2 "Audit chain"): the entry before's hash, and this one's. */
  prevHash: z.string(),
  hash: z.string(),
  ts: z.string(),
  /** Who acted: null for a failed login of an unknown name (a deleted user keeps its id here). */
  user: z.object({ id: z.string().nullable(), username: z.string().nullable() }),
  action: z.string(),
  /** What it acted on: a job id, a user name, a token id. */
  target: z.string().nullable(),
  /** The client address (req.ip, so behind security.trustProxy the forwarded one). */
  source: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** Where the optional backup of the audit trail (DynamoDB, or a Lambda) stands. */
export const AuditBackupStatus = z.object({
  /** `dynamodb:<table>` or `lambda:<function>`. */
  target: z.string(),
  /** The last entry the backup holds (entries are shipped in order). */
  shippedUpTo: z.string().nullable(),
  /** Entries not shipped yet. */
  pending: z.number(),
  /** Why the last attempt failed, while it is failing; null once it works. */
  lastError: z.string().nullable(),
});
export type AuditBackupStatus = z.infer<typeof AuditBackupStatus>;

/** `GET /api/audit/verify`: the hash chain checked from its anchor to its head. */
export const AuditVerify = z.object({
  ok: z.boolean(),
  checked: z.number(),
  /** The last entry whose link holds; null when none does (or the log is empty). */
  verifiedUpTo: z.string().nullable(),
  /** The first entry whose prevHash or hash does not match (after a deleted entry, the next one). */
  firstBroken: z.object({ id: z.string(), reason: z.string() }).nullable(),
  /** The last entry retention deleted: the chain starts from its hash. */
  anchor: z.object({ id: z.string(), hash: z.string() }).nullable(),
  backup: AuditBackupStatus.nullable(),
});
export type AuditVerify = z.infer<typeof AuditVerify>;

const isoTime = z.iso.datetime({
  offset: true,
  error: 'an ISO 8601 time, e.g. 2026-12-01T00:00:00Z',
});

/** `GET /api/audit/export`: oldest first, within [since, until). */
export const AuditExportQuery = z.strictObject({
  since: isoTime.optional(),
  until: isoTime.optional(),
  format: z.enum(['jsonl', 'csv']).default('jsonl'),
});
export type AuditExportQuery = z.infer<typeof AuditExportQuery>;

export const AuditQuery = z.strictObject({
  action: z.string().min(1).max(64).optional(),
  /** A username. */
  user: z.string().min(1).max(64).optional(),
  /** Entries about jobs in this vm-config environment (runs on its VMs, fan-outs over it). */
  environment: z.string().min(1).max(128).optional(),
  /** Entries about jobs on this VM, `<environment>/<name>`. */
  vm: z.string().min(1).max(260).optional(),
  before: z.string().max(128).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

export const AuditPage = z.object({
  items: z.array(AuditEntry),
  nextCursor: z.string().nullable(),
});
export type AuditPage = z.infer<typeof AuditPage>;
