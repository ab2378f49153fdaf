// Read-only views of the server: its health, the project catalog and each project's targets,
// their run statistics, and the remote side: VMs, ssh hosts, presets, containers.
import type {
  Health,
  HostInfo,
  PresetInfo,
  ProjectInfo,
  ProjectStats,
  Reachability,
  TargetInfo,
  VmInfo,
} from '@vmo/protocol';
import { ROUTES } from './routes.js';
import { ApiError, call } from './client.js';

/**
 * Health is public and answers 503 while the database is away. That 503 is a state to show, not
 * a failure, so it becomes `db: 'down'` whether the body is a Health or an error body.
 */
export async function fetchHealth(): Promise<Health> {
  try {
    return await call(ROUTES.meta.health, {});
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 503) throw error;
    const version = (error.body as Partial<Health> | null)?.version;
    return { ok: false, db: 'down', version: typeof version === 'string' ? version : 'unknown' };
  }
}

export function fetchProjects(): Promise<ProjectInfo[]> {
  return call(ROUTES.catalog.listProjects, {});
}

/** A project's targets, here or (with `host`) on one of its remote hosts. */
export function fetchTargets(alias: string, host?: string | null): Promise<TargetInfo[]> {
  return call(ROUTES.catalog.listTargets, { params: { alias }, query: { host } });
}

/** Each target's last finished runs and their median duration (targets never run are absent). */
export function fetchStats(alias: string): Promise<ProjectStats> {
  return call(ROUTES.catalog.projectStats, { params: { alias } });
}

export function fetchVms(): Promise<VmInfo[]> {
  return call(ROUTES.catalog.listVms, {});
}

export function fetchHosts(): Promise<HostInfo[]> {
  return call(ROUTES.catalog.listHosts, {});
}

export function fetchPresets(): Promise<PresetInfo[]> {
  return call(ROUTES.catalog.listPresets, {});
}

/** Names of the containers running on a host, asked over ssh. */
export function fetchContainers(hostAlias: string): Promise<string[]> {
  return call(ROUTES.catalog.listContainers, { params: { alias: hostAlias } });
}

/** Connects to a host or VM now (ssh in BatchMode runs `true`); kept as its last check. */
export function checkHost(hostAlias: string): Promise<Reachability> {
  return call(ROUTES.catalog.checkHost, { params: { alias: hostAlias } });
}

/** The last check of each host and VM, newest first. */
export function fetchChecks(): Promise<Reachability[]> {
  return call(ROUTES.catalog.listChecks, {});
}
