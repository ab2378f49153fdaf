// Turns a request to run something into what the job service needs: the row to store and how to
// launch it. Every check of SPEC §2's execution rules happens here, before anything is stored.
import type {
  Confirmation,
  JobType,
  Protection,
  RerunJob,
  StartFanout,
  StartSsh,
  StartStream,
  StartTerminal,
  TargetInfo,
  User,
} from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { CatalogService } from '../catalog/catalog.service.js';
import { renderPreset } from '../catalog/presets.js';
import { shellQuote } from '../process/shell.js';
import type { NewJob } from '../db/jobs.repository.js';
import { AppError } from '../errors.js';
import type { RemoteService } from '../remote/remote.service.js';
import type { PtySpec } from '../runners/pty.runner.js';
import type { RunSpec } from '../runners/runner.js';
import type { RemoteSpec } from '../runners/ssh.runner.js';
import type { SshRunner } from '../runners/ssh.runner.js';
import { checkMakeArgs, checkTargetParams, displayCommand, makeArgv } from './make-command.js';
import { jobEnvironment, type EnvFilter } from '../process/environment.js';

export type Launch =
  | { runner: 'local'; spec: RunSpec }
  | { runner: 'ssh'; spec: RemoteSpec }
  | { runner: 'pty'; spec: PtySpec };

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
  access: Access;
  env?: NodeJS.ProcessEnv;
  /** `jobs.env` (defaults when absent). */
  envRules?: EnvFilter;
}

/** Declared params and the interactive rule of a target, the same locally and remotely. */
function checkTargetUse(
  target: TargetInfo,
  args: Record<string, string>,
  req: Pick<StartStream, 'force'>,
): void {
  checkTargetParams(target, args);
  if (target.interactive && !req.force) {
    throw new AppError(
      'INTERACTIVE_TARGET',
      `"${target.name}" needs a terminal: open it as a terminal job, or pass force`,
    );
  }
}

/**
 * The safety rails of every path that starts something (SPEC §4): a protected environment or
 * project wants its name typed (`confirm: "<name>"`), a `@confirm` target wants `confirm: true`
 * (or that name). Returns how it was confirmed, for the audit entry.
 */
export function checkConfirmation(
  confirm: Confirmation | undefined,
  need: { target?: Pick<TargetInfo, 'name' | 'confirm'>; protection: Protection | null },
): { confirmed?: 'asked' | 'typed'; protection?: Protection } {
  const { target, protection } = need;
  if (protection) {
    if (confirm !== protection.name)
      throw new AppError(
        'CONFIRM_REQUIRED',
        `${protection.kind} "${protection.name}" is protected: type its name to confirm (confirm: "${protection.name}")`,
      );
    return { confirmed: 'typed', protection };
  }
  if (target?.confirm) {
    if (confirm !== true && !(typeof confirm === 'string' && confirm !== ''))
      throw new AppError(
        'CONFIRM_REQUIRED',
        `"${target.name}" asks for confirmation before it runs: send confirm: true`,
      );
    return { confirmed: 'asked' };
  }
  return {};
}

export interface FanoutPlan {
  group: JobRequest['row'];
  children: JobRequest[];
  hosts: string[];
  audit: JobRequest['audit'];
}

export class JobRequests {
  constructor(private readonly deps: JobRequestsDeps) {}

  private env(): NodeJS.ProcessEnv {
    return jobEnvironment(this.deps.env ?? process.env, this.deps.envRules);
  }

  async stream(req: StartStream): Promise<JobRequest> {
    if (req.hostAlias !== undefined) return this.remoteTarget(req, req.hostAlias);
    const args = req.args ?? {};
    checkMakeArgs(args);
    const { project, target } = await this.deps.catalog.target(req.alias, req.target);
    checkTargetUse(target, args, req);
    const rails = checkConfirmation(req.confirm, {
      target,
      protection: this.deps.catalog.protectionOf({ project: project.alias }),
    });
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
      audit: { action: 'job.run', details: { command, project: project.alias, ...rails } },
    };
  }

  /** A project's target on one of its `remote` hosts: make over ssh with a tty, so a cancel reaches it. */
  private async remoteTarget(req: StartStream, hostAlias: string): Promise<JobRequest> {
    const args = req.args ?? {};
    checkMakeArgs(args);
    const project = this.deps.catalog.project(req.alias);
    const dir = this.deps.catalog.remoteDir(project, hostAlias);
    const target = (await this.deps.remote.projectTargets(project, hostAlias)).find(
      (t) => t.name === req.target,
    );
    if (!target)
      throw new AppError(
        'UNKNOWN_TARGET',
        `project "${project.alias}" has no target "${req.target}" on ${hostAlias}`,
      );
    checkTargetUse(target, args, req);
    const rails = checkConfirmation(req.confirm, {
      target,
      protection: this.deps.catalog.protectionOf({ project: project.alias, host: hostAlias }),
    });
    const words = makeArgv({ dir, target: target.name, args }).map(shellQuote).join(' ');
    const spec: RemoteSpec = {
      destination: this.deps.remote.destination(hostAlias),
      command: words,
      tty: true,
      env: this.env(),
    };
    const display = `ssh ${hostAlias} -- ${displayCommand(target.name, args)}`;
    return {
      type: 'ssh',
      row: {
        project: project.alias,
        host: hostAlias,
        target: target.name,
        args,
        preset: null,
        command: display,
        argv: this.deps.ssh.argv(spec),
      },
      launch: { runner: 'ssh', spec },
      exclusiveKey: target.exclusive ? `${project.alias}:${target.name}@${hostAlias}` : undefined,
      audit: {
        action: 'job.run',
        details: { command: display, project: project.alias, host: hostAlias, ...rails },
      },
    };
  }

  /** A preset on a host (operators), or an ad-hoc command (admins, only with security.allowAdHoc). */
  ssh(req: StartSsh, user: User, confirmed?: ReturnType<typeof checkConfirmation>): JobRequest {
    if ('command' in req) this.deps.access.assert(user, 'adhoc.run');
    const destination = this.deps.remote.destination(req.hostAlias);
    const preset = 'preset' in req ? this.deps.catalog.preset(req.preset) : null;
    const params = 'preset' in req ? (req.params ?? {}) : {};
    // A fan-out checked its own confirmation, once for all its hosts.
    const rails =
      confirmed ??
      checkConfirmation(req.confirm, {
        protection: this.deps.catalog.protectionOf({ host: req.hostAlias }),
      });
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
        details: { command: display, host: req.hostAlias, ...rails },
      },
    };
  }

  /** A terminal: an interactive target (locally, in a pty), or a login shell on a host (`ssh -tt`). */
  async terminal(req: StartTerminal, user: User): Promise<JobRequest> {
    const size = { cols: req.cols ?? 120, rows: req.rows ?? 32 };
    if ('hostAlias' in req) {
      // A shell on a host is an ad-hoc command (SPEC §4).
      this.deps.access.assert(user, 'hostShell.open');
      const destination = this.deps.remote.destination(req.hostAlias);
      const rails = checkConfirmation(req.confirm, {
        protection: this.deps.catalog.protectionOf({ host: req.hostAlias }),
      });
      const argv = this.deps.ssh.shellArgv(destination);
      const command = `ssh ${req.hostAlias}`;
      return {
        type: 'terminal',
        row: {
          project: null,
          host: req.hostAlias,
          target: null,
          args: {},
          preset: null,
          command,
          argv,
        },
        launch: { runner: 'pty', spec: { argv, env: this.env(), ...size } },
        audit: { action: 'terminal.open', details: { command, host: req.hostAlias, ...rails } },
      };
    }
    const args = req.args ?? {};
    checkMakeArgs(args);
    const { project, target } = await this.deps.catalog.target(req.alias, req.target);
    checkTargetUse(target, args, { force: true });
    const rails = checkConfirmation(req.confirm, {
      target,
      protection: this.deps.catalog.protectionOf({ project: project.alias }),
    });
    const argv = makeArgv({
      dir: project.dir,
      target: target.name,
      args,
      viaAlias: this.deps.catalog.aliasExecutable(project),
    });
    const command = displayCommand(target.name, args);
    return {
      type: 'terminal',
      row: {
        project: project.alias,
        host: null,
        target: target.name,
        args,
        preset: null,
        command,
        argv,
      },
      launch: { runner: 'pty', spec: { argv, cwd: project.dir, env: this.env(), ...size } },
      exclusiveKey: target.exclusive ? `${project.alias}:${target.name}` : undefined,
      audit: {
        action: 'terminal.open',
        details: { command, project: project.alias, ...rails },
      },
    };
  }

  /** One child request per host; the group's own row. Unreachable hosts become failing children. */
  async fanout(req: StartFanout, user: User): Promise<FanoutPlan> {
    const hosts = this.fanoutHosts(req);
    // One typed name for the whole fan-out: the environment's, or the first protected host's.
    const protection =
      (req.environment ? this.deps.catalog.protectionOf({ environment: req.environment }) : null) ??
      hosts.map((host) => this.deps.catalog.protectionOf({ host })).find(Boolean) ??
      (req.alias ? this.deps.catalog.protectionOf({ project: req.alias }) : null);
    const rails = checkConfirmation(req.confirm, { protection });
    let children: JobRequest[];
    if (req.preset !== undefined) {
      children = hosts.map((hostAlias) =>
        this.ssh({ hostAlias, preset: req.preset!, params: req.params }, user, rails),
      );
    } else {
      children = await this.fanoutTarget(
        req as Required<Pick<StartFanout, 'alias' | 'target'>> & StartFanout,
        hosts,
      );
    }
    const first = children[0]!;
    const tail = first.row.command.slice(first.row.command.indexOf(' -- ') + 4);
    const where = req.environment ?? hosts.join(',');
    const command = `fanout ${where} -- ${tail}`;
    return {
      group: {
        project: first.row.project,
        host: req.environment ?? null,
        target: first.row.target,
        args: first.row.args,
        preset: first.row.preset,
        command,
        argv: [],
      },
      children,
      hosts,
      audit: { action: 'job.fanout', details: { command, hosts, ...rails } },
    };
  }

  private fanoutHosts(req: StartFanout): string[] {
    if (req.hostAliases) {
      const hosts = [...new Set(req.hostAliases)];
      for (const h of hosts) this.deps.remote.destination(h); // 404 UNKNOWN_HOST before anything starts
      return hosts;
    }
    const vms = this.deps.catalog.vms().filter((v) => v.environment === req.environment);
    if (!vms.length)
      throw new AppError('UNKNOWN_HOST', `no VMs in environment "${req.environment}"`);
    return vms.map((v) => v.sshAlias ?? `vm:${v.environment}/${v.name}`);
  }

  /** The target must exist on every host that answers; a host that cannot be reached still gets its (failing) job. */
  private async fanoutTarget(
    req: StartFanout & { alias: string; target: string },
    hosts: string[],
  ): Promise<JobRequest[]> {
    const request = { alias: req.alias, target: req.target, args: req.args, confirm: req.confirm };
    const settled = await Promise.allSettled(hosts.map((h) => this.remoteTarget(request, h)));
    const reached = settled.find(
      (r): r is PromiseFulfilledResult<JobRequest> => r.status === 'fulfilled',
    );
    const refusal = settled.find(
      (r) =>
        r.status === 'rejected' &&
        !(r.reason instanceof AppError && r.reason.code === 'REMOTE_FAILED'),
    );
    if (refusal?.status === 'rejected') throw refusal.reason;
    if (!reached) throw (settled[0] as PromiseRejectedResult).reason;
    return settled.map((r, i) =>
      r.status === 'fulfilled' ? r.value : this.unchecked(reached.value, hosts[i]!),
    );
  }

  /** The same remote make on a host whose targets could not be read: it runs, and fails in words. */
  private unchecked(model: JobRequest, hostAlias: string): JobRequest {
    const spec = {
      ...(model.launch.spec as RemoteSpec),
      destination: this.deps.remote.destination(hostAlias),
    };
    const dir = this.deps.catalog.remoteDir(
      this.deps.catalog.project(model.row.project!),
      hostAlias,
    );
    spec.command = makeArgv({ dir, target: model.row.target!, args: model.row.args })
      .map(shellQuote)
      .join(' ');
    const display = `ssh ${hostAlias} -- ${model.row.command.slice(model.row.command.indexOf(' -- ') + 4)}`;
    return {
      ...model,
      row: { ...model.row, host: hostAlias, command: display, argv: this.deps.ssh.argv(spec) },
      launch: { runner: 'ssh', spec },
    };
  }

  /**
   * The same request again, from a stored job: its arguments (or `args` instead), and confirmed
   * again where the first run had to be (a re-run is not a confirmation).
   */
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
    again: RerunJob = {},
  ): Promise<JobRequest> {
    const args = again.args ?? row.args;
    const confirm = again.confirm;
    if ((row.type === 'stream' || row.type === 'ssh') && row.project && row.target) {
      return this.stream({
        alias: row.project,
        target: row.target,
        args,
        force: true,
        confirm,
        ...(row.type === 'ssh' && row.host ? { hostAlias: row.host } : {}),
      });
    }
    if (row.type === 'ssh' && row.host) {
      if (row.preset)
        return this.ssh({ hostAlias: row.host, preset: row.preset, params: args, confirm }, user);
      const prefix = `ssh ${row.host} -- `;
      if (row.command.startsWith(prefix))
        return this.ssh(
          { hostAlias: row.host, command: row.command.slice(prefix.length), confirm },
          user,
        );
    }
    throw new AppError('VALIDATION', `a ${row.type} job cannot be re-run from here`);
  }
}
