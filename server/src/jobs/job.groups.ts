// Fan-out groups: one `group` job whose children run on many hosts, at most `maxParallel` at once.
// The group keeps a line per child as they end and takes its status from all of them (SPEC §2).
import type { JobStatus } from '@vmo/protocol';
import type { JobRow } from '../db/jobs.repository.js';
import type { OutputPipeline } from './output.pipeline.js';

export interface Group {
  row: JobRow;
  pipeline: OutputPipeline;
  limit: number;
  running: number;
  remaining: number;
  statuses: JobStatus[];
  canceledBy?: string;
  interrupted?: string;
  /** Settles when the group has its final status. */
  finished: Promise<void>;
  release: () => void;
}

/** success only if every child succeeded; canceled if the group was; interrupted on shutdown; else failed. */
export function groupStatus(g: Pick<Group, 'statuses' | 'canceledBy' | 'interrupted'>): JobStatus {
  if (g.interrupted) return 'interrupted';
  if (g.canceledBy) return 'canceled';
  return g.statuses.every((s) => s === 'success') ? 'success' : 'failed';
}

export function childLine(row: Pick<JobRow, 'host' | 'status' | 'exit_code' | 'signal'>): string {
  const how = row.signal
    ? ` (${row.signal})`
    : row.exit_code !== null
      ? ` (exit ${row.exit_code})`
      : '';
  return `${row.host ?? '?'}: ${row.status}${how}`;
}
