// The audit log for admins (SPEC §2: GET /api/audit), newest first, paged by cursor.
import type { AuditPage, AuditVerify } from '@vmo/protocol';
import { ROUTES } from './routes.js';
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
  return call(ROUTES.audit.listAudit, { query });
}

/** The hash chain checked by the server, from its anchor to its head, and where the backup stands. */
export function verifyAudit(): Promise<AuditVerify> {
  return call(ROUTES.audit.verifyAudit, {});
}

/** The export's address, for a download link (oldest first, every entry with its hashes). */
export function auditExportUrl(format: 'jsonl' | 'csv'): string {
  return `${ROUTES.audit.exportAudit.path}?format=${format}`;
}
