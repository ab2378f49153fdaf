// How an audit entry reads in the table: its details as short text, its target short, and whether
// that target is a job.
import type { AuditEntry } from '@vmo/protocol';

const JOB_ACTIONS = new Set(['job.run', 'job.adhoc', 'job.fanout', 'job.cancel', 'terminal.open']);
/** Actions whose target is an id (a uuid), not a name. */
const ID_ACTIONS = new Set([...JOB_ACTIONS, 'token.create', 'token.revoke']);

export const isJobTarget = (e: AuditEntry): boolean => JOB_ACTIONS.has(e.action);

/** An id by its first 8 characters (as git shortens hashes; the whole one goes in a title). */
export function shortTarget(e: AuditEntry): string {
  if (!e.target) return '';
  return ID_ACTIONS.has(e.action) ? e.target.slice(0, 8) : e.target;
}

/** `command: make hello · project: demo`; a change as `viewer → admin`; other values as JSON. */
export function describeDetails(e: AuditEntry): string {
  if (!e.details) return '';
  return Object.entries(e.details)
    .map(([k, v]) => `${k}: ${describeValue(v)}`)
    .join(' · ');
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return v;
  // Postgres' jsonb keeps {from, to} as {to, from}: as JSON a change would read backwards.
  if (isChange(v)) return `${describeValue(v.from)} → ${describeValue(v.to)}`;
  return JSON.stringify(v);
}

function isChange(v: unknown): v is { from: unknown; to: unknown } {
  return (
    typeof v === 'object' &&
    v !== null &&
    Object.keys(v).length === 2 &&
    Object.hasOwn(v, 'from') &&
    Object.hasOwn(v, 'to')
  );
}
