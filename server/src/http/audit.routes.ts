// The audit trail for admins (SPEC §2): the log newest first, the hash chain verified, and the
// export streamed oldest first; ROUTE_TABLE.audit.
import { once } from 'node:events';
import { ROUTE_TABLE } from '@vmo/protocol';
import type { AuditTrail } from '../audit/audit.trail.js';
import { CSV_COLUMNS, csvRecord } from '../audit/chain.js';
import type { AuditQueries } from '../auth/audit.queries.js';
import type { Access } from '../auth/permissions.js';
import type { Logger } from '../logger.js';
import { ANSWERED, mount } from './mount.js';

/** Bytes gathered before a write: one write per many lines, none holding much. */
const CHUNK = 64 * 1024;

export function auditRoutes(deps: {
  auditLog: AuditQueries;
  auditTrail: AuditTrail;
  access: Access;
  log: Logger;
}) {
  return mount(
    ROUTE_TABLE.audit,
    {
      listAudit: ({ query }) => deps.auditLog.list(query),
      verifyAudit: () => deps.auditTrail.verify(),
      exportAudit: async ({ query }, req, res) => {
        const csv = query.format === 'csv';
        const since = query.since ? new Date(query.since) : undefined;
        const until = query.until ? new Date(query.until) : undefined;
        const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
        res.status(200);
        // The name first: attachment() sets a type from the extension, which ours replaces.
        res.attachment(`vmo-audit-${stamp}.${csv ? 'csv' : 'jsonl'}`);
        res.type(csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
        let gone = false;
        req.once('close', () => (gone = true));
        let chunk = csv ? CSV_COLUMNS.join(',') + '\r\n' : '';
        try {
          for await (const line of deps.auditTrail.lines({ since, until })) {
            chunk += csv ? csvRecord(line) : JSON.stringify(line) + '\n';
            if (chunk.length < CHUNK) continue;
            if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
            chunk = '';
            if (gone) return ANSWERED;
          }
          res.end(chunk);
        } catch (err) {
          // The status line is out: a cut stream is how a failure can still be told.
          deps.log.error({ err }, 'audit export failed');
          res.destroy(err as Error);
        }
        return ANSWERED;
      },
    },
    { access: deps.access, prefix: '/api' },
  );
}
