// A preset on a host (operators), or an ad-hoc command (admins, only with security.allowAdHoc).
import type { StartSsh, User } from '@vmo/protocol';
import { renderPreset } from '../../catalog/presets.js';
import type { RemoteSpec } from '../../runners/ssh.runner.js';
import { checkConfirmation, type Confirmed } from './rails.js';
import {
  placed,
  placeFields,
  withoutConfirm,
  type JobRequest,
  type RequestContext,
} from './request.js';

export function sshCommand(
  ctx: RequestContext,
  req: StartSsh,
  user: User,
  /** A fan-out checked its own confirmation, once for all its hosts. */
  confirmed?: Confirmed,
): JobRequest {
  if ('command' in req) ctx.access.assert(user, 'adhoc.run');
  const destination = ctx.remote.destination(req.hostAlias);
  const preset = 'preset' in req ? ctx.catalog.preset(req.preset) : null;
  const params = 'preset' in req ? (req.params ?? {}) : {};
  const rails =
    confirmed ??
    checkConfirmation(req.confirm, {
      protection: ctx.catalog.protectionOf({ host: req.hostAlias }),
    });
  const command = preset ? renderPreset(preset, params) : (req as { command: string }).command;
  // Follow presets and ad-hoc commands get a tty, so a cancel ends the remote command too.
  const tty = preset ? preset.follow : true;
  const spec: RemoteSpec = { destination, command, tty, env: ctx.env() };
  const place = ctx.remote.place(req.hostAlias);
  const display = placed(command, place, req.hostAlias);
  return {
    type: 'ssh',
    row: {
      project: null,
      host: place.host,
      ...placeFields(place),
      target: null,
      args: params,
      preset: preset?.name ?? null,
      command: display,
      argv: ctx.ssh.describe(spec),
      request: { kind: 'ssh', request: withoutConfirm(req) as StartSsh },
    },
    launch: { runner: 'ssh', spec },
    audit: {
      action: preset ? 'job.run' : 'job.adhoc',
      details: { command: display, host: place.host, ...placeFields(place), ...rails },
    },
  };
}
