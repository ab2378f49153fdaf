// The catalog's remote side and per-target history as the REST API returns them (SPEC §2):
// VMs, ssh hosts, presets, and each target's recent runs.
import { z } from 'zod';
import { JobStatus } from './jobs.js';

export const VmInfo = z.object({
  /** `<env>/<name>` */
  id: z.string(),
  name: z.string(),
  environment: z.string(),
  host: z.string(),
  user: z.string().nullable(),
  /** The ssh config alias that reaches it, when there is one; else it is reached as `vm:<id>`. */
  sshAlias: z.string().nullable(),
});
export type VmInfo = z.infer<typeof VmInfo>;

export const HostInfo = z.object({
  alias: z.string(),
  hostname: z.string(),
  user: z.string().nullable(),
  port: z.number().int(),
});
export type HostInfo = z.infer<typeof HostInfo>;

export const PresetInfo = z.object({
  name: z.string(),
  /** Placeholder name → the regex its values must match. */
  params: z.record(z.string(), z.string()),
  /** Follows the output (`-f`) until canceled. */
  follow: z.boolean(),
});
export type PresetInfo = z.infer<typeof PresetInfo>;

/** How many finished runs per target `GET /api/projects/:alias/stats` looks at. */
export const STATS_RUNS = 10;

/** One target's last finished local runs: statuses newest first, and their median duration. */
export const TargetStats = z.object({
  target: z.string(),
  recent: z.array(JobStatus).max(STATS_RUNS),
  /** Median of those runs' durations in milliseconds; null when none of them had started. */
  medianMs: z.number().nullable(),
});
export type TargetStats = z.infer<typeof TargetStats>;

export const ProjectStats = z.array(TargetStats);
export type ProjectStats = z.infer<typeof ProjectStats>;
