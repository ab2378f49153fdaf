import { sql, type Kysely, type Selectable } from 'kysely';
import type {
  JobRecord,
  JobTrigger,
  JobsQuery,
  JobStatus,
  Protection,
  StoredRequest,
  Waiting,
} from '@vmo/protocol';
import type { Database, JobsTable } from './schema.js';
import type { ProcessMark } from '../process/leftovers.js';
import { enqueueDeliveries } from './notifications.repository.js';

/** The ends a notification may tell (a terminal handed to a desktop app is not one). */
const ENDS = new Set<JobsTable['status']>(['success', 'failed', 'canceled', 'interrupted']);

export type JobRow = Selectable<JobsTable> & {
  requested_by_username: string | null;
  /** The schedule's or trigger's name, for a job one of them started. */
  trigger_name?: string | null;
};
export type NewJob = Pick<
  JobsTable,
  'type' | 'project' | 'host' | 'target' | 'preset' | 'command' | 'instance_id'
> & {
  status: JobStatus;
  args: Record<string, string>;
  argv: string[];
  requested_by: string | null;
  parent_id?: string | null;
  /** What it was started with; re-runs start from it. */
  request?: StoredRequest | null;
  environment?: string | null;
  vm?: string | null;
  trigger_kind?: JobTrigger['kind'];
  trigger_id?: string | null;
  schedule_fire_id?: string | null;
};

/** What started a job, as the server knows it: with the schedule fire, for a schedule's. */
export type StartTrigger = JobTrigger & { fireId?: string };

/** The columns that say what started a job (none: a user, by hand). */
export const triggerColumns = (t: StartTrigger | undefined) =>
  t ? { trigger_kind: t.kind, trigger_id: t.id, schedule_fire_id: t.fireId ?? null } : {};

/** The stored job; `protection` and `waiting` come from the catalog and the queue, not the row. */
export function toJob(
  r: JobRow,
  extra: { protection?: Protection | null; waiting?: Waiting } = {},
): JobRecord {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    project: r.project,
    host: r.host,
    environment: r.environment,
    vm: r.vm,
    target: r.target,
    args: r.args,
    preset: r.preset,
    command: r.command,
    exitCode: r.exit_code,
    signal: r.signal,
    createdAt: r.created_at.toISOString(),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    requestedBy:
      r.requested_by && r.requested_by_username
        ? { id: r.requested_by, username: r.requested_by_username }
        : null,
    parentId: r.parent_id,
    lastSeq: r.last_seq,
    outputBytes: Number(r.output_bytes),
    truncated: r.truncated,
    protection: extra.protection ?? null,
    trigger: {
      kind: r.trigger_kind ?? 'manual',
      id: r.trigger_id ?? null,
      ...(r.trigger_name ? { name: r.trigger_name } : {}),
    },
    ...(extra.waiting && r.status === 'queued' ? { waiting: extra.waiting } : {}),
  };
}

/** Opaque page cursor: the last item's created_at and id. */
export const encodeCursor = (r: { created_at: Date; id: string }) =>
  Buffer.from(`${r.created_at.toISOString()}|${r.id}`).toString('base64url');
export function decodeCursor(cursor: string): { createdAt: Date; id: string } | null {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const createdAt = new Date(at ?? '');
  return id && /^[0-9a-f-]{36}$/.test(id) && !Number.isNaN(createdAt.getTime())
    ? { createdAt, id }
    : null;
}

export class JobsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private base() {
    return this.db
      .selectFrom('jobs')
      .leftJoin('users', 'users.id', 'jobs.requested_by')
      .leftJoin('schedules', 'schedules.id', 'jobs.trigger_id')
      .leftJoin('triggers', 'triggers.id', 'jobs.trigger_id')
      .selectAll('jobs')
      .select([
        'users.username as requested_by_username',
        sql<string | null>`coalesce(schedules.name, triggers.name)`.as('trigger_name'),
      ]);
  }

  async create(job: NewJob): Promise<JobRow> {
    const { id } = await this.db
      .insertInto('jobs')
      .values({
        ...job,
        args: JSON.stringify(job.args),
        argv: JSON.stringify(job.argv),
        request: job.request ? JSON.stringify(job.request) : null,
        started_at: job.status === 'running' ? new Date() : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return (await this.get(id))!;
  }

  get(id: string): Promise<JobRow | undefined> {
    return this.base().where('jobs.id', '=', id).executeTakeFirst();
  }

  /** The rows of those of `ids` that exist, in no particular order. */
  getMany(ids: readonly string[]): Promise<JobRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.base().where('jobs.id', 'in', ids).execute();
  }

  /** Moves a job on; `from` guards against racing transitions (e.g. cancel vs. start). */
  async transition(
    id: string,
    from: JobStatus[],
    set: Partial<
      Pick<
        Selectable<JobsTable>,
        'status' | 'exit_code' | 'signal' | 'started_at' | 'finished_at' | 'truncated'
      >
    >,
  ): Promise<JobRow | undefined> {
    const move = (db: Kysely<Database>) =>
      db
        .updateTable('jobs')
        .set(set)
        .where('id', '=', id)
        .where('status', 'in', from)
        .returning('id')
        .executeTakeFirst();
    // An end writes its notifications' outbox rows in the same transaction: told once, never lost.
    const res =
      set.status && ENDS.has(set.status)
        ? await this.db.transaction().execute(async (trx) => {
            const moved = await move(trx);
            if (moved) await enqueueDeliveries(trx, id);
            return moved;
          })
        : await move(this.db);
    return res ? this.get(id) : undefined;
  }

  /** Records who the job's process group leader is (runners/leftovers.ts). */
  async setProcess(id: string, mark: ProcessMark): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ process: JSON.stringify(mark) })
      .where('id', '=', id)
      .execute();
  }

  /** `matchAdHoc`: whether `q` may match the text of ad-hoc commands (what the caller may read). */
  async list(
    q: JobsQuery,
    userId: string | null,
    matchAdHoc = true,
  ): Promise<{ rows: JobRow[]; next: string | null }> {
    let query = this.base();
    if (q.status) query = query.where('jobs.status', '=', q.status);
    if (q.type) query = query.where('jobs.type', '=', q.type);
    if (q.project) query = query.where('jobs.project', '=', q.project);
    if (q.host) query = query.where('jobs.host', '=', q.host);
    if (q.environment) query = query.where('jobs.environment', '=', q.environment);
    if (q.vm) query = query.where('jobs.vm', '=', q.vm);
    if (q.user === 'me') query = query.where('jobs.requested_by', '=', userId);
    else if (q.user) query = query.where('users.username', '=', q.user);
    if (q.q) {
      query = query.where('jobs.command', 'ilike', `%${q.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`);
      // An ad-hoc job: ssh, neither a preset nor a target (permissions' isAdHoc).
      if (!matchAdHoc)
        query = query.where((eb) =>
          eb.or([
            eb('jobs.type', '!=', 'ssh'),
            eb('jobs.preset', 'is not', null),
            eb('jobs.target', 'is not', null),
          ]),
        );
    }
    if (q.before) {
      const c = decodeCursor(q.before);
      if (c)
        query = query.where(
          sql<boolean>`(jobs.created_at, jobs.id) < (${c.createdAt}, ${c.id}::uuid)`,
        );
    }
    const rows = await query
      .orderBy('jobs.created_at', 'desc')
      .orderBy('jobs.id', 'desc')
      .limit(q.limit + 1)
      .execute();
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    return { rows: page, next: more ? encodeCursor(page.at(-1)!) : null };
  }

  /**
   * Per target of a project, its last `runs` finished local runs (statuses newest first) and the
   * median of their durations in ms, in one query. Terminal and remote runs are left out.
   */
  async targetStats(
    project: string,
    runs: number,
  ): Promise<{ target: string; recent: JobStatus[]; median_ms: number | null }[]> {
    const { rows } = await sql<{ target: string; recent: JobStatus[]; median_ms: number | null }>`
      SELECT target,
             array_agg(status::text ORDER BY created_at DESC, id DESC) AS recent,
             percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM finished_at - started_at) * 1000
             )::float8 AS median_ms
        FROM (SELECT target, status, created_at, id, started_at, finished_at,
                     row_number() OVER (PARTITION BY target ORDER BY created_at DESC, id DESC) AS n
                FROM jobs
               WHERE project = ${project} AND type = 'stream' AND host IS NULL
                 AND parent_id IS NULL AND target IS NOT NULL
                 AND status IN ('success', 'failed', 'canceled', 'interrupted')) AS last
       WHERE n <= ${runs}
       GROUP BY target
       ORDER BY target`.execute(this.db);
    return rows;
  }

  /**
   * Recovery of a job whose writer is gone: output committed past its last_seq (ahead of a batch
   * that never committed) is dropped, so its output is the contiguous run readers saw.
   */
  async dropUncommitted(jobId: string): Promise<void> {
    await sql`
      with gone as (
        delete from job_events e using jobs j
        where j.id = ${jobId}::uuid and e.job_id = j.id and e.seq > j.last_seq
        returning 1
      )
      update jobs set seq_ahead = '{}'
      where id = ${jobId}::uuid and (select count(*) from gone) >= 0
    `.execute(this.db);
  }

  /** Jobs an instance left queued or running (null instance: written before instances were recorded). */
  unfinished(instanceId: string): Promise<JobRow[]> {
    return this.base()
      .where('jobs.status', 'in', ['queued', 'running'])
      .where((eb) =>
        eb.or([eb('jobs.instance_id', '=', instanceId), eb('jobs.instance_id', 'is', null)]),
      )
      .execute();
  }

  /**
   * Takes over the unfinished jobs of instances that are gone: no instance id, or one whose heartbeat
   * is older than `staleSeconds` or missing. Rows another instance is taking over at the same moment
   * are skipped (locked), so each job goes to exactly one. Returns each row with its former owner.
   */
  async adoptOrphans(
    instanceId: string,
    staleSeconds: number,
  ): Promise<{ row: JobRow; previous: string | null }[]> {
    const { rows: adopted } = await sql<{ id: string; previous: string | null }>`
      with orphans as (
        select j.id, j.instance_id from jobs j
        where j.status in ('queued', 'running')
          and j.instance_id is distinct from ${instanceId}
          and not exists (
            select 1 from instances i
            where i.id = j.instance_id
              and i.heartbeat_at >= now() - make_interval(secs => ${staleSeconds})
          )
        for update of j skip locked
      )
      update jobs set instance_id = ${instanceId}
      from orphans where jobs.id = orphans.id
      returning jobs.id, orphans.instance_id as previous
    `.execute(this.db);
    if (adopted.length === 0) return [];
    const previous = new Map(adopted.map((r) => [r.id, r.previous]));
    const rows = await this.base()
      .where(
        'jobs.id',
        'in',
        adopted.map((r) => r.id),
      )
      .orderBy('jobs.created_at')
      .execute();
    return rows.map((row) => ({ row, previous: previous.get(row.id) ?? null }));
  }

  /** Deletes up to `limit` finished top-level jobs (with their children and events) that ended before `cutoff`. */
  async deleteFinishedBefore(cutoff: Date, limit: number): Promise<number> {
    const res = await this.db
      .deleteFrom('jobs')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('jobs')
          .select('id')
          .where('parent_id', 'is', null)
          .where('status', 'in', ['success', 'failed', 'canceled', 'interrupted', 'spawned'])
          .where('finished_at', '<', cutoff)
          // A group whose children still run stays.
          .where((w) =>
            w.not(
              w.exists(
                w
                  .selectFrom('jobs as child')
                  .select('child.id')
                  .whereRef('child.parent_id', '=', 'jobs.id')
                  .where('child.status', 'in', ['queued', 'running']),
              ),
            ),
          )
          .limit(limit),
      )
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /** How many jobs the database holds in each status. */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** The job a schedule fire started, if one did. */
  async ofFire(fireId: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('jobs')
      .select('id')
      .where('schedule_fire_id', '=', fireId)
      .executeTakeFirst();
    return row?.id ?? null;
  }

  /** A job of the schedule still queued or running, if any (the oldest). */
  async activeOfSchedule(scheduleId: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('jobs')
      .select('id')
      .where('trigger_id', '=', scheduleId)
      .where('trigger_kind', '=', 'schedule')
      .where('status', 'in', ['queued', 'running'])
      .orderBy('created_at')
      .limit(1)
      .executeTakeFirst();
    return row?.id ?? null;
  }

  children(parentId: string): Promise<JobRow[]> {
    return this.base().where('jobs.parent_id', '=', parentId).orderBy('jobs.created_at').execute();
  }
}
