// A terminal: an interactive target (locally, in a pty), or a login shell on a host (`ssh -tt`).
import type { StartTerminal, User } from '@vmo/protocol';
import { localMake } from './local-target.js';
import { checkConfirmation } from './rails.js';
import { placeFields, withoutConfirm, type JobRequest, type RequestContext } from './request.js';

export async function terminal(
  ctx: RequestContext,
  req: StartTerminal,
  user: User,
): Promise<JobRequest> {
  const size = { cols: req.cols ?? 120, rows: req.rows ?? 32 };
  const request = { kind: 'terminal' as const, request: withoutConfirm(req) as StartTerminal };
  if ('hostAlias' in req) {
    // A shell on a host is an ad-hoc command (SPEC §4).
    ctx.access.assert(user, 'hostShell.open');
    const destination = ctx.remote.destination(req.hostAlias);
    const rails = checkConfirmation(req.confirm, {
      protection: ctx.catalog.protectionOf({ host: req.hostAlias }),
    });
    const argv = ctx.ssh.shellArgv(destination);
    const place = ctx.remote.place(req.hostAlias);
    const command = `ssh ${place.vm ?? req.hostAlias}`;
    return {
      type: 'terminal',
      row: {
        project: null,
        host: place.host,
        ...placeFields(place),
        target: null,
        args: {},
        preset: null,
        command,
        argv,
        request,
      },
      launch: { runner: 'pty', spec: { argv, env: ctx.env(), ...size } },
      audit: {
        action: 'terminal.open',
        details: { command, host: place.host, ...placeFields(place), ...rails },
      },
    };
  }
  // An interactive target is what a terminal is for: forced past the interactive rule.
  const make = await localMake(ctx, { ...req, force: true });
  return {
    type: 'terminal',
    row: { ...make.row, request },
    launch: { runner: 'pty', spec: { argv: make.argv, cwd: make.cwd, env: ctx.env(), ...size } },
    exclusiveKey: make.exclusiveKey,
    audit: { action: 'terminal.open', details: make.details },
  };
}
