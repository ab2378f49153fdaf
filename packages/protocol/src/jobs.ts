// Jobs and their events, as REST and the socket carry them (SPEC §2 "Resources").
import { z } from 'zod';

export const JobType = z.enum(['stream', 'ssh', 'terminal', 'group']);
export type JobType = z.infer<typeof JobType>;

export const JobStatus = z.enum([
  'queued',
  'running',
  'success',
  'failed',
  'canceled',
  'interrupted',
  'spawned',
]);
export type JobStatus = z.infer<typeof JobStatus>;

export const FINAL_STATUSES: readonly JobStatus[] = [
  'success',
  'failed',
  'canceled',
  'interrupted',
  'spawned',
];

export const Stream = z.enum(['stdout', 'stderr', 'system', 'pty']);
export type Stream = z.infer<typeof Stream>;

/** Make variables as `{NAME: value}`; names and values are checked by the server (BAD_ARGS). */
export const MakeArgs = z.record(z.string().max(256), z.string().max(1024));
export type MakeArgs = z.infer<typeof MakeArgs>;

export const JobId = z.uuid();

export const Job = z.object({
  id: z.string(),
  type: JobType,
  status: JobStatus,
  project: z.string().nullable(),
  host: z.string().nullable(),
  target: z.string().nullable(),
  args: MakeArgs,
  preset: z.string().nullable(),
  command: z.string(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  requestedBy: z.object({ id: z.string(), username: z.string() }).nullable(),
  parentId: z.string().nullable(),
  lastSeq: z.number().int(),
  outputBytes: z.number().int(),
  truncated: z.boolean(),
});
export type Job = z.infer<typeof Job>;

export const JobEvent = z.object({
  seq: z.number().int().positive(),
  stream: Stream,
  chunk: z.string(),
  ts: z.number().int(),
});
export type JobEvent = z.infer<typeof JobEvent>;
