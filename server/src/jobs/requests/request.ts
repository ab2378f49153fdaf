// What every request builder makes (a JobRequest: the row to store, how to launch it, what to
// audit) and what they all read from (a RequestContext). One builder per job type lives beside it.
import type { JobType, StoredRequest } from '@vmo/protocol';
import type { Access } from '../../auth/permissions.js';
import type { CatalogService } from '../../catalog/catalog.service.js';
import type { NewJob } from '../../db/jobs.repository.js';
import type { Place, RemoteService } from '../../remote/remote.service.js';
import type { PtySpec } from '../../runners/pty.runner.js';
import type { RunSpec } from '../../runners/runner.js';
import type { RemoteSpec, SshRunner } from '../../runners/ssh.runner.js';

export type Launch =
  | { runner: 'local'; spec: RunSpec }
  | { runner: 'ssh'; spec: RemoteSpec }
  | { runner: 'pty'; spec: PtySpec };

export interface JobRequest {
  type: JobType;
  row: Pick<NewJob, 'project' | 'host' | 'target' | 'args' | 'preset' | 'command' | 'argv'> & {
    request: StoredRequest;
    environment?: string | null;
    vm?: string | null;
  };
  launch: Launch;
  /** Jobs with the same key run one at a time (`@exclusive` targets). */
  exclusiveKey?: string;
  audit: { action: string; details: Record<string, unknown> };
}

export interface RequestContext {
  catalog: CatalogService;
  remote: RemoteService;
  ssh: SshRunner;
  access: Access;
  /** The environment a job starts with (jobs.env applied). */
  env(): NodeJS.ProcessEnv;
}

/**
 * A command line as the history shows it: `make deploy @ prod/app9` on a VM (named as itself,
 * whichever ssh entry reaches it), `ssh web1 -- make deploy` on a plain host.
 */
export function placed(what: string, place: Place, hostAlias: string): string {
  return place.vm ? `${what} @ ${place.vm}` : `ssh ${hostAlias} -- ${what}`;
}

/** The place's columns and audit details: its environment and VM, when it is one. */
export function placeFields(place: Place): { environment?: string; vm?: string } {
  return place.vm ? { environment: place.environment!, vm: place.vm } : {};
}

/** The request as stored: its confirmation is never kept (a re-run asks again). */
export function withoutConfirm<T extends { confirm?: unknown }>(req: T): Omit<T, 'confirm'> {
  const { confirm: _confirm, ...rest } = req;
  return rest;
}
