// Socket.io event maps for the `/jobs` namespace: event names and payloads written once.
import type { Ack } from './errors.js';
import type { Job, JobEvent, JobStatus, MakeArgs } from './jobs.js';

export const JOBS_NAMESPACE = '/jobs';

export interface ExecuteCommand {
  alias: string;
  target: string;
  args?: MakeArgs;
  hostAlias?: string;
}

export interface JobLog extends JobEvent {
  jobId: string;
}

export interface JobDone {
  jobId: string;
  status: JobStatus;
  exitCode: number | null;
  signal: string | null;
}

export interface ClientToServerEvents {
  'execute-command': (req: ExecuteCommand, ack: (res: Ack<{ jobId: string }>) => void) => void;
  'join-job': (
    req: { jobId: string; afterSeq?: number },
    ack: (res: Ack<{ job: Job }>) => void,
  ) => void;
  'leave-job': (req: { jobId: string }, ack: (res: Ack) => void) => void;
  'cancel-job': (
    req: { jobId: string },
    ack: (res: Ack<{ jobId: string; status: JobStatus }>) => void,
  ) => void;
  'terminal:input': (req: { jobId: string; data: string }, ack: (res: Ack) => void) => void;
  'terminal:resize': (
    req: { jobId: string; cols: number; rows: number },
    ack: (res: Ack) => void,
  ) => void;
}

export interface ServerToClientEvents {
  hello: (info: { user: { id: string; username: string; role: string }; version: string }) => void;
  'job:started': (payload: { job: Job }) => void;
  'job:log': (payload: JobLog) => void;
  'job:done': (payload: JobDone) => void;
  'job:error': (payload: { jobId: string; error: { code: string; message: string } }) => void;
  'job:resync': (payload: { jobId: string; afterSeq: number }) => void;
  'jobs:changed': (payload: { job: Job }) => void;
}
