// A project's target run here: make in the project's directory (or through its mkcli alias).
import type { StartStream } from '@vmo/protocol';
import { checkMakeArgs, displayCommand, makeArgv } from '../make-command.js';
import { checkConfirmation, checkTargetUse } from './rails.js';
import { withoutConfirm, type JobRequest, type RequestContext } from './request.js';

export async function localTarget(ctx: RequestContext, req: StartStream): Promise<JobRequest> {
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
    type: 'stream',
    row: {
      project: project.alias,
      host: null,
      target: target.name,
      args,
      preset: null,
      command,
      argv,
      request: { kind: 'stream', request: withoutConfirm(req) },
    },
    launch: { runner: 'local', spec: { argv, cwd: project.dir, env: ctx.env() } },
    exclusiveKey: target.exclusive ? `${project.alias}:${target.name}` : undefined,
    audit: { action: 'job.run', details: { command, project: project.alias, ...rails } },
  };
}
