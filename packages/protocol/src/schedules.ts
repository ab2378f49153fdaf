// Schedules (SPEC §2, issue 23): what to run (a make target here or on a host, a preset, a
// fan-out), when (a cron expression, seconds optional, or an interval, in an IANA time zone), and
// what to do when the last run is still going or runs were missed. The fire times come from one
// library, croner, on both sides: the server fires by them, the form shows them before saving.
import { cronError } from './cron.js';
import { z } from 'zod';
import { StartFanout, StartSsh, StartStream } from './jobs.js';

export const ScheduleId = z.uuid();

/** What a schedule runs: the body of the route that would start it by hand. */
export const ScheduleRun = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('stream'), request: StartStream }),
  z.strictObject({ kind: z.literal('ssh'), request: StartSsh }),
  z.strictObject({ kind: z.literal('fanout'), request: StartFanout }),
]);
export type ScheduleRun = z.infer<typeof ScheduleRun>;

/** When the last run is still going: skip this fire, queue it behind, or run alongside. */
export const Overlap = z.enum(['skip', 'queue', 'allow']);
export type Overlap = z.infer<typeof Overlap>;
/** Fires missed while no instance ran: skip them, or run once for all of them. */
export const Missed = z.enum(['skip', 'once']);
export type Missed = z.infer<typeof Missed>;

/** Every how many seconds, at least 1, at most a year. */
export const EverySeconds = z
  .number()
  .int()
  .min(1)
  .max(366 * 24 * 3600);

/** A valid IANA time zone name (as Intl knows them). */
export const TimeZone = z
  .string()
  .min(1)
  .max(64)
  .refine(
    (tz) => validTimeZone(tz),
    'not a time zone this server knows (an IANA name like Europe/Berlin)',
  );

export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A cron expression croner accepts: 5 fields, or 6 with seconds first. */
export const CronExpression = z
  .string()
  .trim()
  .min(1)
  .max(256)
  .superRefine((expr, ctx) => {
    const error = cronError(expr);
    if (error) ctx.addIssue({ code: 'custom', message: error });
  });

export const ScheduleInput = z
  .strictObject({
    name: z.string().trim().min(1).max(128).optional(),
    cron: CronExpression.optional(),
    everySeconds: EverySeconds.optional(),
    timezone: TimeZone.optional(),
    run: ScheduleRun,
    overlap: Overlap.optional(),
    missed: Missed.optional(),
    enabled: z.boolean().optional(),
  })
  .refine((s) => (s.cron === undefined) !== (s.everySeconds === undefined), {
    message: 'give either cron or everySeconds',
    path: ['cron'],
  });
export type ScheduleInput = z.infer<typeof ScheduleInput>;

/** A change: any of the fields; cron and everySeconds replace each other. */
export const SchedulePatch = z
  .strictObject({
    name: z.string().trim().min(1).max(128).optional(),
    cron: CronExpression.optional(),
    everySeconds: EverySeconds.optional(),
    timezone: TimeZone.optional(),
    run: ScheduleRun.optional(),
    overlap: Overlap.optional(),
    missed: Missed.optional(),
    enabled: z.boolean().optional(),
  })
  .refine((s) => s.cron === undefined || s.everySeconds === undefined, {
    message: 'give either cron or everySeconds, not both',
    path: ['cron'],
  });
export type SchedulePatch = z.infer<typeof SchedulePatch>;

/** What became of one fire. */
export const FireOutcome = z.enum(['claimed', 'waiting', 'started', 'skipped']);
export type FireOutcome = z.infer<typeof FireOutcome>;

export const ScheduleFire = z.object({
  /** The time it was due. */
  fireAt: z.string(),
  outcome: FireOutcome,
  /** Why it was skipped, or what it waits for. */
  reason: z.string().nullable(),
  jobId: z.string().nullable(),
  /** The job's status, when it started one. */
  jobStatus: z.string().nullable(),
  /** When that job started running (it may have queued first). */
  jobStartedAt: z.string().nullable(),
  /** Who fired it: the schedule, or a user's "run now". */
  manual: z.boolean(),
  createdAt: z.string(),
});
export type ScheduleFire = z.infer<typeof ScheduleFire>;

export const Schedule = z.object({
  id: z.string(),
  name: z.string(),
  cron: z.string().nullable(),
  everySeconds: z.number().int().nullable(),
  timezone: z.string(),
  run: ScheduleRun,
  /** What it runs, as the job would read: `make deploy @ prod/app9`. */
  command: z.string(),
  overlap: Overlap,
  missed: Missed,
  enabled: z.boolean(),
  owner: z.object({ id: z.string(), username: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The next fire times (none while paused). */
  nextRuns: z.array(z.string()),
  lastFire: ScheduleFire.nullable(),
  /** Whether the caller may change, pause, run or delete it. */
  canEdit: z.boolean(),
});
export type Schedule = z.infer<typeof Schedule>;

export const ScheduleDetail = Schedule.extend({ fires: z.array(ScheduleFire) });
export type ScheduleDetail = z.infer<typeof ScheduleDetail>;

export const NextRunsQuery = z.strictObject({
  count: z.coerce.number().int().min(1).max(100).default(5),
});
