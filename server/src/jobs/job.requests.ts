// Turns a request to run something into what the job service needs: the row to store (with the
// request itself, as data), how to launch it, and what to audit. Every check of SPEC §2's execution
// rules happens before anything is stored. One builder per job type lives in jobs/requests/.
import type { StartFanout, StartSsh, StartStream, StartTerminal, User } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { CatalogService } from '../catalog/catalog.service.js';
import { jobEnvironment, type EnvFilter } from '../process/environment.js';
import type { RemoteService } from '../remote/remote.service.js';
import type { SshRunner } from '../runners/ssh.runner.js';
import { fanout, type FanoutPlan } from './requests/fanout.js';
import { localTarget } from './requests/local-target.js';
import { remoteTarget } from './requests/remote-target.js';
import type { JobRequest, RequestContext } from './requests/request.js';
import { sshCommand } from './requests/ssh-command.js';
import { terminal } from './requests/terminal.js';

export type { JobRequest, Launch } from './requests/request.js';
export type { FanoutPlan } from './requests/fanout.js';
export { checkConfirmation } from './requests/rails.js';

export interface JobRequestsDeps {
  catalog: CatalogService;
  remote: RemoteService;
  ssh: SshRunner;
  access: Access;
  env?: NodeJS.ProcessEnv;
  /** `jobs.env` (defaults when absent). */
  envRules?: EnvFilter;
}

export class JobRequests {
  private readonly ctx: RequestContext;

  constructor(deps: JobRequestsDeps) {
    const { env, envRules, ...rest } = deps;
    this.ctx = { ...rest, env: () => jobEnvironment(env ?? process.env, envRules) };
  }

  /** A project's target, here or (with `hostAlias`) on one of its remote hosts. */
  stream(req: StartStream): Promise<JobRequest> {
    return req.hostAlias !== undefined
      ? remoteTarget(this.ctx, req, req.hostAlias)
      : localTarget(this.ctx, req);
  }

  ssh(req: StartSsh, user: User): JobRequest {
    return sshCommand(this.ctx, req, user);
  }

  terminal(req: StartTerminal, user: User): Promise<JobRequest> {
    return terminal(this.ctx, req, user);
  }

  fanout(req: StartFanout, user: User): Promise<FanoutPlan> {
    return fanout(this.ctx, req, user);
  }
}
