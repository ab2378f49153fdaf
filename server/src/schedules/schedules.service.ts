// Schedules (issue 23): saved, changed, paused, run now and deleted by their owners (or an admin),
// each change audited; and each fire started as its owner, checked with can() at fire time. A
// schedule's request goes through the same rails as a start by hand, once when it is saved (so a
// @confirm target or a protected place needs its confirmation then) and again at every fire.
import {
  decideOnSchedule,
  nextFires,
  type Schedule,
  type ScheduleDetail,
  type ScheduleFire,
  type ScheduleInput,
  type SchedulePatch,
  type ScheduleRun,
  type StartedJob,
  type User,
} from '@vmo/protocol';
import { AD_HOC_FACTS, HIDDEN_COMMAND, type Access } from '../auth/permissions.js';
import { toUser } from '../auth/auth.service.js';
import type { AuditRepository } from '../db/audit.repository.js';
import type { JobsRepository } from '../db/jobs.repository.js';
import type {
  FireRow,
  NewSchedule,
  ScheduleRow,
  SchedulesRepository,
} from '../db/schedules.repository.js';
import type { UsersRepository } from '../db/users.repository.js';
import { AppError, toAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { auditSaved, type SavedRuns } from './saved-runs.js';
import { describeRun, timetableOf } from './timetable.js';

export interface SchedulesServiceDeps {
  schedules: SchedulesRepository;
  users: UsersRepository;
  jobRows: JobsRepository;
  runs: SavedRuns;
  audit: AuditRepository;
  access: Access;
  log: Logger;
  instanceId: string;
  /** The time zone of a schedule that names none. */
  defaultTimezone: string;
}

/** How many fires a schedule's page lists. */
const FIRES_SHOWN = 50;

export class SchedulesService {
  constructor(private readonly deps: SchedulesServiceDeps) {}

  async list(user: User): Promise<Schedule[]> {
    const rows = await this.deps.schedules.list();
    const last = await this.deps.schedules.lastFires(rows.map((r) => r.id));
    return rows.map((r) => this.present(r, user, last.get(r.id) ?? null));
  }

  async get(id: string, user: User): Promise<ScheduleDetail> {
    const row = await this.row(id);
    const fires = await this.deps.schedules.fires(row.id, FIRES_SHOWN);
    return { ...this.present(row, user, fires[0] ?? null), fires: fires.map(fireOf) };
  }

  async next(id: string, count: number): Promise<string[]> {
    const row = await this.row(id);
    return nextFires(timetableOf(row), new Date(), count).map((d) => d.toISOString());
  }

  async create(input: ScheduleInput, user: User, source: string | null): Promise<Schedule> {
    await this.deps.runs.check(input.run, user);
    const now = new Date();
    const values: NewSchedule = {
      name: input.name ?? describeRun(input.run),
      cron: input.cron ?? null,
      every_seconds: input.everySeconds ?? null,
      timezone: input.timezone ?? this.deps.defaultTimezone,
      anchor: wholeSecond(now),
      run: input.run,
      overlap: input.overlap ?? 'skip',
      missed: input.missed ?? 'skip',
      enabled: input.enabled ?? true,
      owner_id: user.id,
      next_fire_at: null,
    };
    values.next_fire_at = values.enabled ? firstAfter(values, now) : null;
    const row = await this.deps.schedules.create(values);
    await this.audit(user, 'schedule.create', row, source, { ...summary(row) });
    return this.present(row, user, null);
  }

  async update(
    id: string,
    patch: SchedulePatch,
    user: User,
    source: string | null,
  ): Promise<Schedule> {
    const row = await this.editable(id, user);
    if (patch.run) await this.deps.runs.check(patch.run, user);
    const set: Partial<NewSchedule> = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.cron !== undefined) Object.assign(set, { cron: patch.cron, every_seconds: null });
    if (patch.everySeconds !== undefined)
      Object.assign(set, { every_seconds: patch.everySeconds, cron: null });
    if (patch.timezone !== undefined) set.timezone = patch.timezone;
    if (patch.run !== undefined) set.run = patch.run;
    if (patch.overlap !== undefined) set.overlap = patch.overlap;
    if (patch.missed !== undefined) set.missed = patch.missed;
    if (patch.enabled !== undefined) set.enabled = patch.enabled;
    const now = new Date();
    // A new interval counts from now; a change of anything that says when starts over from now
    // (fires missed while paused are not made up for).
    if (patch.everySeconds !== undefined) set.anchor = wholeSecond(now);
    const merged = { ...row, ...set };
    const when =
      patch.cron !== undefined ||
      patch.everySeconds !== undefined ||
      patch.timezone !== undefined ||
      patch.enabled !== undefined;
    if (when) set.next_fire_at = merged.enabled ? firstAfter(merged, now) : null;
    // A schedule saved by someone else runs as them from now on: it was checked with their rights.
    if (patch.run !== undefined) set.owner_id = user.id;
    const changed = (await this.deps.schedules.update(row.id, set))!;
    const onlyEnabled = Object.keys(patch).every((k) => k === 'enabled');
    const action = !onlyEnabled
      ? 'schedule.update'
      : patch.enabled
        ? 'schedule.resume'
        : 'schedule.pause';
    await this.audit(user, action, changed, source, {
      ...summary(changed),
      changed: Object.keys(patch),
    });
    return this.present(changed, user, null);
  }

  async delete(id: string, user: User, source: string | null): Promise<void> {
    const row = await this.editable(id, user);
    await this.deps.schedules.delete(row.id);
    await this.audit(user, 'schedule.delete', row, source, summary(row));
  }

  /** Runs the schedule's request now, as the caller, recorded among its fires. */
  async runNow(id: string, user: User, source: string | null): Promise<StartedJob> {
    const row = await this.editable(id, user);
    const started = await this.deps.runs.start(row.run, user, source, {
      kind: 'schedule',
      id: row.id,
    });
    await this.deps.schedules.recordManual(row.id, started.jobId, this.deps.instanceId);
    await this.audit(user, 'schedule.run', row, source, { jobId: started.jobId });
    return started;
  }

  /**
   * A claimed fire, started as the schedule's owner; or recorded as skipped with the reason (an
   * owner gone, disabled or without the role, a target or host gone, the last run still going),
   * or left waiting behind the last run (overlap `queue`). Never throws for those.
   */
  async fire(f: FireRow): Promise<void> {
    const { schedules } = this.deps;
    const row = await schedules.get(f.schedule_id);
    if (!row) return; // deleted meanwhile: its fires went with it
    // Its instance died after starting the job: it is started.
    const existing = await this.deps.jobRows.ofFire(f.id);
    if (existing) return schedules.settle(f.id, 'started', { jobId: existing });
    const fireAt = f.fire_at.toISOString();
    const skip = async (reason: string, owner: User | null) => {
      await schedules.settle(f.id, 'skipped', { reason });
      await this.audit(owner, 'schedule.skip', row, null, { fireAt, reason });
    };
    if (!row.enabled) return skip('the schedule was paused', null);
    const ownerRow = row.owner_id ? await this.deps.users.findById(row.owner_id) : undefined;
    if (!ownerRow) return skip('its owner no longer exists', null);
    const owner = toUser(ownerRow);
    if (ownerRow.disabled) return skip(`its owner ${owner.username} is disabled`, owner);
    const may = decideOnSchedule(this.deps.access.subject(owner), { ownerId: owner.id });
    if (!may.allowed)
      return skip(`its owner ${owner.username} may not run it: ${may.reason}`, owner);

    const active = await this.deps.jobRows.activeOfSchedule(row.id);
    if (active && row.overlap === 'skip')
      return skip(`the last run (job ${active}) is still going`, owner);
    if (active && row.overlap === 'queue')
      return schedules.wait(f.id, `waits for the last run (job ${active}) to end`);
    try {
      const started = await this.deps.runs.start(row.run, owner, null, {
        kind: 'schedule',
        id: row.id,
        fireId: f.id,
      });
      await schedules.settle(f.id, 'started', { jobId: started.jobId });
      await this.audit(owner, 'schedule.fire', row, null, { fireAt, jobId: started.jobId });
    } catch (err) {
      const e = toAppError(err);
      // The database is away: the fire stays claimed, and is taken again once it is back.
      if (e.code === 'DB_UNAVAILABLE' || e.code === 'INTERNAL') throw err;
      await skip(`${e.code}: ${e.message}`, owner);
    }
  }

  private async row(id: string): Promise<ScheduleRow> {
    const row = await this.deps.schedules.get(id.toLowerCase());
    if (!row) throw new AppError('SCHEDULE_NOT_FOUND', `no schedule ${id}`);
    return row;
  }

  private async editable(id: string, user: User): Promise<ScheduleRow> {
    const row = await this.row(id);
    const d = decideOnSchedule(this.deps.access.subject(user), { ownerId: row.owner_id });
    if (!d.allowed) throw new AppError('FORBIDDEN', d.reason);
    return row;
  }

  private audit(
    user: User | null,
    action: string,
    row: ScheduleRow,
    source: string | null,
    details: Record<string, unknown>,
  ): Promise<void> {
    const holder = { kind: 'schedule' as const, id: row.id, name: row.name };
    return auditSaved(this.deps.audit, { user, action, holder, source, details });
  }

  private present(row: ScheduleRow, user: User, last: FireRow | null): Schedule {
    // An ad-hoc command's text is shown to whom can() shows a job's command (SPEC §4).
    const adHoc = row.run.kind === 'ssh' && 'command' in row.run.request;
    const readable = !adHoc || this.deps.access.can(user, 'job.readCommand', AD_HOC_FACTS);
    const run = readable ? row.run : hideCommand(row.run);
    return {
      id: row.id,
      name: row.name,
      cron: row.cron,
      everySeconds: row.every_seconds,
      timezone: row.timezone,
      run,
      command: describeRun(run),
      overlap: row.overlap,
      missed: row.missed,
      enabled: row.enabled,
      owner:
        row.owner_id && row.owner_username
          ? { id: row.owner_id, username: row.owner_username }
          : null,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
      nextRuns: row.enabled
        ? nextFires(timetableOf(row), new Date(), 3).map((d) => d.toISOString())
        : [],
      lastFire: last ? fireOf(last) : null,
      canEdit: decideOnSchedule(this.deps.access.subject(user), { ownerId: row.owner_id }).allowed,
    };
  }
}

const hideCommand = (run: ScheduleRun): ScheduleRun =>
  run.kind === 'ssh' && 'command' in run.request
    ? { kind: 'ssh', request: { ...run.request, command: HIDDEN_COMMAND } }
    : run;

const wholeSecond = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

function firstAfter(
  s: Pick<NewSchedule, 'cron' | 'every_seconds' | 'timezone' | 'anchor'>,
  now: Date,
): Date | null {
  return nextFires(timetableOf(s), now, 1)[0] ?? null;
}

function summary(row: ScheduleRow): Record<string, unknown> {
  const confirm = row.run.request.confirm;
  return {
    when: row.cron ?? `every ${row.every_seconds} s`,
    timezone: row.timezone,
    command: describeRun(row.run),
    enabled: row.enabled,
    // The confirmation given when it was saved, for a @confirm target or a protected place.
    ...(confirm !== undefined ? { confirmed: confirm } : {}),
  };
}

function fireOf(f: FireRow): ScheduleFire {
  return {
    fireAt: f.fire_at.toISOString(),
    outcome: f.outcome,
    reason: f.reason,
    jobId: f.job_id,
    jobStatus: f.job_status,
    jobStartedAt: f.job_started_at ? f.job_started_at.toISOString() : null,
    manual: f.manual,
    createdAt: f.created_at.toISOString(),
  };
}
