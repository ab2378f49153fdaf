// Read-only views of the server: its health, the project catalog and each project's targets.
import type { Health, ProjectInfo, TargetInfo } from '@vmo/protocol';
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

export function fetchTargets(alias: string): Promise<TargetInfo[]> {
  return request<TargetInfo[]>(`/api/projects/${encodeURIComponent(alias)}/targets`);
}
