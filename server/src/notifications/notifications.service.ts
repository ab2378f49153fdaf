// Channels, rules and the delivery log (issue 24; SPEC §2 /api/notifications). Admins manage
// channels and every rule; anyone signed in keeps rules of their own for "my jobs" on a channel an
// admin made. Secrets are write-only: a webhook's is made and shown once, an SMTP password and a
// Slack URL's path are never answered.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  channelProblems,
  type Channel,
  type ChannelInput,
  type ChannelPatch,
  type CreatedChannel,
  type DeliveriesQuery,
  type Delivery,
  type DeliveryPage,
  type NotificationRule,
  type NotificationRuleInput,
  type NotificationRulePatch,
  type RuleMatch,
  type User,
} from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { AuditRepository } from '../db/audit.repository.js';
import { decodeCursor, encodeCursor } from '../db/jobs.repository.js';
import type {
  ChannelRow,
  DeliveryRow,
  NewRule,
  NotificationsRepository,
  RuleRow,
} from '../db/notifications.repository.js';
import { AppError } from '../errors.js';
import type { Dispatcher } from './dispatcher.js';

export interface NotificationsServiceDeps {
  repo: NotificationsRepository;
  audit: AuditRepository;
  access: Access;
  dispatcher: Dispatcher;
  /** How long a delivery sent again is retried. */
  retryForMs: number;
  publicUrl: string | null;
}

export class NotificationsService {
  constructor(private readonly deps: NotificationsServiceDeps) {}

  // ---- channels

  async listChannels(): Promise<Channel[]> {
    return (await this.deps.repo.listChannels()).map(presentChannel);
  }

  async createChannel(
    input: ChannelInput,
    user: User,
    source: string | null,
  ): Promise<CreatedChannel> {
    await this.uniqueName(input.name);
    // A webhook without a secret would be unsigned: one is made, and shown this once.
    const made =
      input.kind === 'webhook' && !input.secret ? randomBytes(32).toString('base64url') : undefined;
    const row = await this.deps.repo.createChannel({
      name: input.name,
      kind: input.kind,
      url: input.url,
      secret: input.secret ?? made ?? null,
      recipients: input.to ?? [],
      sender: input.from ?? null,
      created_by: user.id,
    });
    await this.audit(user, 'channel.create', row.id, source, channelDetails(row));
    return { ...presentChannel(row), ...(made ? { secret: made } : {}) };
  }

  async updateChannel(
    id: string,
    patch: ChannelPatch,
    user: User,
    source: string | null,
  ): Promise<Channel> {
    const row = await this.channelRow(id);
    if (patch.name !== undefined && patch.name !== row.name) await this.uniqueName(patch.name);
    const next = { kind: row.kind, url: patch.url ?? row.url, to: patch.to ?? row.recipients };
    const problems = channelProblems(next);
    if (problems.length > 0)
      throw new AppError(
        'VALIDATION',
        problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; '),
      );
    await this.deps.repo.updateChannel(row.id, {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.url !== undefined ? { url: patch.url } : {}),
      ...(patch.secret !== undefined ? { secret: patch.secret } : {}),
      ...(patch.to !== undefined ? { recipients: patch.to } : {}),
      ...(patch.from !== undefined ? { sender: patch.from } : {}),
    });
    const changed = Object.keys(patch).filter((k) => k !== 'secret');
    await this.audit(user, 'channel.update', row.id, source, {
      ...channelDetails(row),
      changed: patch.secret !== undefined ? [...changed, 'secret'] : changed,
    });
    return presentChannel((await this.deps.repo.channel(row.id))!);
  }

  async deleteChannel(id: string, user: User, source: string | null): Promise<void> {
    const row = await this.channelRow(id);
    await this.deps.repo.deleteChannel(row.id);
    await this.audit(user, 'channel.delete', row.id, source, channelDetails(row));
  }

  /** A made-up failed job's message, sent now: whether the channel works, and if not, why. */
  async testChannel(id: string, user: User): Promise<{ ok: boolean; error: string | null }> {
    const row = await this.channelRow(id);
    const now = new Date();
    const job = this.deps.access.present(
      {
        id: '00000000-0000-4000-8000-000000000000',
        type: 'stream',
        status: 'failed',
        project: 'example',
        host: null,
        environment: null,
        vm: null,
        target: 'test',
        args: {},
        preset: null,
        command: 'make test (a test message from vm-orchestrator)',
        exitCode: 2,
        signal: null,
        createdAt: now.toISOString(),
        startedAt: new Date(now.getTime() - 4_000).toISOString(),
        finishedAt: now.toISOString(),
        requestedBy: { id: user.id, username: user.username },
        parentId: null,
        lastSeq: 0,
        outputBytes: 0,
        truncated: false,
        protection: null,
        trigger: { kind: 'manual', id: null },
      },
      user,
    );
    try {
      await this.deps.dispatcher.sendNow(row, {
        id: randomUUID(),
        event: 'failed',
        job,
        lines: ['This is a test: if you read it, the channel works.'],
        url: this.deps.publicUrl,
      });
      return { ok: true, error: null };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  // ---- rules

  /** Every rule for an admin; one's own for anyone else. */
  async listRules(user: User): Promise<NotificationRule[]> {
    const all = this.deps.access.can(user, 'notifications.manage');
    return (await this.deps.repo.listRules(all ? undefined : user.id)).map(presentRule);
  }

  async createRule(
    input: NotificationRuleInput,
    user: User,
    source: string | null,
  ): Promise<NotificationRule> {
    this.mayHave(user, input.match);
    await this.channelRow(input.channelId);
    const row = await this.deps.repo.createRule({
      owner_id: user.id,
      channel_id: input.channelId,
      outcomes: [...new Set(input.on)],
      ...matchColumns(input.match),
      enabled: input.enabled ?? true,
    });
    await this.audit(user, 'rule.create', row.id, source, ruleDetails(row));
    return presentRule(row);
  }

  async updateRule(
    id: string,
    patch: NotificationRulePatch,
    user: User,
    source: string | null,
  ): Promise<NotificationRule> {
    const row = await this.ruleRow(id, user);
    const owner = { id: row.owner_id, role: row.owner_id === user.id ? user.role : 'admin' };
    if (patch.match) this.mayHave({ ...user, ...owner }, patch.match);
    if (patch.channelId) await this.channelRow(patch.channelId);
    await this.deps.repo.updateRule(row.id, {
      ...(patch.channelId ? { channel_id: patch.channelId } : {}),
      ...(patch.on ? { outcomes: [...new Set(patch.on)] } : {}),
      ...(patch.match ? matchColumns(patch.match) : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
    });
    const next = (await this.deps.repo.rule(row.id))!;
    await this.audit(user, 'rule.update', row.id, source, ruleDetails(next));
    return presentRule(next);
  }

  async deleteRule(id: string, user: User, source: string | null): Promise<void> {
    const row = await this.ruleRow(id, user);
    await this.deps.repo.deleteRule(row.id);
    await this.audit(user, 'rule.delete', row.id, source, ruleDetails(row));
  }

  // ---- deliveries

  async listDeliveries(q: DeliveriesQuery): Promise<DeliveryPage> {
    const before = q.before ? decodeCursor(q.before) : null;
    if (q.before && !before) throw new AppError('VALIDATION', 'before: not a cursor of this list');
    const rows = await this.deps.repo.listDeliveries({
      ...(q.channelId ? { channelId: q.channelId } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.jobId ? { jobId: q.jobId } : {}),
      ...(before ? { before } : {}),
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    return {
      items: page.map(presentDelivery),
      nextCursor: rows.length > q.limit ? encodeCursor(page.at(-1)!) : null,
    };
  }

  async resend(id: string, user: User, source: string | null): Promise<Delivery> {
    const row = await this.deps.repo.delivery(id.toLowerCase());
    if (!row) throw new AppError('NOT_FOUND', `no delivery ${id}`);
    await this.deps.repo.resend(row.id, this.deps.retryForMs);
    this.deps.dispatcher.nudge();
    await this.audit(user, 'delivery.resend', row.id, source, {
      channel: row.channel_name,
      jobId: row.job_id,
      event: row.event,
    });
    return presentDelivery((await this.deps.repo.delivery(row.id))!);
  }

  // ---- helpers

  /** Only an admin may have a rule beyond "mine": a rule tells of jobs its owner may not see. */
  private mayHave(user: Pick<User, 'id' | 'role'>, match: RuleMatch): void {
    if (match.mine) return;
    if (!this.deps.access.can(user, 'notifications.manage'))
      throw new AppError(
        'FORBIDDEN',
        'only an admin may be told of jobs other than their own (match.mine: true)',
      );
  }

  private async uniqueName(name: string): Promise<void> {
    const taken = (await this.deps.repo.listChannels()).some((c) => c.name === name);
    if (taken) throw new AppError('CONFLICT', `a channel named ${name} exists already`);
  }

  private async channelRow(id: string): Promise<ChannelRow> {
    const row = await this.deps.repo.channel(id.toLowerCase());
    if (!row) throw new AppError('NOT_FOUND', `no channel ${id}`);
    return row;
  }

  /** A rule the caller may change: theirs, or any for an admin (others' look absent). */
  private async ruleRow(id: string, user: User): Promise<RuleRow> {
    const row = await this.deps.repo.rule(id.toLowerCase());
    const all = this.deps.access.can(user, 'notifications.manage');
    if (!row || (!all && row.owner_id !== user.id))
      throw new AppError('NOT_FOUND', `no rule ${id}`);
    return row;
  }

  private audit(
    user: User,
    action: string,
    target: string,
    source: string | null,
    details: Record<string, unknown>,
  ): Promise<void> {
    return this.deps.audit.add({
      userId: user.id,
      username: user.username,
      action,
      target,
      source,
      details,
    });
  }
}

function matchColumns(
  m: RuleMatch,
): Pick<NewRule, 'project' | 'target' | 'environment' | 'schedule_id' | 'mine'> {
  return {
    project: m.project ?? null,
    target: m.target ?? null,
    environment: m.environment ?? null,
    schedule_id: m.scheduleId ?? null,
    mine: m.mine ?? false,
  };
}

/** Where a channel sends, with what may be a credential hidden. */
export function channelTarget(row: Pick<ChannelRow, 'kind' | 'url'>): string {
  const url = new URL(row.url);
  if (row.kind === 'email')
    return `${url.protocol}//${url.username ? `${url.username}@` : ''}${url.host}`;
  // A Slack-style URL's path is its credential; a webhook's query may hold a token.
  if (row.kind === 'slack') return `${url.origin}/…`;
  return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
}

function presentChannel(row: ChannelRow): Channel {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    target: channelTarget(row),
    hasSecret: row.secret !== null,
    to: row.recipients,
    from: row.sender,
    createdAt: row.created_at.toISOString(),
    last:
      row.last_status && row.last_at
        ? { status: row.last_status, at: new Date(row.last_at).toISOString() }
        : null,
  };
}

function channelDetails(row: ChannelRow): Record<string, unknown> {
  return { channel: row.name, kind: row.kind, target: channelTarget(row) };
}

function presentRule(row: RuleRow): NotificationRule {
  const match: RuleMatch = {
    ...(row.project ? { project: row.project } : {}),
    ...(row.target ? { target: row.target } : {}),
    ...(row.environment ? { environment: row.environment } : {}),
    ...(row.schedule_id ? { scheduleId: row.schedule_id } : {}),
    ...(row.mine ? { mine: true } : {}),
  };
  return {
    id: row.id,
    channel: { id: row.channel_id, name: row.channel_name, kind: row.channel_kind },
    on: row.outcomes,
    match,
    enabled: row.enabled,
    owner: { id: row.owner_id, username: row.owner_username },
    createdAt: row.created_at.toISOString(),
  };
}

function ruleDetails(row: RuleRow): Record<string, unknown> {
  return {
    channel: row.channel_name,
    on: row.outcomes,
    match: presentRule(row).match,
    owner: row.owner_username,
  };
}

function presentDelivery(row: DeliveryRow): Delivery {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    id: row.id,
    channel: { id: row.channel_id, name: row.channel_name, kind: row.channel_kind },
    ruleId: row.rule_id,
    job: { id: row.job_id, command: row.job_command },
    event: row.event,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: row.created_at.toISOString(),
    nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    sentAt: iso(row.sent_at),
  };
}
