// Plain constants of the security model, without zod: the web imports them without building any
// schema (a schema built in the browser probes `new Function`, which SPEC §4's CSP refuses).

/** Every action the audit log records. */
export const AUDIT_ACTIONS = [
  'login',
  'login.failed',
  'logout',
  'password.change',
  'job.run',
  'job.adhoc',
  'job.fanout',
  'job.cancel',
  'terminal.open',
  'user.create',
  'user.update',
  'user.delete',
  'token.create',
  'token.revoke',
  'schedule.create',
  'schedule.update',
  'schedule.pause',
  'schedule.resume',
  'schedule.delete',
  'schedule.run',
  'schedule.fire',
  'schedule.skip',
  'trigger.create',
  'trigger.delete',
  'trigger.use',
  'channel.create',
  'channel.update',
  'channel.delete',
  'rule.create',
  'rule.update',
  'rule.delete',
  'delivery.resend',
] as const;

/** Personal API tokens start with this, so a leaked one is recognisable (and greppable). */
export const TOKEN_PREFIX = 'vmo_';

/** Trigger secrets start with this: a request bearing one is a trigger's use, not a user's. */
export const TRIGGER_PREFIX = 'vmo_trg_';
