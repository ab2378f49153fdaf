// The audit log as admins read it: newest first, filtered by action and user, paged by cursor.
import type { AuditEntry, AuditPage, AuditQuery } from '@vmo/protocol';
import type { AuditRepository, AuditRow } from '../db/audit.repository.js';
import { AppError } from '../errors.js';

// Ids are bigserials, which the pg client parses as numbers (client.ts); the contract has strings.
const toEntry = (r: AuditRow): AuditEntry => ({
  id: String(r.id),
  prevHash: r.prev_hash,
  hash: r.hash,
  ts: r.ts.toISOString(),
  user: { id: r.user_id, username: r.username },
  action: r.action,
  target: r.target,
  source: r.source,
  details: r.details,
});

export class AuditQueries {
  constructor(private readonly deps: { audit: AuditRepository }) {}

  async list(q: AuditQuery): Promise<AuditPage> {
    if (q.before !== undefined && !/^[1-9][0-9]{0,18}$/.test(q.before))
      throw new AppError('VALIDATION', 'before: not a cursor this server gave out');
    const rows = await this.deps.audit.list({
      action: q.action,
      username: q.user,
      environment: q.environment,
      vm: q.vm,
      beforeId: q.before === undefined ? undefined : Number(q.before),
      limit: q.limit,
    });
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    return { items: page.map(toEntry), nextCursor: more ? String(page.at(-1)!.id) : null };
  }
}
