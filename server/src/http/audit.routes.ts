// The audit log for admins (SPEC §2: GET /api/audit?action&user&before&limit), newest first.
import { Router } from 'express';
import { AuditQuery, type AuditQuery as AuditQueryT } from '@vmo/protocol';
import type { AuditQueries } from '../auth/audit.queries.js';
import type { Access } from '../auth/permissions.js';
import { allow } from './middleware/authenticate.js';
import { validate } from './middleware/validate.js';

export function auditRoutes(deps: { auditLog: AuditQueries; access: Access }): Router {
  const router = Router();
  router.get(
    '/audit',
    allow(deps.access, 'audit.read'),
    validate(AuditQuery, 'query'),
    async (req, res) => res.json(await deps.auditLog.list(req.validated as AuditQueryT)),
  );
  return router;
}
