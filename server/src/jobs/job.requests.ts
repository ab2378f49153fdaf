// Turns a request to run something into what the job service needs: the row to store and how to
// launch it. Every check of SPEC §2's execution rules happens here, before anything is stored.
import type { JobType, StartSsh, StartStream, User } from '@vmo/protocol';
import type { CatalogService } from '../catalog/catalog.service.js';
import { renderPreset } from '../catalog/presets.js';
import type { NewJob } from '../db/jobs.repository.js';
import { AppError } from '../errors.js';
import type { RemoteService } from '../remote/remote.service.js';
import type { RunSpec } from '../runners/runner.js';
import type { RemoteSpec } from '../runners/ssh.runner.js';
import type { SshRunner } from '../runners/ssh.runner.js';
import {
  checkMakeArgs,
  checkTargetParams,
  displayCommand,
  jobEnvironment,
  makeArgv,
} from './make-command.js';

export type Launch = { runner: 'local'; spec: RunSpec } | { runner: 'ssh'; spec: RemoteSpec };

export interface JobRequest {
  type: JobType;
  row: Pick<NewJob, 'project' | 'host' | 'target' | 'args' | 'preset' | 'command' | 'argv'>;
  launch: Launch;
  /** Jobs with the same key run one at a time (`@exclusive` targets). */
  exclusiveKey?: string;
  audit: { action: string; details: Record<string, unknown> };
}

export interface JobRequestsDeps {
  catalog: CatalogService;
  remote: RemoteService;
  ssh: SshRunner;
  allowAdHoc: boolean;
  env?: NodeJS.ProcessEnv;
}

export class JobRequests {
  constructor(private readonly deps: JobRequestsDeps) {}

  private env(): NodeJS.ProcessEnv {
    return jobEnvironment(this.deps.env ?? process.env);
  }

  async stream(req: StartStream): Promise<JobRequest> {
    const args = req.args ?? {};
    checkMakeArgs(args);
    const { project, target } = await this.deps.catalog.target(req.alias, req.target);
    checkTargetParams(target, args);
    if (target.interactive && !req.force) {
      throw new AppError(
        'INTERACTIVE_TARGET',
        `"${target.name}" needs a terminal: open it as a terminal job, or pass force`,
      );
    }
    if (target.confirm && !req.confirm) {
      throw new AppError(
        'VALIDATION',
        `"${target.name}" asks for confirmation: send confirm: true`,
      );
    }
    const viaAlias = this.deps.catalog.aliasExecutable(project);
    const argv = makeArgv({ dir: project.dir, target: target.name, args, viaAlias });
    const command = displayCommand(target.name, args);
    return {
      type: 'stream',
      row: {
        project: project.alias,
        host: null,
        target: target.name,
        args,
        preset: null,
        command,
        argv,
      },
      launch: { runner: 'local', spec: { argv, cwd: project.dir, env: this.env() } },
      exclusiveKey: target.exclusive ? `${project.alias}:${target.name}` : undefined,
      audit: { action: 'job.run', details: { command, project: project.alias } },
    };
  }

  /** A preset on a host (operators), or an ad-hoc command (admins, only with security.allowAdHoc). */
  ssh(req: StartSsh, user: User): JobRequest {
    if ('command' in req) {
      if (!this.deps.allowAdHoc)
        throw new AppError('FORBIDDEN', 'ad-hoc commands are turned off (security.allowAdHoc)');
      if (user.role !== 'admin')
        throw new AppError('FORBIDDEN', 'ad-hoc commands need the admin role');
    }
    const destination = this.deps.remote.destination(req.hostAlias);
    const preset = 'preset' in req ? this.deps.catalog.preset(req.preset) : null;
    const params = 'preset' in req ? (req.params ?? {}) : {};
    const command = preset ? renderPreset(preset, params) : (req as { command: string }).command;
    // Follow presets and ad-hoc commands get a tty, so a cancel ends the remote command too.
    const tty = preset ? preset.follow : true;
    const spec: RemoteSpec = { destination, command, tty, env: this.env() };
    const display = `ssh ${req.hostAlias} -- ${command}`;
    return {
      type: 'ssh',
      row: {
        project: null,
        host: req.hostAlias,
        target: null,
        args: params,
        preset: preset?.name ?? null,
        command: display,
        argv: this.deps.ssh.argv(spec),
      },
      launch: { runner: 'ssh', spec },
      audit: {
        action: preset ? 'job.run' : 'job.adhoc',
        details: { command: display, host: req.hostAlias },
      },
    };
  }

  /** The same request again, from a stored job (a re-run counts as confirmed). */
  async again(
    row: {
      type: JobType;
      project: string | null;
      target: string | null;
      host: string | null;
      preset: string | null;
      args: Record<string, string>;
      command: string;
    },
    user: User,
  ): Promise<JobRequest> {
    if (row.type === 'stream' && row.project && row.target) {
      return this.stream({
        alias: row.project,
        target: row.target,
        args: row.args,
        force: true,
        confirm: true,
      });
    }
    if (row.type === 'ssh' && row.host) {
      if (row.preset)
        return this.ssh({ hostAlias: row.host, preset: row.preset, params: row.args }, user);
      const prefix = `ssh ${row.host} -- `;
      if (row.command.startsWith(prefix))
        return this.ssh({ hostAlias: row.host, command: row.command.slice(prefix.length) }, user);
    }
    throw new AppError('VALIDATION', `a ${row.type} job cannot be re-run from here yet`);
  }
}
