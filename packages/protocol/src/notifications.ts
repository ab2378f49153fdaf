// Notifications (SPEC §2: /api/notifications, issue 24): channels (a signed webhook, a
// Slack-compatible incoming webhook, e-mail over SMTP), rules that say which job ends go to which
// channel, and the log of each delivery. Channel secrets are write-only: never in an answer.
import { z } from 'zod';
import { JobId } from './jobs.js';

export const ChannelId = z.uuid();
export const NotificationRuleId = z.uuid();
export const DeliveryId = z.uuid();

export const ChannelKind = z.enum(['webhook', 'slack', 'email']);
export type ChannelKind = z.infer<typeof ChannelKind>;

/** What a rule listens for; `recovered` is the first success after a failure of the same run. */
export const Outcome = z.enum(['failed', 'succeeded', 'canceled', 'interrupted', 'recovered']);
export type Outcome = z.infer<typeof Outcome>;

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .max(2048);
const smtpUrl = z
  .url({
    protocol: /^smtps?$/,
    error: 'must be an smtp://[user@]host[:port] or smtps:// URL (the password goes in secret)',
  })
  .max(2048);
const address = z.email({ error: 'must be an e-mail address' }).max(254);

const channelFields = {
  name: z.string().trim().min(1).max(128),
  /** webhook and slack: where to POST; email: the SMTP server, `smtp://user@host:587`. */
  url: z.string().max(2048),
  /** webhook: the HMAC key (made and shown once when left out); email: the SMTP password. */
  secret: z.string().min(1).max(1024).optional(),
  /** email: the recipients. */
  to: z.array(address).min(1).max(50).optional(),
  /** email: the sender (`notifications.from` in the config by default). */
  from: address.optional(),
};

/** A channel to create: the URL must fit its kind; e-mail needs recipients. */
export const ChannelInput = z
  .strictObject({ ...channelFields, kind: ChannelKind })
  .superRefine((c, ctx) => {
    for (const p of channelProblems(c)) ctx.addIssue({ code: 'custom', ...p });
  });
export type ChannelInput = z.infer<typeof ChannelInput>;

/** A change: a field left out stays; the kind stays what it was. */
export const ChannelPatch = z.strictObject({
  name: channelFields.name.optional(),
  url: channelFields.url.optional(),
  secret: channelFields.secret,
  to: channelFields.to,
  from: channelFields.from,
});
export type ChannelPatch = z.infer<typeof ChannelPatch>;

/** What is wrong with a whole channel (a new one, or one with a change applied). */
export function channelProblems(c: {
  kind: ChannelKind;
  url: string;
  to?: readonly string[] | null;
}): { path: string[]; message: string }[] {
  const problems: { path: string[]; message: string }[] = [];
  const url = (c.kind === 'email' ? smtpUrl : httpUrl).safeParse(c.url);
  if (!url.success) problems.push({ path: ['url'], message: url.error.issues[0]!.message });
  if (c.kind === 'email' && !c.to?.length)
    problems.push({ path: ['to'], message: 'an e-mail channel needs recipients' });
  if (c.kind !== 'email' && c.to?.length)
    problems.push({ path: ['to'], message: 'only an e-mail channel has recipients' });
  return problems;
}

export const Channel = z.object({
  id: z.string(),
  name: z.string(),
  kind: ChannelKind,
  /** Where it sends, with what could be a credential hidden (a Slack URL's path, a password). */
  target: z.string(),
  hasSecret: z.boolean(),
  to: z.array(z.string()),
  from: z.string().nullable(),
  createdAt: z.string(),
  /** The last delivery's state, for the list. */
  last: z.object({ status: z.string(), at: z.string() }).nullable(),
});
export type Channel = z.infer<typeof Channel>;

/** A new webhook channel whose secret the server made: shown this once. */
export const CreatedChannel = Channel.extend({ secret: z.string().optional() });
export type CreatedChannel = z.infer<typeof CreatedChannel>;

export const RuleMatch = z.strictObject({
  project: z.string().min(1).max(256).optional(),
  target: z.string().min(1).max(256).optional(),
  environment: z.string().min(1).max(256).optional(),
  scheduleId: z.uuid().optional(),
  /** Only the jobs the rule's owner started (the only rules a non-admin may have). */
  mine: z.boolean().optional(),
});
export type RuleMatch = z.infer<typeof RuleMatch>;

export const NotificationRuleInput = z.strictObject({
  channelId: ChannelId,
  on: z.array(Outcome).min(1).max(5),
  match: RuleMatch.default({}),
  enabled: z.boolean().optional(),
});
export type NotificationRuleInput = z.infer<typeof NotificationRuleInput>;

export const NotificationRulePatch = z.strictObject({
  channelId: ChannelId.optional(),
  on: z.array(Outcome).min(1).max(5).optional(),
  match: RuleMatch.optional(),
  enabled: z.boolean().optional(),
});
export type NotificationRulePatch = z.infer<typeof NotificationRulePatch>;

export const NotificationRule = z.object({
  id: z.string(),
  channel: z.object({ id: z.string(), name: z.string(), kind: ChannelKind }),
  on: z.array(Outcome),
  match: RuleMatch,
  enabled: z.boolean(),
  owner: z.object({ id: z.string(), username: z.string() }),
  createdAt: z.string(),
});
export type NotificationRule = z.infer<typeof NotificationRule>;

export const DeliveryStatus = z.enum(['pending', 'sending', 'sent', 'failed']);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

export const Delivery = z.object({
  /** Also the idempotency key a receiver sees (`X-Vmo-Delivery`). */
  id: z.string(),
  channel: z.object({ id: z.string(), name: z.string(), kind: ChannelKind }),
  ruleId: z.string().nullable(),
  job: z.object({ id: z.string(), command: z.string() }).nullable(),
  event: Outcome,
  status: DeliveryStatus,
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  nextAttemptAt: z.string().nullable(),
  sentAt: z.string().nullable(),
});
export type Delivery = z.infer<typeof Delivery>;

export const DeliveriesQuery = z.strictObject({
  channelId: ChannelId.optional(),
  status: DeliveryStatus.optional(),
  jobId: JobId.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** The cursor: deliveries older than this one. */
  before: z.string().max(200).optional(),
});
export type DeliveriesQuery = z.infer<typeof DeliveriesQuery>;

export const DeliveryPage = z.object({
  items: z.array(Delivery),
  nextCursor: z.string().nullable(),
});
export type DeliveryPage = z.infer<typeof DeliveryPage>;

/** The signed webhook's headers (how a receiver verifies one: README, "Receiving notifications"). */
export const WEBHOOK_HEADERS = {
  signature: 'x-vmo-signature',
  timestamp: 'x-vmo-timestamp',
  delivery: 'x-vmo-delivery',
  event: 'x-vmo-event',
} as const;
