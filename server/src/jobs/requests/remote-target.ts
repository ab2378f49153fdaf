// A project's target on one of its `remote` hosts: make over ssh with a tty, so a cancel reaches it.
import type { StartStream } from '@vmo/protocol';
import { AppError } from '../../errors.js';
import { shellQuote } from '../../process/shell.js';
import type { RemoteSpec } from '../../runners/ssh.runner.js';
import { checkMakeArgs, displayCommand, makeArgv } from '../make-command.js';
import { checkConfirmation, checkTargetUse, type Confirmed } from './rails.js';
import {
  placed,
  placeFields,
  withoutConfirm,
  type JobRequest,
  type RequestContext,
} from './request.js';

export async function remoteTarget(
  ctx: RequestContext,
  req: StartStream,
  hostAlias: string,
  /** A fan-out checked its own confirmation, once for all its hosts. */
  confirmed?: Confirmed,
): Promise<JobRequest> {
  const args = req.args ?? {};
  checkMakeArgs(args);
  const project = ctx.catalog.project(req.alias);
  ctx.catalog.remoteDir(project, hostAlias); // 404 UNKNOWN_HOST for a host the project is not on
  const target = (await ctx.remote.projectTargets(project, hostAlias)).find(
    (t) => t.name === req.target,
  );
  if (!target)
    throw new AppError(
      'UNKNOWN_TARGET',
      `project "${project.alias}" has no target "${req.target}" on ${hostAlias}`,
    );
  checkTargetUse(target, args, req);
  const rails =
    confirmed ??
    checkConfirmation(req.confirm, {
      target,
      protection: ctx.catalog.protectionOf({ project: project.alias, host: hostAlias }),
    });
  const built = remoteMake(ctx, { ...req, args }, hostAlias);
  return {
    ...built,
    exclusiveKey: target.exclusive ? `${project.alias}:${target.name}@${hostAlias}` : undefined,
    audit: { ...built.audit, details: { ...built.audit.details, ...rails } },
  };
}

/**
 * The remote make itself, with no look at the host's targets: what a fan-out runs on a host whose
 * targets could not be read (it runs, and fails in words).
 */
export function remoteMake(
  ctx: RequestContext,
  req: StartStream & { args: Record<string, string> },
  hostAlias: string,
): JobRequest {
  const project = ctx.catalog.project(req.alias);
  const dir = ctx.catalog.remoteDir(project, hostAlias);
  const words = makeArgv({ dir, target: req.target, args: req.args }).map(shellQuote).join(' ');
  const spec: RemoteSpec = {
    destination: ctx.remote.destination(hostAlias),
    command: words,
    tty: true,
    env: ctx.env(),
  };
  const place = ctx.remote.place(hostAlias);
  const command = placed(displayCommand(req.target, req.args), place, hostAlias);
  return {
    type: 'ssh',
    row: {
      project: project.alias,
      host: place.host,
      ...placeFields(place),
      target: req.target,
      args: req.args,
      preset: null,
      command,
      argv: ctx.ssh.describe(spec),
      request: { kind: 'stream', request: { ...withoutConfirm(req), hostAlias } },
    },
    launch: { runner: 'ssh', spec },
    audit: {
      action: 'job.run',
      details: { command, project: project.alias, host: place.host, ...placeFields(place) },
    },
  };
}
