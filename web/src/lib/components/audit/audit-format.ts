// How an audit entry reads in the table: its details as short text, and whether its target is a job.
import type { AuditEntry } from '@vmo/protocol';

const JOB_ACTIONS = new Set(['job.run', 'job.adhoc', 'job.fanout', 'job.cancel', 'terminal.open']);

export const isJobTarget = (e: AuditEntry): boolean => JOB_ACTIONS.has(e.action);

/** `command: make hello · project: demo`; nested values as JSON. */
export function describeDetails(e: AuditEntry): string {
  if (!e.details) return '';
  return Object.entries(e.details)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' · ');
}
