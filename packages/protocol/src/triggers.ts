// Triggers (SPEC §2: /api/triggers, issue 24): one saved run that another system starts with a
// URL and a secret of its own, as the admin who made it; `wait` holds the answer until it ends.
import { z } from 'zod';
import { JobStatus } from './jobs.js';
import { ScheduleRun } from './schedules.js';

export const TriggerId = z.uuid();

export const TriggerInput = z.strictObject({
  name: z.string().trim().min(1).max(128),
  run: ScheduleRun,
});
export type TriggerInput = z.infer<typeof TriggerInput>;

export const Trigger = z.object({
  id: z.string(),
  name: z.string(),
  run: ScheduleRun,
  /** What it runs, as the job would read. */
  command: z.string(),
  owner: z.object({ id: z.string(), username: z.string() }).nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  uses: z.number().int(),
  /** Where to POST (security.publicUrl, else a path on this server). */
  url: z.string(),
});
export type Trigger = z.infer<typeof Trigger>;

/** A new trigger, with its secret: shown this once. */
export const CreatedTrigger = Trigger.extend({ secret: z.string() });
export type CreatedTrigger = z.infer<typeof CreatedTrigger>;

/** A use: make variables of a target, or parameters of a preset, over those saved. */
export const FireTrigger = z.strictObject({
  args: z.record(z.string().max(128), z.string().max(1024)).optional(),
});
export type FireTrigger = z.infer<typeof FireTrigger>;

export const FireTriggerQuery = z.strictObject({
  /** `1`: answer once the job has ended (or the time-out passed). */
  wait: z.enum(['0', '1', 'true', 'false']).optional(),
  /** Seconds `wait` holds the answer at most (600 by default). */
  timeout: z.coerce.number().int().min(1).max(3600).optional(),
});

/** The job started; with `wait`, where it ended (200) or still stands (202). */
export const TriggerRun = z.object({
  jobId: z.string(),
  status: JobStatus.optional(),
  exitCode: z.number().int().nullable().optional(),
});
export type TriggerRun = z.infer<typeof TriggerRun>;
