// Notifications (migration 0012): channels, rules, and the outbox of deliveries. `enqueue` runs
// inside the transaction that ends a job; `claim` hands due deliveries to one instance at a time.
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, NotificationChannelsTable, NotificationRulesTable } from './schema.js';

export type ChannelRow = Selectable<NotificationChannelsTable> & {
  last_status: string | null;
  last_at: Date | null;
};
export type RuleRow = Selectable<NotificationRulesTable> & {
  owner_username: string;
  channel_name: string;
  channel_kind: ChannelRow['kind'];
};
export interface DeliveryRow {
  id: string;
  channel_id: string;
  channel_name: string;
  channel_kind: ChannelRow['kind'];
  rule_id: string | null;
  job_id: string;
  job_command: string;
  event: Selectable<Database['notification_deliveries']>['event'];
  status: 'pending' | 'sending' | 'sent' | 'failed';
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date;
  give_up_at: Date;
  sent_at: Date | null;
  created_at: Date;
  /** The rule's owner when it was made (whose view of the job the message shows). */
  owner_id: string | null;
}

export type NewChannel = Pick<
  Selectable<NotificationChannelsTable>,
  'name' | 'kind' | 'url' | 'secret' | 'recipients' | 'sender' | 'created_by'
>;
export type NewRule = Pick<
  Selectable<NotificationRulesTable>,
  | 'owner_id'
  | 'channel_id'
  | 'outcomes'
  | 'project'
  | 'target'
  | 'environment'
  | 'schedule_id'
  | 'mine'
  | 'enabled'
>;

/**
 * The deliveries a job's end makes, in the transaction that ends it: one per channel whose
 * enabled rules match the job, of an owner who is not disabled and who may see it (an admin, or
 * a "mine" rule on their own job). "recovered" is a success whose same run (project, host,
 * command) last ended failed or interrupted.
 */
export async function enqueueDeliveries(trx: Transaction<Database>, jobId: string): Promise<void> {
  await sql`
    INSERT INTO notification_deliveries (channel_id, rule_id, job_id, event)
    SELECT DISTINCT ON (r.channel_id) r.channel_id, r.id, j.id, e.event
    FROM jobs j
    JOIN notification_rules r ON r.enabled
    JOIN users u ON u.id = r.owner_id AND NOT u.disabled
    CROSS JOIN LATERAL (
      SELECT CASE j.status WHEN 'success' THEN 'succeeded' ELSE j.status END AS word
    ) w
    LEFT JOIN LATERAL (
      SELECT p.status FROM jobs p
      WHERE j.status = 'success' AND 'recovered' = ANY(r.outcomes)
        AND p.parent_id IS NULL AND p.id <> j.id
        AND md5(p.command) = md5(j.command) AND p.command = j.command
        AND p.project IS NOT DISTINCT FROM j.project AND p.host IS NOT DISTINCT FROM j.host
        AND p.finished_at IS NOT NULL AND p.finished_at <= j.finished_at
        AND p.status IN ('success', 'failed', 'interrupted')
      ORDER BY md5(p.command), p.finished_at DESC
      LIMIT 1
    ) prev ON true
    CROSS JOIN LATERAL (
      SELECT CASE WHEN prev.status IN ('failed', 'interrupted') THEN 'recovered' ELSE w.word END
        AS event
    ) e
    WHERE j.id = ${jobId}::uuid
      AND j.parent_id IS NULL AND j.status IN ('success', 'failed', 'canceled', 'interrupted')
      AND (r.mine OR u.role = 'admin')
      AND (NOT r.mine OR j.requested_by = r.owner_id)
      AND (r.project IS NULL OR r.project = j.project)
      AND (r.target IS NULL OR r.target = j.target OR r.target = j.preset)
      AND (r.environment IS NULL OR r.environment = j.environment)
      AND (r.schedule_id IS NULL OR (j.trigger_kind = 'schedule' AND j.trigger_id = r.schedule_id))
      AND (w.word = ANY(r.outcomes) OR e.event = 'recovered')
    ORDER BY r.channel_id, (e.event = 'recovered') DESC, r.created_at
    ON CONFLICT (channel_id, job_id) DO NOTHING
  `.execute(trx);
}

export class NotificationsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  // ---- channels

  private channels() {
    return this.db
      .selectFrom('notification_channels as c')
      .selectAll('c')
      .select((eb) => [
        eb
          .selectFrom('notification_deliveries as d')
          .select('d.status')
          .whereRef('d.channel_id', '=', 'c.id')
          .orderBy('d.created_at', 'desc')
          .limit(1)
          .as('last_status'),
        eb
          .selectFrom('notification_deliveries as d')
          .select(sql<Date>`coalesce(d.sent_at, d.created_at)`.as('at'))
          .whereRef('d.channel_id', '=', 'c.id')
          .orderBy('d.created_at', 'desc')
          .limit(1)
          .as('last_at'),
      ]);
  }

  listChannels(): Promise<ChannelRow[]> {
    return this.channels().orderBy('c.name').execute();
  }

  channel(id: string): Promise<ChannelRow | undefined> {
    return this.channels().where('c.id', '=', id).executeTakeFirst();
  }

  async createChannel(c: NewChannel): Promise<ChannelRow> {
    const { id } = await this.db
      .insertInto('notification_channels')
      .values(c)
      .returning('id')
      .executeTakeFirstOrThrow();
    return (await this.channel(id))!;
  }

  async updateChannel(id: string, set: Partial<NewChannel>): Promise<void> {
    await this.db.updateTable('notification_channels').set(set).where('id', '=', id).execute();
  }

  async deleteChannel(id: string): Promise<void> {
    await this.db.deleteFrom('notification_channels').where('id', '=', id).execute();
  }

  // ---- rules

  private rules() {
    return this.db
      .selectFrom('notification_rules as r')
      .innerJoin('users as u', 'u.id', 'r.owner_id')
      .innerJoin('notification_channels as c', 'c.id', 'r.channel_id')
      .selectAll('r')
      .select(['u.username as owner_username', 'c.name as channel_name', 'c.kind as channel_kind']);
  }

  /** Every rule, or those of one owner. */
  listRules(ownerId?: string): Promise<RuleRow[]> {
    let q = this.rules();
    if (ownerId) q = q.where('r.owner_id', '=', ownerId);
    return q.orderBy('r.created_at').orderBy('r.id').execute();
  }

  rule(id: string): Promise<RuleRow | undefined> {
    return this.rules().where('r.id', '=', id).executeTakeFirst();
  }

  async createRule(r: NewRule): Promise<RuleRow> {
    const { id } = await this.db
      .insertInto('notification_rules')
      .values(r)
      .returning('id')
      .executeTakeFirstOrThrow();
    return (await this.rule(id))!;
  }

  async updateRule(id: string, set: Partial<NewRule>): Promise<void> {
    await this.db.updateTable('notification_rules').set(set).where('id', '=', id).execute();
  }

  async deleteRule(id: string): Promise<void> {
    await this.db.deleteFrom('notification_rules').where('id', '=', id).execute();
  }

  // ---- deliveries

  private deliveries() {
    return this.db
      .selectFrom('notification_deliveries as d')
      .innerJoin('notification_channels as c', 'c.id', 'd.channel_id')
      .innerJoin('jobs as j', 'j.id', 'd.job_id')
      .leftJoin('notification_rules as r', 'r.id', 'd.rule_id')
      .select([
        'd.id',
        'd.channel_id',
        'c.name as channel_name',
        'c.kind as channel_kind',
        'd.rule_id',
        'd.job_id',
        'j.command as job_command',
        'd.event',
        'd.status',
        'd.attempts',
        'd.last_error',
        'd.next_attempt_at',
        'd.give_up_at',
        'd.sent_at',
        'd.created_at',
        'r.owner_id',
      ]);
  }

  delivery(id: string): Promise<DeliveryRow | undefined> {
    return this.deliveries().where('d.id', '=', id).executeTakeFirst();
  }

  /** Newest first; `before` is the (created_at, id) of the last row of the previous page. */
  listDeliveries(q: {
    channelId?: string;
    status?: DeliveryRow['status'];
    jobId?: string;
    before?: { createdAt: Date; id: string };
    limit: number;
  }): Promise<DeliveryRow[]> {
    let query = this.deliveries();
    if (q.channelId) query = query.where('d.channel_id', '=', q.channelId);
    if (q.status) query = query.where('d.status', '=', q.status);
    if (q.jobId) query = query.where('d.job_id', '=', q.jobId);
    if (q.before)
      query = query.where(
        sql<boolean>`(d.created_at, d.id) < (${q.before.createdAt}, ${q.before.id}::uuid)`,
      );
    return query.orderBy('d.created_at', 'desc').orderBy('d.id', 'desc').limit(q.limit).execute();
  }

  /**
   * Takes up to `limit` due deliveries for `instance`: pending ones whose time has come, and
   * those whose sender's lease ran out (it died mid-send). Each is leased for `leaseMs`, its
   * attempt counted; SKIP LOCKED keeps two instances from taking one row.
   */
  async claim(instance: string, limit: number, leaseMs: number): Promise<DeliveryRow[]> {
    const { rows } = await sql<{ id: string }>`
      UPDATE notification_deliveries SET
        status = 'sending', attempts = attempts + 1, claimed_by = ${instance},
        lease_until = now() + ${leaseMs} * interval '1 millisecond'
      WHERE id IN (
        SELECT id FROM notification_deliveries
        WHERE (status = 'pending' AND next_attempt_at <= now())
           OR (status = 'sending' AND lease_until < now())
        ORDER BY next_attempt_at
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      )
      RETURNING id
    `.execute(this.db);
    if (rows.length === 0) return [];
    return this.deliveries()
      .where(
        'd.id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('d.next_attempt_at')
      .execute();
  }

  /** Sent: only if this instance still holds it (a lease taken over is the other's now). */
  async sent(id: string, instance: string): Promise<boolean> {
    const res = await this.db
      .updateTable('notification_deliveries')
      .set({ status: 'sent', sent_at: sql`now()`, last_error: null, lease_until: null })
      .where('id', '=', id)
      .where('status', '=', 'sending')
      .where('claimed_by', '=', instance)
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  }

  /** Failed this time: tried again after `retryMs`, or given up once past its give-up time. */
  async failed(id: string, instance: string, error: string, retryMs: number): Promise<void> {
    await sql`
      UPDATE notification_deliveries SET
        last_error = ${error}, lease_until = NULL,
        status = CASE WHEN now() + ${retryMs} * interval '1 millisecond' > give_up_at
                      THEN 'failed' ELSE 'pending' END,
        next_attempt_at = now() + ${retryMs} * interval '1 millisecond'
      WHERE id = ${id}::uuid AND status = 'sending' AND claimed_by = ${instance}
    `.execute(this.db);
  }

  /** "Send again": due now, retried for another `forMs`. */
  async resend(id: string, forMs: number): Promise<void> {
    await sql`
      UPDATE notification_deliveries SET
        status = 'pending', next_attempt_at = now(), lease_until = NULL,
        give_up_at = now() + ${forMs} * interval '1 millisecond'
      WHERE id = ${id}::uuid
    `.execute(this.db);
  }
}
