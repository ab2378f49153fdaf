// A project's target run here: make in the project's directory (or through its mkcli alias).
import type { StartStream } from '@vmo/protocol';
import { checkMakeArgs, displayCommand, makeArgv } from '../make-command.js';
import { checkConfirmation, checkTargetUse } from './rails.js';
import { withoutConfirm, type JobRequest, type RequestContext } from './request.js';

/**
 * A project's target here, checked as every local start is (arguments, declared params, the
 * interactive rule unless `force`, its confirmation): the make it runs and the row it is.
 */
export async function localMake(ctx: RequestContext, req: StartStream) {
  const args = req.args ?? {};
  checkMakeArgs(args);
  const { project, target } = await ctx.catalog.target(req.alias, req.target);
  checkTargetUse(target, args, req);
  const rails = checkConfirmation(req.confirm, {
    target,
    protection: ctx.catalog.protectionOf({ project: project.alias }),
  });
  const viaAlias = ctx.catalog.aliasExecutable(project);
  const argv = makeArgv({ dir: project.dir, target: target.name, args, viaAlias });
  const command = displayCommand(target.name, args);
  return {
    row: {
      project: project.alias,
      host: null,
      target: target.name,
      args,
      preset: null,
      command,
      argv,
    },
    argv,
    cwd: project.dir,
    exclusiveKey: target.exclusive ? `${project.alias}:${target.name}` : undefined,
    details: { command, project: project.alias, ...rails },
  };
}

export async function localTarget(ctx: RequestContext, req: StartStream): Promise<JobRequest> {
  const make = await localMake(ctx, req);
  return {
    type: 'stream',
    row: { ...make.row, request: { kind: 'stream', request: withoutConfirm(req) } },
    launch: { runner: 'local', spec: { argv: make.argv, cwd: make.cwd, env: ctx.env() } },
    exclusiveKey: make.exclusiveKey,
    audit: { action: 'job.run', details: make.details },
  };
}
