// Plain constants of the security model, without zod: the web imports them without building any
// schema (a schema built in the browser probes `new Function`, which SPEC §4's CSP refuses).

/** Every action the audit log records. */
export const AUDIT_ACTIONS = [
  'login',
  'login.failed',
  'logout',
  /** A single sign-on user's groups asked of the provider again between sign-ins. */
  'sso.check',
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

/**
 * Why a single sign-on came back to `/login?error=<code>` (SPEC §2): the sign-in page explains
 * each one.
 */
export const SSO_ERRORS = {
  SSO_NO_ROLE:
    'None of your groups at the identity provider is given a role here. Ask an admin for access.',
  SSO_INVALID:
    'The answer from the identity provider could not be trusted (its state, nonce, code or token did not check out). Start again.',
  SSO_PROVIDER_UNAVAILABLE: 'The identity provider could not be reached. Try again in a moment.',
  SSO_DISABLED:
    'Single sign-on is not available to you: it is off here, or an admin disabled your account.',
  SSO_CONFLICT:
    'A local account already has your username. An admin must delete it before you can sign in with single sign-on.',
} as const;
export type SsoError = keyof typeof SSO_ERRORS;
