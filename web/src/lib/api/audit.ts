// The audit log for admins (SPEC §2: GET /api/audit), newest first, paged by cursor.
import type { AuditPage } from '@vmo/protocol';
import { request } from './client.js';

export interface AuditFilter {
  action?: string;
  user?: string;
}

export function fetchAudit(
  filter: AuditFilter,
  page: { before?: string | null; limit?: number } = {},
): Promise<AuditPage> {
  const query = new URLSearchParams();
  if (filter.action) query.set('action', filter.action);
  if (filter.user?.trim()) query.set('user', filter.user.trim());
  if (page.before) query.set('before', page.before);
  query.set('limit', String(page.limit ?? 50));
  return request<AuditPage>(`/api/audit?${query.toString()}`);
}
