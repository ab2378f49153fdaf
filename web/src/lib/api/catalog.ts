// Read-only views of the server: its health, the project catalog and each project's targets,
// their run statistics, and the remote side: VMs, ssh hosts, presets, containers.
import type {
  Health,
  HostInfo,
  PresetInfo,
  ProjectInfo,
  ProjectStats,
  TargetInfo,
  VmInfo,
} from '@vmo/protocol';
import { ApiError, request } from './client.js';

/**
 * Health is public and answers 503 while the database is away. That 503 is a state to show, not
 * a failure, so it becomes `db: 'down'` whether the body is a Health or an error body.
 */
export async function fetchHealth(): Promise<Health> {
  try {
    return await request<Health>('/api/health');
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 503) throw error;
    const version = (error.body as Partial<Health> | null)?.version;
    return { ok: false, db: 'down', version: typeof version === 'string' ? version : 'unknown' };
  }
}

export function fetchProjects(): Promise<ProjectInfo[]> {
  return request<ProjectInfo[]>('/api/projects');
}

/** A project's targets, here or (with `host`) on one of its remote hosts. */
export function fetchTargets(alias: string, host?: string | null): Promise<TargetInfo[]> {
  const query = host ? `?host=${encodeURIComponent(host)}` : '';
  return request<TargetInfo[]>(`/api/projects/${encodeURIComponent(alias)}/targets${query}`);
}

/** Each target's last finished runs and their median duration (targets never run are absent). */
export function fetchStats(alias: string): Promise<ProjectStats> {
  return request<ProjectStats>(`/api/projects/${encodeURIComponent(alias)}/stats`);
}

export function fetchVms(): Promise<VmInfo[]> {
  return request<VmInfo[]>('/api/vms');
}

export function fetchHosts(): Promise<HostInfo[]> {
  return request<HostInfo[]>('/api/hosts');
}

export function fetchPresets(): Promise<PresetInfo[]> {
  return request<PresetInfo[]>('/api/presets');
}

/** Names of the containers running on a host, asked over ssh. */
export function fetchContainers(hostAlias: string): Promise<string[]> {
  return request<string[]>(`/api/hosts/${encodeURIComponent(hostAlias)}/containers`);
}
