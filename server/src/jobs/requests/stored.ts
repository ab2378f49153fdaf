// A stored job's request, as data (protocol StoredRequest), and the same request for a re-run.
import { StoredRequest, type RerunJob } from '@vmo/protocol';
import type { JobRow } from '../../db/jobs.repository.js';
import { AppError } from '../../errors.js';

/**
 * The request a job was started with. Jobs stored before migration 0007 kept none: theirs is built
 * from their columns (and a fan-out's hosts from its children), the only place that still reads
 * the command line shown.
 */
export async function storedRequest(
  row: Pick<JobRow, 'type' | 'project' | 'target' | 'host' | 'preset' | 'args' | 'command'> & {
    request: unknown;
  },
  childHosts: () => Promise<string[]>,
): Promise<StoredRequest> {
  if (row.request !== null && row.request !== undefined) {
    const parsed = StoredRequest.safeParse(row.request);
    if (!parsed.success)
      throw new AppError('VALIDATION', 'the stored request of this job cannot be read again');
    return parsed.data;
  }
  return fromColumns(row, childHosts);
}

async function fromColumns(
  row: Pick<JobRow, 'type' | 'project' | 'target' | 'host' | 'preset' | 'args' | 'command'>,
  childHosts: () => Promise<string[]>,
): Promise<StoredRequest> {
  const { type, project, target, host, preset, args } = row;
  if (type === 'terminal' && host) return { kind: 'terminal', request: { hostAlias: host } };
  if (type === 'group') {
    const hosts = host ? [] : [...new Set(await childHosts())].filter(Boolean);
    if (!host && hosts.length === 0)
      throw new AppError(
        'VALIDATION',
        'the hosts of this fan-out are not known: start it again from its environment or hosts',
      );
    const where = host ? { environment: host } : { hostAliases: hosts };
    return {
      kind: 'fanout',
      request: preset
        ? { ...where, preset, params: args }
        : { ...where, alias: project ?? '', target: target ?? '', args },
    };
  }
  if ((type === 'stream' || type === 'ssh') && project && target)
    return {
      kind: 'stream',
      request: {
        alias: project,
        target,
        args,
        force: true,
        ...(type === 'ssh' && host ? { hostAlias: host } : {}),
      },
    };
  if (type === 'ssh' && host) {
    if (preset) return { kind: 'ssh', request: { hostAlias: host, preset, params: args } };
    const prefix = `ssh ${host} -- `;
    if (row.command.startsWith(prefix))
      return {
        kind: 'ssh',
        request: { hostAlias: host, command: row.command.slice(prefix.length) },
      };
  }
  throw new AppError('VALIDATION', `a ${type} job cannot be re-run from here`);
}

/** The stored request again: `again.args` replace its arguments (or a preset's params), `again.confirm` is its confirmation. */
export function rerunRequest(stored: StoredRequest, again: RerunJob): StoredRequest {
  const confirm = again.confirm !== undefined ? { confirm: again.confirm } : {};
  const args = again.args;
  switch (stored.kind) {
    case 'stream':
      return { kind: 'stream', request: { ...stored.request, ...(args && { args }), ...confirm } };
    case 'ssh': {
      const r = stored.request;
      return 'preset' in r
        ? { kind: 'ssh', request: { ...r, ...(args && { params: args }), ...confirm } }
        : { kind: 'ssh', request: { ...r, ...confirm } };
    }
    case 'terminal': {
      const r = stored.request;
      return 'hostAlias' in r
        ? { kind: 'terminal', request: { ...r, ...confirm } }
        : { kind: 'terminal', request: { ...r, ...(args && { args }), ...confirm } };
    }
    case 'fanout': {
      const r = stored.request;
      return r.preset !== undefined
        ? { kind: 'fanout', request: { ...r, ...(args && { params: args }), ...confirm } }
        : { kind: 'fanout', request: { ...r, ...(args && { args }), ...confirm } };
    }
  }
}
