// Jobs over REST (SPEC §2): start, list, read, cancel and re-run. Live output comes over the socket.
import type {
  CanceledJob,
  Confirmation,
  JobPage,
  JobStatus,
  JobType,
  JobWithChildren,
  MakeArgs,
  RerunJob,
  StartedJob,
  TailCursor,
  TailPage,
} from '@vmo/protocol';
import { noteStartedHere } from '../state/job-ends.js';
import { ROUTES } from './routes.js';
import { call, requestBlob } from './client.js';
import { jobLogPath } from './job-log.js';

/** The history filters the UI offers; empty strings mean "any". */
export interface JobFilter {
  status?: JobStatus | '';
  type?: JobType | '';
  project?: string;
  environment?: string;
  /** A VM's id, `<environment>/<name>`. */
  vm?: string;
  host?: string;
  /** `me`, or a username. */
  user?: string;
  q?: string;
}

export function fetchJobs(
  filter: JobFilter,
  page: { before?: string | null; limit?: number } = {},
): Promise<JobPage> {
  const query = { ...filter, before: page.before, limit: page.limit ?? 50 };
  return call(ROUTES.jobs.listJobs, { query });
}

export function fetchJob(id: string): Promise<JobWithChildren> {
  return call(ROUTES.jobs.getJob, { params: { id } });
}

/** What a job's page asks for before its code has loaded: the job, then its log's end if it has one. */
export interface JobPageStart {
  job: Promise<JobWithChildren>;
  /** Null when the job's log does not open at its end (a terminal, a fan-out, output not readable). */
  tail: Promise<TailPage | null>;
}

export function startJobPage(
  id: string,
  opensAtItsEnd: (job: JobWithChildren) => boolean,
  openBytes: number,
): JobPageStart {
  const job = fetchJob(id);
  const tail = job.then((j) => (opensAtItsEnd(j) ? fetchTail(id, null, openBytes) : null));
  // Read (and their errors shown) by the page; never an unhandled rejection meanwhile.
  job.catch(() => {});
  tail.catch(() => {});
  return { job, tail };
}

/** A job page's requests made as the app starts, when it starts on that page (hooks.client.ts). */
let early: { id: string; start: JobPageStart } | null = null;

/** Asks for job `id` and its log's end at once, beside the route's code loading (see startJobPage). */
export function startJobPageEarly(
  id: string,
  opensAtItsEnd: (job: JobWithChildren) => boolean,
  openBytes: number,
): void {
  early = { id, start: startJobPage(id, opensAtItsEnd, openBytes) };
}

/**
 * The requests of job `id`'s page: those made early for it, once, else new ones. An early request
 * that failed (made before signing in, say) is made again.
 */
export function startJobPageOnce(
  id: string,
  opensAtItsEnd: (job: JobWithChildren) => boolean,
  openBytes: number,
): JobPageStart {
  const asked = early?.id === id ? early.start : null;
  early = null;
  if (!asked) return startJobPage(id, opensAtItsEnd, openBytes);
  let again: JobPageStart | null = null;
  const retry = () => (again ??= startJobPage(id, opensAtItsEnd, openBytes));
  const job = asked.job.catch(() => retry().job);
  const tail = asked.tail.catch(() => retry().tail);
  job.catch(() => {});
  tail.catch(() => {});
  return { job, tail };
}

/** A page of output from its end backwards: what comes before `at` (the output's end when null). */
export function fetchTail(id: string, at: TailCursor | null, bytes: number): Promise<TailPage> {
  return call(ROUTES.jobs.jobTail, {
    params: { id },
    query: { bytes, before: at?.before, cut: at?.cut },
  });
}

/** The whole output as a file, for the download under the backend-URL override (see job-log.ts). */
export function fetchJobLog(id: string): Promise<Blob> {
  return requestBlob(jobLogPath(id));
}

export interface RunRequest {
  alias: string;
  target: string;
  args?: MakeArgs;
  confirm?: Confirmation;
  /** One of the project's remote hosts (or `vm:<env>/<name>`): there, over ssh. */
  hostAlias?: string;
}

export function startStream(req: RunRequest): Promise<StartedJob> {
  return call(ROUTES.jobs.startStream, { body: req }).then(noteStartedHere);
}

export function startTerminal(
  req: RunRequest & { cols?: number; rows?: number },
): Promise<StartedJob> {
  return call(ROUTES.jobs.startTerminal, { body: req }).then(noteStartedHere);
}

export function cancelJob(jobId: string): Promise<CanceledJob> {
  return call(ROUTES.jobs.cancelJob, { body: { jobId } });
}

/** The job's request again: `args` replace its arguments; `confirm` where it must be confirmed. */
export function rerunJob(jobId: string, again: RerunJob = {}): Promise<StartedJob> {
  return call(ROUTES.jobs.rerunJob, { params: { id: jobId }, body: again }).then(noteStartedHere);
}

export interface PresetRequest {
  preset: string;
  params?: Record<string, string>;
  confirm?: Confirmation;
}

/** A preset on one host (`ssh-logs`). */
export function startPreset(req: PresetRequest & { hostAlias: string }): Promise<StartedJob> {
  return call(ROUTES.jobs.startSsh, { body: req }).then(noteStartedHere);
}

/**
 * A preset or a project's target on every VM of an environment, or on the hosts listed: one
 * group job with a child per host.
 */
export function startFanout(
  req: (PresetRequest | RunRequest) & ({ environment: string } | { hostAliases: string[] }),
): Promise<StartedJob> {
  return call(ROUTES.jobs.startFanout, { body: req }).then(noteStartedHere);
}

/** A login shell on a host, in the browser's terminal. */
export function startHostTerminal(req: {
  hostAlias: string;
  confirm?: Confirmation;
  cols?: number;
  rows?: number;
}): Promise<StartedJob> {
  return call(ROUTES.jobs.startTerminal, { body: req }).then(noteStartedHere);
}
