// A target's recent runs in words, for the strip's accessible name and tooltip.
import type { JobStatus, TargetStats } from '@vmo/protocol';
import { formatDuration } from '$lib/components/jobs/time.js';
import { count } from '$lib/count.js';

/** `3 runs: 2 succeeded, 1 failed · median 1.5 s` (newest first in the strip beside it). */
export function describeRuns(stats: TargetStats | undefined): string {
  if (!stats || stats.recent.length === 0) return 'Never run';
  const counts = new Map<JobStatus, number>();
  for (const s of stats.recent) counts.set(s, (counts.get(s) ?? 0) + 1);
  const words: Partial<Record<JobStatus, string>> = {
    success: 'succeeded',
    failed: 'failed',
    canceled: 'canceled',
    interrupted: 'interrupted',
  };
  const parts = [...counts].map(([status, n]) => `${n} ${words[status] ?? status}`);
  const n = stats.recent.length;
  const median = stats.medianMs === null ? '' : ` · median ${formatDuration(stats.medianMs)}`;
  return `Last ${count(n, 'run')}: ${parts.join(', ')}${median}`;
}

/** stats by target name. */
export function statsByTarget(list: readonly TargetStats[]): Map<string, TargetStats> {
  return new Map(list.map((s) => [s.target, s]));
}
