// The job history's filters: read from and written to the page URL (so a filtered view can be
// shared and survives reload), and applied to live updates the same way the server applies them.
import type { Job, JobStatus, JobType, User } from '@vmo/protocol';
import type { JobFilter } from '$lib/api/jobs.js';

/** Every status with its label; a Record, so a status added to the protocol must be named here. */
export const STATUS_LABELS: Record<JobStatus, string> = {
  queued: 'Queued',
  running: 'Running',
  success: 'Success',
  failed: 'Failed',
  canceled: 'Canceled',
  interrupted: 'Interrupted',
  spawned: 'Opened in terminal app',
};

export const TYPE_LABELS: Record<JobType, string> = {
  stream: 'Make target',
  ssh: 'Remote command',
  terminal: 'Terminal',
  group: 'Fan-out group',
};

const KEYS = ['status', 'type', 'project', 'environment', 'vm', 'host', 'user', 'q'] as const;

export function filterFromUrl(params: URLSearchParams): JobFilter {
  const status = params.get('status') ?? '';
  const type = params.get('type') ?? '';
  return {
    status: status in STATUS_LABELS ? (status as JobStatus) : '',
    type: type in TYPE_LABELS ? (type as JobType) : '',
    project: params.get('project') ?? '',
    environment: params.get('environment') ?? '',
    vm: params.get('vm') ?? '',
    host: params.get('host') ?? '',
    user: params.get('user') ?? '',
    q: params.get('q') ?? '',
  };
}

/** `?status=failed&user=me`, or '' for no filter. */
export function filterToSearch(filter: JobFilter): string {
  const params = new URLSearchParams();
  for (const key of KEYS) {
    const value = filter[key]?.trim();
    if (value) params.set(key, value);
  }
  const search = params.toString();
  return search ? `?${search}` : '';
}

/** Whether a job pushed live belongs in a list with this filter. */
export function matchesFilter(job: Job, filter: JobFilter, me: User): boolean {
  if (filter.status && job.status !== filter.status) return false;
  if (filter.type && job.type !== filter.type) return false;
  if (filter.project && job.project !== filter.project) return false;
  if (filter.environment && job.environment !== filter.environment) return false;
  if (filter.vm && job.vm !== filter.vm) return false;
  if (filter.host && job.host !== filter.host) return false;
  if (filter.user === 'me' && job.requestedBy?.id !== me.id) return false;
  if (filter.user && filter.user !== 'me' && job.requestedBy?.username !== filter.user)
    return false;
  const q = filter.q?.trim().toLowerCase();
  return !q || job.command.toLowerCase().includes(q);
}
