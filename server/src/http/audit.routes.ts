// The audit log for admins (SPEC §2: GET /api/audit?action&user&before&limit), newest first;
// ROUTE_TABLE.audit.
import { ROUTE_TABLE } from '@vmo/protocol';
import type { AuditQueries } from '../auth/audit.queries.js';
import type { Access } from '../auth/permissions.js';
import { mount } from './mount.js';

export function auditRoutes(deps: { auditLog: AuditQueries; access: Access }) {
  return mount(
    ROUTE_TABLE.audit,
    { listAudit: ({ query }) => deps.auditLog.list(query) },
    { access: deps.access, prefix: '/api' },
  );
}
