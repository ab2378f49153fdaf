// A fan-out: one child request per host (a preset, or a project's target) and the group's own row.
// Unreachable hosts become failing children; one confirmation covers every host.
import type { StartFanout, StartStream, User } from '@vmo/protocol';
import { renderPreset } from '../../catalog/presets.js';
import { AppError } from '../../errors.js';
import { displayCommand } from '../make-command.js';
import { checkConfirmation } from './rails.js';
import { remoteMake, remoteTarget } from './remote-target.js';
import { withoutConfirm, type JobRequest, type RequestContext } from './request.js';
import { sshCommand } from './ssh-command.js';

export interface FanoutPlan {
  group: JobRequest['row'];
  children: JobRequest[];
  hosts: string[];
  audit: JobRequest['audit'];
}

export async function fanout(
  ctx: RequestContext,
  req: StartFanout,
  user: User,
): Promise<FanoutPlan> {
  const hosts = fanoutHosts(ctx, req);
  // One typed name for the whole fan-out: the environment's, or the first protected host's.
  const protection =
    (req.environment ? ctx.catalog.protectionOf({ environment: req.environment }) : null) ??
    hosts.map((host) => ctx.catalog.protectionOf({ host })).find(Boolean) ??
    (req.alias ? ctx.catalog.protectionOf({ project: req.alias }) : null);
  const rails = checkConfirmation(req.confirm, { protection });
  const children =
    req.preset !== undefined
      ? hosts.map((hostAlias) =>
          sshCommand(ctx, { hostAlias, preset: req.preset!, params: req.params }, user, rails),
        )
      : await fanoutTarget(
          ctx,
          { alias: req.alias!, target: req.target!, args: req.args, confirm: req.confirm },
          hosts,
        );
  const first = children[0]!;
  const what =
    first.row.preset !== null
      ? renderPreset(ctx.catalog.preset(first.row.preset), first.row.args)
      : displayCommand(first.row.target!, first.row.args);
  const where = req.environment ?? hosts.join(',');
  const command = `fanout ${where} -- ${what}`;
  return {
    group: {
      project: first.row.project,
      host: req.environment ?? null,
      ...(req.environment ? { environment: req.environment } : {}),
      target: first.row.target,
      args: first.row.args,
      preset: first.row.preset,
      command,
      argv: [],
      request: { kind: 'fanout', request: withoutConfirm(req) },
    },
    children,
    hosts,
    audit: {
      action: 'job.fanout',
      details: {
        command,
        hosts,
        ...(req.environment ? { environment: req.environment } : {}),
        ...rails,
      },
    },
  };
}

function fanoutHosts(ctx: RequestContext, req: StartFanout): string[] {
  if (req.hostAliases) {
    const hosts = [...new Set(req.hostAliases)];
    for (const h of hosts) ctx.remote.destination(h); // 404 UNKNOWN_HOST before anything starts
    return hosts;
  }
  const vms = ctx.catalog.vms().filter((v) => v.environment === req.environment);
  if (!vms.length) throw new AppError('UNKNOWN_HOST', `no VMs in environment "${req.environment}"`);
  // Each VM as itself (its ssh alias may be shared, or another host's): its job names it.
  return vms.map((v) => `vm:${v.id}`);
}

/** The target must exist on every host that answers; a host that cannot be reached still gets its (failing) job. */
async function fanoutTarget(
  ctx: RequestContext,
  req: StartStream,
  hosts: string[],
): Promise<JobRequest[]> {
  // Each host's target is checked like a single run (a `@confirm` target wants the same confirm).
  const settled = await Promise.allSettled(hosts.map((h) => remoteTarget(ctx, req, h)));
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
  const args = reached.value.row.args;
  return settled.map((r, i) =>
    r.status === 'fulfilled' ? r.value : remoteMake(ctx, { ...req, args }, hosts[i]!),
  );
}
