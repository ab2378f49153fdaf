// The catalog's remote side and per-target history as the REST API returns them (SPEC §2):
// VMs, ssh hosts, presets, and each target's recent runs.
import { z } from 'zod';
import { HostAlias, JobStatus } from './jobs.js';

export const VmInfo = z.object({
  /** `<env>/<name>` */
  id: z.string(),
  name: z.string(),
  environment: z.string(),
  host: z.string(),
  user: z.string().nullable(),
  /** The ssh config alias that reaches it, when there is one; else it is reached as `vm:<id>`. */
  sshAlias: z.string().nullable(),
  /** That alias's `HostInfo.error`: ssh cannot reach the VM through it until the config is fixed. */
  sshError: z.string().optional(),
  /** Its environment is production (`protected: true`): starting anything there wants its name typed. */
  protected: z.boolean().optional(),
});
export type VmInfo = z.infer<typeof VmInfo>;

export const HostInfo = z.object({
  alias: z.string(),
  hostname: z.string(),
  user: z.string().nullable(),
  port: z.number().int(),
  /** The ProxyJump chain `ssh -G` resolves, first hop first (`[user@]host[:port]` or an alias). */
  proxyJump: z.array(z.string()).optional(),
  /** A ProxyCommand reaches it (its text is not shown). */
  proxyCommand: z.boolean().optional(),
  /**
   * Why ssh cannot use this host: `ssh -G`'s own message (an Include loop, a bad option or value,
   * with paths other than the config files hidden). Absent when it resolves; when present,
   * hostname, user and port are placeholders.
   */
  error: z.string().optional(),
});
export type HostInfo = z.infer<typeof HostInfo>;

/** The last on-demand check of a host or VM: an ssh connection in BatchMode running `true`. */
export const Reachability = z.object({
  /** As the check was asked: an ssh alias or `vm:<env>/<name>`. */
  hostAlias: z.string(),
  reachable: z.boolean(),
  checkedAt: z.string(),
  /** How long the connection and `true` took. */
  ms: z.number().int().nonnegative(),
  /** ssh's reason, in words, when it did not get through. */
  error: z.string().optional(),
});
export type Reachability = z.infer<typeof Reachability>;

export const PresetInfo = z.object({
  name: z.string(),
  /** Placeholder name → the regex its values must match. */
  params: z.record(z.string(), z.string()),
  /** Follows the output (`-f`) until canceled. */
  follow: z.boolean(),
});
export type PresetInfo = z.infer<typeof PresetInfo>;

/** `GET /api/projects/:alias/targets?host=`: the project's targets on one of its `remote` hosts. */
export const TargetsQuery = z.strictObject({ host: HostAlias.optional() });
export type TargetsQuery = z.infer<typeof TargetsQuery>;

/** Names of the containers running on a host. */
export const ContainerNames = z.array(z.string());
export type ContainerNames = z.infer<typeof ContainerNames>;

/** What `POST /api/catalog/refresh` found: counts, and the vm-config environments it could not read. */
export const CatalogRefreshed = z.object({
  projects: z.number().int().nonnegative(),
  hosts: z.number().int().nonnegative(),
  vms: z.number().int().nonnegative(),
  problems: z.array(z.object({ environment: z.string(), error: z.string() })),
});
export type CatalogRefreshed = z.infer<typeof CatalogRefreshed>;

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
