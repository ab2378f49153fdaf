// The audit log for admins (SPEC §2: GET /api/audit), newest first, paged by cursor.
import type { AuditPage } from '@vmo/protocol';
import { ROUTE_TABLE } from '@vmo/protocol';
import { call } from './client.js';

export interface AuditFilter {
  action?: string;
  user?: string;
  /** Entries about jobs in this environment (runs on its VMs, fan-outs over it). */
  environment?: string;
  /** Entries about jobs on this VM, `<environment>/<name>`. */
  vm?: string;
}

export function fetchAudit(
  filter: AuditFilter,
  page: { before?: string | null; limit?: number } = {},
): Promise<AuditPage> {
  const query = {
    action: filter.action,
    user: filter.user?.trim(),
    environment: filter.environment?.trim(),
    vm: filter.vm?.trim(),
    before: page.before,
    limit: page.limit ?? 50,
  };
  return call(ROUTE_TABLE.audit.listAudit, { query });
}
