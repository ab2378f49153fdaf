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

export const Stream = z.enum(['stdout', 'stderr', 'system', 'pty']);
export type Stream = z.infer<typeof Stream>;

/** Make variables as `{NAME: value}`; names and values are checked by the server (BAD_ARGS). */
export const MakeArgs = z.record(z.string().max(256), z.string().max(1024));
export type MakeArgs = z.infer<typeof MakeArgs>;

export const JobId = z.uuid();

/** What the caller may do with one job (from `can()`, see permissions.ts): on every Job the API returns. */
export const JobCan = z.object({
  cancel: z.boolean(),
  rerun: z.boolean(),
  readOutput: z.boolean(),
  /** Type into its terminal. */
  input: z.boolean(),
});
export type JobCan = z.infer<typeof JobCan>;

/** A production environment or project (`protected: true`): starting there wants its name typed. */
export const Protection = z.object({
  kind: z.enum(['environment', 'project']),
  name: z.string(),
});
export type Protection = z.infer<typeof Protection>;

/** Why a queued job waits: `maxConcurrent` running jobs, the `@exclusive` run `jobId`, or its fan-out's limit. */
export const Waiting = z.object({
  reason: z.enum(['maxConcurrent', 'exclusive', 'fanout']),
  jobId: z.string().optional(),
  message: z.string(),
});
export type Waiting = z.infer<typeof Waiting>;

/** A job as stored, before what the caller may do with it is added. */
/** What started a job: a user (`manual`), a re-run of `id`, schedule `id`, or trigger `id`. */
export const JobTrigger = z.object({
  kind: z.enum(['manual', 'rerun', 'schedule', 'trigger']),
  id: z.string().nullable(),
  /** The schedule's or trigger's name, when it still exists. */
  name: z.string().nullable().optional(),
});
export type JobTrigger = z.infer<typeof JobTrigger>;

export const JobRecord = z.object({
  id: z.string(),
  type: JobType,
  status: JobStatus,
  project: z.string().nullable(),
  /** The ssh alias it ran through (`vm:<env>/<name>` for a VM without one); a fan-out's environment. */
  host: z.string().nullable(),
  /** The vm-config environment it ran in or fanned out over. */
  environment: z.string().nullable(),
  /** The VM it ran on, `<environment>/<name>`. */
  vm: z.string().nullable(),
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
  /** Where it ran is protected (production); null otherwise. */
  protection: Protection.nullable(),
  /** Set while it is queued, when this server knows why. */
  waiting: Waiting.optional(),
  trigger: JobTrigger,
});
export type JobRecord = z.infer<typeof JobRecord>;

export const Job = JobRecord.extend({ can: JobCan });
export type Job = z.infer<typeof Job>;

export const JobEvent = z.object({
  seq: z.number().int().positive(),
  stream: Stream,
  chunk: z.string(),
  ts: z.number().int(),
});
export type JobEvent = z.infer<typeof JobEvent>;

/** Names as the catalog knows them: a project alias, a make target, an ssh host alias. */
export const Alias = z.string().min(1).max(128);
export const TargetName = z.string().min(1).max(256);
/** An ssh config alias, or `vm:<env>/<name>` for a VM without one. */
export const HostAlias = z.string().min(1).max(256);

/**
 * What a start carries to say the user confirmed: `true` for a `@confirm` target, the name of the
 * environment or project typed out for a protected one (which confirms a `@confirm` target too).
 */
export const Confirmation = z.union([z.boolean(), z.string().max(128)]);
export type Confirmation = z.infer<typeof Confirmation>;

export const StartStream = z.strictObject({
  alias: Alias,
  target: TargetName,
  args: MakeArgs.optional(),
  /** Run an interactive target as a plain stream job anyway. */
  force: z.boolean().optional(),
  /** Required for targets marked `@confirm` and protected places (see Confirmation). */
  confirm: Confirmation.optional(),
  /** Run it on this host of the project's `remote` list, over ssh. */
  hostAlias: HostAlias.optional(),
});
export type StartStream = z.infer<typeof StartStream>;

/** `{hostAlias, preset, params?}`, or (admins, with security.allowAdHoc) `{hostAlias, command}`. */
export const StartSsh = z.union([
  z.strictObject({
    hostAlias: HostAlias,
    preset: z.string().min(1).max(128),
    params: z.record(z.string().max(128), z.string().max(1024)).optional(),
    confirm: Confirmation.optional(),
  }),
  z.strictObject({
    hostAlias: HostAlias,
    command: z.string().min(1).max(8192),
    confirm: Confirmation.optional(),
  }),
]);
export type StartSsh = z.infer<typeof StartSsh>;

/** A re-run: the stored request, with its arguments changed when given, confirmed again when it must be. */
export const RerunJob = z.strictObject({
  /** Make variables of a target, or a preset's params; the stored ones when absent. */
  args: MakeArgs.optional(),
  confirm: Confirmation.optional(),
});
export type RerunJob = z.infer<typeof RerunJob>;

export const StartedJob = z.object({ jobId: z.string(), type: JobType });
export type StartedJob = z.infer<typeof StartedJob>;

export const CancelJob = z.strictObject({ jobId: z.string().max(64) });
export type CancelJob = z.infer<typeof CancelJob>;

/** The answer to a cancel: the job's status once the cancel was taken in. */
export const CanceledJob = z.object({ jobId: z.string(), status: JobStatus });
export type CanceledJob = z.infer<typeof CanceledJob>;

/** Ends of your own jobs a page has shown: they are not told again. */
export const MarkSeen = z.strictObject({ jobIds: z.array(JobId).min(1).max(100) });
export type MarkSeen = z.infer<typeof MarkSeen>;

export const JoinJob = z.strictObject({
  jobId: z.string().max(64),
  afterSeq: z.number().int().nonnegative().optional(),
});

/** Most jobs one fan-out holds; a join names at most this many (its children and itself). */
export const MAX_GROUP_SOURCES = 10_000;

/**
 * A fan-out's output merged: its own lines and every child's, each child's after the seq held
 * (`after`, by job id; 0 when absent).
 */
export const JoinGroup = z.strictObject({
  jobId: z.string().max(64),
  after: z
    .record(z.string().max(64), z.number().int().nonnegative())
    .refine((r) => Object.keys(r).length <= MAX_GROUP_SOURCES, 'too many jobs')
    .optional(),
});

export const JobsQuery = z.strictObject({
  status: JobStatus.optional(),
  type: JobType.optional(),
  project: z.string().max(128).optional(),
  host: z.string().max(256).optional(),
  environment: z.string().max(128).optional(),
  /** A VM's id, `<environment>/<name>`. */
  vm: z.string().max(260).optional(),
  user: z.string().max(64).optional(),
  q: z.string().max(256).optional(),
  before: z.string().max(128).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(10),
});
export type JobsQuery = z.infer<typeof JobsQuery>;

export const JobPage = z.object({ items: z.array(Job), nextCursor: z.string().nullable() });
export type JobPage = z.infer<typeof JobPage>;

export const JobWithChildren = Job.extend({ children: z.array(Job).optional() });
export type JobWithChildren = z.infer<typeof JobWithChildren>;

export const EventsQuery = z.strictObject({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});
export type EventsQuery = z.infer<typeof EventsQuery>;

export const EventPage = z.object({
  events: z.array(JobEvent),
  nextAfter: z.number().int(),
  done: z.boolean(),
});
export type EventPage = z.infer<typeof EventPage>;

/**
 * The output's end first: the last events before `before` (all of them when absent), and with
 * `cut`, event `before`'s own bytes before that offset too (a page's `nextBefore` and `nextCut`).
 */
export const TailQuery = z
  .strictObject({
    before: z.coerce.number().int().positive().optional(),
    cut: z.coerce.number().int().positive().optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
    /**
     * The page holds about this many bytes: it stops at an event once it holds them, and an event
     * that would take it past them starts at the first line that fits (always at least one line).
     */
    bytes: z.coerce
      .number()
      .int()
      .min(1)
      .max(8 * 1024 * 1024)
      .default(1024 * 1024),
  })
  .refine((q) => q.cut === undefined || q.before !== undefined, {
    message: '`cut` goes with `before`',
    path: ['cut'],
  });
export type TailQuery = z.infer<typeof TailQuery>;

export const TailPage = z.object({
  events: z.array(JobEvent),
  /**
   * Lines (as the log viewer counts them, see lines.ts) the output had started before the first of
   * these events; null when not known (output stored before line marks): read from the start then.
   */
  lineStart: z.number().int().nonnegative().nullable(),
  /** Streams whose last line was unfinished before the first event: their first output continues it. */
  open: z.array(Stream),
  /** `before` for the page before this one; null when this page starts at the output's start. */
  nextBefore: z.number().int().positive().nullable(),
  /**
   * `cut` for the page before this one: this page's first event is the end of event `nextBefore`,
   * from this byte of its output on (always just after a line feed); null when it is whole.
   */
  nextCut: z.number().int().positive().nullable(),
});
export type TailPage = z.infer<typeof TailPage>;

/** Where a page of output ends, as a TailPage gives it for the page before: TailQuery's `before` and `cut`. */
export interface TailCursor {
  before: number;
  cut: number | null;
}

/** A parameter a target declares in its Makefile (`@param NAME`, `@param NAME=default`, `@param NAME=a|b`). */
export const TargetParam = z.object({
  name: z.string(),
  /** Allowed values, when the Makefile lists them; the first is the default. */
  choices: z.array(z.string()).optional(),
  default: z.string().optional(),
  /** No default: the run form must ask for it. */
  required: z.boolean(),
});
export type TargetParam = z.infer<typeof TargetParam>;

export const TargetInfo = z.object({
  name: z.string(),
  description: z.string(),
  interactive: z.boolean(),
  phony: z.boolean(),
  params: z.array(TargetParam).optional(),
  /** Ask before running (`@confirm`); the API then wants `confirm: true`. */
  confirm: z.boolean().optional(),
  /** One run at a time (`@exclusive`): another waits in the queue until it ends. */
  exclusive: z.boolean().optional(),
  /** The `##@ Section` it is documented under, as the Makefile's own `make help` groups it. */
  section: z.string().nullable().optional(),
  /** Folded under "more": a file make builds (object files, CMake fast targets…) rather than a task. */
  more: z.boolean().optional(),
});
export type TargetInfo = z.infer<typeof TargetInfo>;

/**
 * How a project's targets were listed: `isolated`, make's database read in a throwaway sandbox;
 * `safe`, the makefile text alone because the host offers no isolation (nothing is run).
 */
export const ListingMode = z.enum(['isolated', 'safe']);
export type ListingMode = z.infer<typeof ListingMode>;

export const Listing = z.object({
  mode: ListingMode,
  /** Why the sandbox could not be had (safe mode). */
  reason: z.string().optional(),
});
export type Listing = z.infer<typeof Listing>;

export const ProjectInfo = z.object({
  alias: z.string(),
  dir: z.string(),
  source: z.enum(['config', 'mkcli']),
  /** False when its folder or Makefile is missing, or make cannot read the Makefile (`error` says). */
  available: z.boolean(),
  error: z.string().optional(),
  /** `MAKEFILE_ERROR` when make cannot read the Makefile; the targets route answers it too. */
  errorCode: z.literal('MAKEFILE_ERROR').optional(),
  /** How its targets were listed, once they have been. */
  listing: Listing.optional(),
  /** Production (`protected: true` in the config file): a run wants the project's alias typed. */
  protected: z.boolean().optional(),
  /** Hosts where its targets can also run over ssh (with how they were listed there, once known). */
  remote: z
    .array(z.object({ host: z.string(), dir: z.string(), listing: Listing.optional() }))
    .optional(),
});
export type ProjectInfo = z.infer<typeof ProjectInfo>;

/**
 * One preset or one project target on every VM of an environment, or on the hosts listed:
 * `{environment | hostAliases, preset, params?}` or `{environment | hostAliases, alias, target, args?}`.
 */
export const StartFanout = z
  .strictObject({
    environment: z.string().min(1).max(128).optional(),
    hostAliases: z.array(HostAlias).min(1).max(500).optional(),
    preset: z.string().min(1).max(128).optional(),
    params: z.record(z.string().max(128), z.string().max(1024)).optional(),
    alias: Alias.optional(),
    target: TargetName.optional(),
    args: MakeArgs.optional(),
    confirm: Confirmation.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.environment === undefined) === (v.hostAliases === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give either environment or hostAliases' });
    }
    const target = v.alias !== undefined || v.target !== undefined || v.args !== undefined;
    if ((v.preset !== undefined) === target)
      ctx.addIssue({
        code: 'custom',
        message: 'give either preset (and params) or alias and target (and args)',
      });
    if (target && (v.alias === undefined || v.target === undefined))
      ctx.addIssue({ code: 'custom', message: 'a target needs both alias and target' });
    if (v.params !== undefined && v.preset === undefined)
      ctx.addIssue({ code: 'custom', message: 'params go with a preset' });
  });
export type StartFanout = z.infer<typeof StartFanout>;

const TerminalSize = {
  cols: z.number().int().min(1).max(1000).optional(),
  rows: z.number().int().min(1).max(1000).optional(),
};

/** An interactive target in a terminal, or a shell on a host; `desktop` opens the user's own terminal app. */
export const StartTerminal = z.union([
  z.strictObject({
    alias: Alias,
    target: TargetName,
    args: MakeArgs.optional(),
    confirm: Confirmation.optional(),
    mode: z.enum(['browser', 'desktop']).optional(),
    ...TerminalSize,
  }),
  z.strictObject({
    hostAlias: HostAlias,
    confirm: Confirmation.optional(),
    mode: z.enum(['browser', 'desktop']).optional(),
    ...TerminalSize,
  }),
]);
export type StartTerminal = z.infer<typeof StartTerminal>;

/**
 * What a job was started with, as data: the request as it came (its confirmation left out: a re-run,
 * like a first start, asks again), kept on the job row. Re-runs start jobs from it, never from the
 * command line shown.
 */
export const StoredRequest = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('stream'), request: StartStream }),
  z.object({ kind: z.literal('ssh'), request: StartSsh }),
  z.object({ kind: z.literal('terminal'), request: StartTerminal }),
  z.object({ kind: z.literal('fanout'), request: StartFanout }),
]);
export type StoredRequest = z.infer<typeof StoredRequest>;

export const TerminalInput = z.strictObject({
  jobId: z.string().max(64),
  data: z.string().max(65_536),
});
export const TerminalResize = z.strictObject({
  jobId: z.string().max(64),
  cols: z.number().int().min(1).max(1000),
  rows: z.number().int().min(1).max(1000),
});
