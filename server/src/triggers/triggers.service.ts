// Triggers (issue 24): a URL and a secret that start one saved run (a target, a preset or a
// fan-out) as the admin who made it, from CI or any other system. The secret is shown once and
// stored as a sha256; each use is rate-limited, checked with can() as its owner, and audited;
// `wait` holds the answer until the job ends.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  FINAL_STATUSES,
  TRIGGER_PREFIX,
  type CreatedTrigger,
  type FireTrigger,
  type Trigger,
  type TriggerInput,
  type TriggerRun,
  type User,
} from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import { sha256, toUser } from '../auth/auth.service.js';
import type { AuditRepository } from '../db/audit.repository.js';
import type { JobsRepository } from '../db/jobs.repository.js';
import type { LoginLimitsRepository } from '../db/login-limits.repository.js';
import type { TriggerRow, TriggersRepository } from '../db/triggers.repository.js';
import type { UsersRepository } from '../db/users.repository.js';
import { AppError } from '../errors.js';
import type { JobBus } from '../jobs/job.bus.js';
import { auditSaved, withArgs, type SavedRuns } from '../schedules/saved-runs.js';
import { describeRun } from '../schedules/timetable.js';

export interface TriggersServiceDeps {
  triggers: TriggersRepository;
  users: UsersRepository;
  jobRows: JobsRepository;
  runs: SavedRuns;
  audit: AuditRepository;
  access: Access;
  bus: JobBus;
  limits: LoginLimitsRepository;
  /** security.publicUrl: where the trigger URLs point; relative without it. */
  publicUrl: string | null;
  /** Uses of one trigger per minute. */
  perMinute?: number;
}

/** How long `wait` holds the answer at most, by default and at most. */
export const WAIT_DEFAULT_SECONDS = 600;

export class TriggersService {
  constructor(private readonly deps: TriggersServiceDeps) {}

  async list(): Promise<Trigger[]> {
    return (await this.deps.triggers.list()).map((r) => this.present(r));
  }

  async create(input: TriggerInput, user: User, source: string | null): Promise<CreatedTrigger> {
    await this.deps.runs.check(input.run, user);
    const secret = TRIGGER_PREFIX + randomBytes(24).toString('base64url');
    const row = await this.deps.triggers.create({
      name: input.name,
      run: input.run,
      owner_id: user.id,
      secret_hash: sha256(secret),
    });
    await this.audit(user, 'trigger.create', row, source, { command: describeRun(row.run) });
    return { ...this.present(row), secret };
  }

  async delete(id: string, user: User, source: string | null): Promise<void> {
    const row = await this.row(id);
    await this.deps.triggers.delete(row.id);
    await this.audit(user, 'trigger.delete', row, source, { command: describeRun(row.run) });
  }

  /**
   * A use: the secret checked, the rate limit, the owner checked with can(), the args applied
   * and checked by the rails, the job started as the owner; with `waitSeconds`, the answer waits
   * for its end (or says it still runs).
   */
  async fire(
    id: string,
    secret: string | null,
    body: FireTrigger,
    waitSeconds: number | null,
    source: string | null,
  ): Promise<{ status: 200 | 201 | 202; body: TriggerRun }> {
    const row = await this.deps.triggers.get(id.toLowerCase());
    if (!row || !secret || !sameHash(sha256(secret), row.secret_hash))
      throw new AppError('UNAUTHENTICATED', 'no trigger with that id and secret');
    const { hits } = await this.deps.limits.increment(`trigger:${row.id}`, 60_000);
    if (hits > (this.deps.perMinute ?? 30))
      throw new AppError('RATE_LIMITED', 'this trigger was used too often; try again in a minute');
    const ownerRow = row.owner_id ? await this.deps.users.findById(row.owner_id) : undefined;
    if (!ownerRow || ownerRow.disabled)
      throw new AppError('FORBIDDEN', 'the trigger’s owner no longer exists or is disabled');
    const owner = toUser(ownerRow);
    const run = withArgs(row.run, body.args);
    const { jobId } = await this.deps.runs.start(run, owner, source, {
      kind: 'trigger',
      id: row.id,
    });
    await this.deps.triggers.used(row.id);
    await this.audit(owner, 'trigger.use', row, source, {
      jobId,
      ...(body.args ? { args: body.args } : {}),
    });
    if (waitSeconds === null) return { status: 201, body: { jobId } };
    return this.waitFor(jobId, waitSeconds);
  }

  /** The job's end within `seconds` (200), or where it stands then (202). */
  private async waitFor(
    jobId: string,
    seconds: number,
  ): Promise<{ status: 200 | 202; body: TriggerRun }> {
    let unfollow = () => {};
    const ended = new Promise<void>((resolve) => {
      unfollow = this.deps.bus.follow(jobId, { events: () => {}, done: () => resolve() });
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const row = await this.deps.jobRows.get(jobId);
      if (row && !FINAL_STATUSES.includes(row.status))
        await Promise.race([ended, new Promise((r) => (timer = setTimeout(r, seconds * 1000)))]);
    } finally {
      clearTimeout(timer);
      unfollow();
    }
    const row = (await this.deps.jobRows.get(jobId))!;
    const final = FINAL_STATUSES.includes(row.status);
    return {
      status: final ? 200 : 202,
      body: { jobId, status: row.status, exitCode: row.exit_code },
    };
  }

  private async row(id: string): Promise<TriggerRow> {
    const row = await this.deps.triggers.get(id.toLowerCase());
    if (!row) throw new AppError('NOT_FOUND', `no trigger ${id}`);
    return row;
  }

  private audit(
    user: User | null,
    action: string,
    row: TriggerRow,
    source: string | null,
    details: Record<string, unknown>,
  ): Promise<void> {
    const holder = { kind: 'trigger' as const, id: row.id, name: row.name };
    return auditSaved(this.deps.audit, { user, action, holder, source, details });
  }

  private present(row: TriggerRow): Trigger {
    const path = `/api/triggers/${row.id}`;
    return {
      id: row.id,
      name: row.name,
      run: row.run,
      command: describeRun(row.run),
      owner:
        row.owner_id && row.owner_username
          ? { id: row.owner_id, username: row.owner_username }
          : null,
      createdAt: row.created_at.toISOString(),
      lastUsedAt: row.last_used_at ? row.last_used_at.toISOString() : null,
      uses: row.uses,
      url: this.deps.publicUrl ? new URL(path, this.deps.publicUrl).toString() : path,
    };
  }
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
