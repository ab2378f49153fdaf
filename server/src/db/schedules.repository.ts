// Schedules and their fires (migration 0009). Claiming what is due happens in one transaction with
// FOR UPDATE SKIP LOCKED, so instances sharing the database never take the same schedule at once,
// and the unique (schedule, due time) of a fire makes a second claim of one time impossible.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { FireOutcome, Missed, Overlap, ScheduleRun } from '@vmo/protocol';
import type { Database, ScheduleFiresTable, SchedulesTable } from './schema.js';

export type ScheduleRow = Selectable<SchedulesTable> & { owner_username: string | null };
export type FireRow = Selectable<ScheduleFiresTable> & {
  job_status: string | null;
  job_started_at?: Date | null;
};

export interface NewSchedule {
  name: string;
  cron: string | null;
  every_seconds: number | null;
  timezone: string;
  anchor: Date;
  run: ScheduleRun;
  overlap: Overlap;
  missed: Missed;
  enabled: boolean;
  owner_id: string;
  next_fire_at: Date | null;
}

/** A fire to record while claiming: its due time, and how it starts out. */
export interface ClaimedFire {
  fireAt: Date;
  outcome: 'claimed' | 'skipped';
  reason: string | null;
}

export class SchedulesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private base() {
    return this.db
      .selectFrom('schedules')
      .leftJoin('users', 'users.id', 'schedules.owner_id')
      .selectAll('schedules')
      .select('users.username as owner_username');
  }

  async create(s: NewSchedule): Promise<ScheduleRow> {
    const { id } = await this.db
      .insertInto('schedules')
      .values({ ...s, run: JSON.stringify(s.run) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return (await this.get(id))!;
  }

  get(id: string): Promise<ScheduleRow | undefined> {
    return this.base().where('schedules.id', '=', id).executeTakeFirst();
  }

  list(): Promise<ScheduleRow[]> {
    return this.base().orderBy('schedules.name').orderBy('schedules.id').execute();
  }

  async update(id: string, set: Partial<NewSchedule>): Promise<ScheduleRow | undefined> {
    const values = { ...set, run: set.run ? JSON.stringify(set.run) : undefined };
    await this.db
      .updateTable('schedules')
      .set({ ...values, updated_at: sql`now()` })
      .where('id', '=', id)
      .execute();
    return this.get(id);
  }

  async delete(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('schedules').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /**
   * In one transaction: up to `limit` enabled schedules due at `now` that no other instance holds;
   * `plan` says for each which fires to record and when it is due next. Returns the fires
   * recorded (a time already recorded is not recorded twice), and how many schedules were taken.
   */
  async claimDue(
    now: Date,
    limit: number,
    instanceId: string,
    plan: (s: ScheduleRow) => { fires: ClaimedFire[]; next: Date | null },
  ): Promise<{ schedules: number; fires: FireRow[] }> {
    return this.db.transaction().execute(async (tx) => {
      const due = await tx
        .selectFrom('schedules')
        .leftJoin('users', 'users.id', 'schedules.owner_id')
        .selectAll('schedules')
        .select('users.username as owner_username')
        .where('schedules.next_fire_at', '<=', now)
        .where('schedules.enabled', '=', true)
        .orderBy('schedules.next_fire_at')
        .limit(limit)
        .forUpdate('schedules')
        .skipLocked()
        .execute();
      if (due.length === 0) return { schedules: 0, fires: [] };
      const ids: string[] = [];
      const nexts: (Date | null)[] = [];
      const fires: {
        schedule_id: string;
        fire_at: Date;
        outcome: FireOutcome;
        reason: string | null;
      }[] = [];
      for (const s of due) {
        const p = plan(s);
        ids.push(s.id);
        nexts.push(p.next);
        for (const f of p.fires)
          fires.push({
            schedule_id: s.id,
            fire_at: f.fireAt,
            outcome: f.outcome,
            reason: f.reason,
          });
      }
      await sql`
        update schedules set next_fire_at = u.next
        from unnest(${ids}::uuid[], ${nexts}::timestamptz[]) as u(id, next)
        where schedules.id = u.id
      `.execute(tx);
      if (fires.length === 0) return { schedules: due.length, fires: [] };
      const { rows } = await sql<Selectable<ScheduleFiresTable>>`
        insert into schedule_fires (schedule_id, fire_at, outcome, reason, instance_id)
        select f.schedule_id, f.fire_at, f.outcome, f.reason, ${instanceId}
        from unnest(${fires.map((f) => f.schedule_id)}::uuid[], ${fires.map((f) => f.fire_at)}::timestamptz[],
          ${fires.map((f) => f.outcome)}::text[], ${fires.map((f) => f.reason)}::text[])
          as f(schedule_id, fire_at, outcome, reason)
        on conflict (schedule_id, fire_at) where not manual do nothing
        returning *
      `.execute(tx);
      return {
        schedules: due.length,
        fires: rows.map((r) => ({ ...r, id: String(r.id), job_status: null })),
      };
    });
  }

  /**
   * Fires left `claimed` by an instance that died while starting them: another's, untouched for
   * `staleSeconds` with no heartbeat from it as recent; this instance's own from before `ownBefore`
   * (its start: a previous run of it crashed). And the first open fire of each schedule that waits
   * behind its last run. Taken by this instance; a waiting fire only when no earlier fire of its
   * schedule is being started. Staleness is on the database's clock, as the heartbeats are.
   */
  async takeOpen(
    staleSeconds: number,
    instanceId: string,
    limit: number,
    ownBefore: Date,
  ): Promise<FireRow[]> {
    const stale = sql`now() - make_interval(secs => ${staleSeconds})`;
    const { rows } = await sql<Selectable<ScheduleFiresTable>>`
      with open as (
        select distinct on (schedule_id) id, outcome, updated_at, instance_id
        from schedule_fires
        where outcome in ('claimed', 'waiting')
        order by schedule_id, fire_at, id
      ), mine as (
        select id from open
        where outcome = 'waiting'
          or (instance_id = ${instanceId} and updated_at < ${ownBefore})
          or (instance_id is distinct from ${instanceId}
            and updated_at < ${stale}
            and not exists (
              select 1 from instances i where i.id = open.instance_id and i.heartbeat_at > ${stale}
            ))
        limit ${limit}
      )
      update schedule_fires f
      set outcome = 'claimed', instance_id = ${instanceId}, updated_at = now()
      from mine
      where f.id = mine.id and f.outcome in ('claimed', 'waiting')
      returning f.*
    `.execute(this.db);
    return rows.map((r) => ({ ...r, id: String(r.id), job_status: null }));
  }

  /** Gives a taken waiting fire back (its schedule's last run still goes). */
  async wait(id: string, reason: string): Promise<void> {
    await this.db
      .updateTable('schedule_fires')
      .set({ outcome: 'waiting', reason, updated_at: sql`now()` })
      .where('id', '=', id)
      .execute();
  }

  /** Records how a fire ended up: the job it started, or why it was skipped. */
  async settle(
    id: string,
    outcome: 'started' | 'skipped',
    { jobId = null, reason }: { jobId?: string | null; reason?: string },
  ): Promise<void> {
    await this.db
      .updateTable('schedule_fires')
      // A reason it was claimed with ("run once for 4 missed fires") stays unless replaced.
      .set({
        outcome,
        job_id: jobId,
        ...(reason !== undefined ? { reason } : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .execute();
  }

  /** A "run now": recorded as a fire of its own, started at once. */
  async recordManual(scheduleId: string, jobId: string, instanceId: string): Promise<void> {
    await this.db
      .insertInto('schedule_fires')
      .values({
        schedule_id: scheduleId,
        fire_at: new Date(),
        outcome: 'started',
        job_id: jobId,
        instance_id: instanceId,
        manual: true,
      })
      .execute();
  }

  /** A schedule's fires, newest first, with their jobs' status. */
  fires(scheduleId: string, limit: number): Promise<FireRow[]> {
    return this.db
      .selectFrom('schedule_fires')
      .leftJoin('jobs', 'jobs.id', 'schedule_fires.job_id')
      .selectAll('schedule_fires')
      .select(['jobs.status as job_status', 'jobs.started_at as job_started_at'])
      .where('schedule_fires.schedule_id', '=', scheduleId)
      .orderBy('schedule_fires.fire_at', 'desc')
      .orderBy('schedule_fires.id', 'desc')
      .limit(limit)
      .execute();
  }

  /** The last fire of each of `ids`. */
  async lastFires(ids: readonly string[]): Promise<Map<string, FireRow>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('schedule_fires')
      .leftJoin('jobs', 'jobs.id', 'schedule_fires.job_id')
      .selectAll('schedule_fires')
      .select(['jobs.status as job_status', 'jobs.started_at as job_started_at'])
      .distinctOn('schedule_fires.schedule_id')
      .where('schedule_fires.schedule_id', 'in', ids)
      .orderBy('schedule_fires.schedule_id')
      .orderBy('schedule_fires.fire_at', 'desc')
      .orderBy('schedule_fires.id', 'desc')
      .execute();
    return new Map(rows.map((r) => [r.schedule_id, r]));
  }
}
