// How each kind of channel carries a message: a signed JSON webhook, a Slack-compatible incoming
// webhook (Mattermost and Rocket.Chat accept the same `{text}`), e-mail over SMTP (nodemailer).
// A send either resolves or throws an error whose message is safe to keep and show: it never
// holds the channel's URL or secret.
import { createHmac } from 'node:crypto';
import { hostname } from 'node:os';
import type { ChannelKind } from '@vmo/protocol';
import { facts, headline, plainText, type JobEnd } from './message.js';

/** What a sender needs of a channel (its row, secrets included: server-side only). */
export interface ChannelSecrets {
  kind: ChannelKind;
  url: string;
  secret: string | null;
  recipients: string[];
  sender: string | null;
}

export interface SendOptions {
  timeoutMs: number;
  /** notifications.from: the sender of e-mail when the channel names none. */
  from: string | null;
}

/** The signature of a webhook body: `sha256=` HMAC-SHA256(secret, `<timestamp>.<body>`) in hex. */
export function signature(secret: string, timestamp: number, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export class SendError extends Error {
  override name = 'SendError';
}

export async function send(channel: ChannelSecrets, end: JobEnd, opts: SendOptions): Promise<void> {
  try {
    if (channel.kind === 'webhook') await sendWebhook(channel, end, opts);
    else if (channel.kind === 'slack') await sendSlack(channel, end, opts);
    else await sendEmail(channel, end, opts);
  } catch (err) {
    throw new SendError(redact(describe(err), channel));
  }
}

/** The JSON a generic webhook receives. */
export function webhookBody(end: JobEnd): string {
  const { job } = end;
  return JSON.stringify({
    id: end.id,
    event: end.event,
    text: headline(end),
    url: end.url,
    job: {
      id: job.id,
      type: job.type,
      status: job.status,
      command: job.command,
      project: job.project,
      host: job.host,
      environment: job.environment,
      vm: job.vm,
      target: job.target,
      preset: job.preset,
      exitCode: job.exitCode,
      signal: job.signal,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      requestedBy: job.requestedBy?.username ?? null,
      trigger: job.trigger,
    },
    lines: end.lines,
  });
}

async function sendWebhook(channel: ChannelSecrets, end: JobEnd, opts: SendOptions) {
  const body = webhookBody(end);
  const timestamp = Math.floor(Date.now() / 1000);
  await post(channel.url, body, opts, {
    'x-vmo-delivery': end.id,
    'idempotency-key': end.id,
    'x-vmo-event': end.event,
    'x-vmo-timestamp': String(timestamp),
    ...(channel.secret ? { 'x-vmo-signature': signature(channel.secret, timestamp, body) } : {}),
  });
}

/** Slack's mrkdwn escapes: &, < and > (the rest is shown as written). */
const mrkdwn = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The `{text}` of a Slack-compatible incoming webhook. */
export function slackText(end: JobEnd): string {
  const icon = end.event === 'succeeded' || end.event === 'recovered' ? '✅' : '❌';
  const parts = [`${icon} *${mrkdwn(headline(end))}*`];
  for (const [label, value] of facts(end).slice(1)) parts.push(`*${label}:* ${mrkdwn(value)}`);
  if (end.url) parts.push(`<${end.url}|Open the job>`);
  if (end.lines.length > 0) {
    const lines = end.lines.map((l) => mrkdwn(l).replace(/```/g, "'''"));
    parts.push('```\n' + lines.join('\n') + '\n```');
  }
  return parts.join('\n');
}

async function sendSlack(channel: ChannelSecrets, end: JobEnd, opts: SendOptions) {
  await post(channel.url, JSON.stringify({ text: slackText(end) }), opts, {});
}

async function post(
  url: string,
  body: string,
  opts: SendOptions,
  headers: Record<string, string>,
): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'vm-orchestrator', ...headers },
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(opts.timeoutMs),
  });
  if (res.ok) {
    await res.body?.cancel();
    return;
  }
  const text = (await res.text().catch(() => '')).trim().slice(0, 200);
  throw new SendError(`HTTP ${res.status}${text ? `: ${text}` : ''}`);
}

async function sendEmail(channel: ChannelSecrets, end: JobEnd, opts: SendOptions) {
  const url = new URL(channel.url);
  // Loaded at the first e-mail: most servers never send one, and every start would pay its import.
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: url.port ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 587,
    secure: url.protocol === 'smtps:',
    auth: url.username
      ? { user: decodeURIComponent(url.username), pass: channel.secret ?? '' }
      : undefined,
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
  });
  try {
    await transport.sendMail({
      from: channel.sender ?? opts.from ?? `vm-orchestrator <vmo@${hostname()}>`,
      to: channel.recipients,
      subject: `[vmo] ${headline(end)}`,
      text: plainText(end),
      // The idempotency key: a mail sent twice after a lost reply has the same Message-ID.
      messageId: `<${end.id}@vm-orchestrator>`,
      headers: { 'X-Vmo-Delivery': end.id, 'X-Vmo-Event': end.event },
    });
  } finally {
    transport.close();
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'no answer in time';
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message;
  return why ? `${err.message}: ${why}` : err.message;
}

/** The URL's path, query and password, and the secret, never reach an error message. */
function redact(message: string, channel: ChannelSecrets): string {
  let out = message;
  for (const hidden of [channel.url, channel.secret]) {
    if (hidden) out = out.split(hidden).join('…');
  }
  return out.slice(0, 500);
}
