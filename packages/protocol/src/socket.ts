// Socket.io events of the `/jobs` namespace: each event's payload a zod schema, its TypeScript type
// inferred from it. The server parses what a client sends with CLIENT_EVENTS; the event maps both
// sides type their sockets with are derived from the same table.
import { z } from 'zod';
import { Role } from './auth.js';
import { ErrorCode, type Ack } from './errors.js';
import {
  CancelJob,
  CanceledJob,
  Job,
  JobEvent,
  JobStatus,
  JoinGroup,
  JoinJob,
  StartStream,
  TerminalInput,
  TerminalResize,
} from './jobs.js';

/** A target started over the socket; no `force`: an interactive target needs a terminal job. */
export const ExecuteCommand = StartStream.omit({ force: true });
export type ExecuteCommand = z.infer<typeof ExecuteCommand>;

export const LeaveJob = z.strictObject({ jobId: z.string().max(64) });
export type LeaveJob = z.infer<typeof LeaveJob>;

/** Each event a client sends: the schema its payload is parsed with, and what its ack carries. */
export const CLIENT_EVENTS = {
  'execute-command': { payload: ExecuteCommand, reply: z.object({ jobId: z.string() }) },
  // A group's children come along, read after the listeners were in place: none is missed.
  'join-job': {
    payload: JoinJob,
    reply: z.object({ job: Job, children: z.array(Job).optional() }),
  },
  'leave-job': { payload: LeaveJob, reply: z.object({}) },
  // A group's output merged with its children's, in the order it was committed.
  'join-group': {
    payload: JoinGroup,
    reply: z.object({ job: Job, children: z.array(Job).optional() }),
  },
  'leave-group': { payload: LeaveJob, reply: z.object({}) },
  'cancel-job': { payload: CancelJob, reply: CanceledJob },
  'terminal:input': { payload: TerminalInput, reply: z.object({}) },
  'terminal:resize': { payload: TerminalResize, reply: z.object({}) },
} as const;
export type ClientEvent = keyof typeof CLIENT_EVENTS;

/** The first message on a connection: who the server took the caller for. */
export const Hello = z.object({
  user: z.object({ id: z.string(), username: z.string(), role: Role }),
  version: z.string(),
});
export type Hello = z.infer<typeof Hello>;

export const JobLog = JobEvent.extend({ jobId: z.string() });
export type JobLog = z.infer<typeof JobLog>;

export const JobDone = z.object({
  jobId: z.string(),
  status: JobStatus,
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
});
export type JobDone = z.infer<typeof JobDone>;

/** Something went wrong with a followed job (its output cannot be stored, say). */
export const JobErrorMessage = z.object({
  jobId: z.string(),
  error: z.object({ code: ErrorCode, message: z.string() }),
});
export type JobErrorMessage = z.infer<typeof JobErrorMessage>;

/** The server dropped output for a slow socket: fetch from `afterSeq` again. */
export const JobResync = z.object({ jobId: z.string(), afterSeq: z.number().int().nonnegative() });
export type JobResync = z.infer<typeof JobResync>;

/** An event of a group's merged output: `source` is the job that wrote it (a child, or the group). */
export const GroupLog = JobLog.extend({ source: z.string() });
export type GroupLog = z.infer<typeof GroupLog>;

/**
 * Binary mode, asked for in the handshake (`auth: {binary: true}`): output comes as `job:bytes` and
 * `group:bytes` instead of `job:log` and `group:log`, each event's bytes in place of its text. An
 * event's bytes decode on their own (UTF-8 as the WHATWG decoder reads it, a BOM kept:
 * `new TextDecoder('utf-8', {ignoreBOM: true})`) to the `chunk` the text events carry; socket.io
 * sends them as binary frames (an ArrayBuffer in a browser, a Buffer in Node).
 */
const Bytes = z.custom<Uint8Array | ArrayBuffer>(
  (v) => v instanceof Uint8Array || v instanceof ArrayBuffer,
  'bytes',
);
export const JobBytes = JobLog.omit({ chunk: true }).extend({ data: Bytes });
export type JobBytes = z.infer<typeof JobBytes>;
export const GroupBytes = GroupLog.omit({ chunk: true }).extend({ data: Bytes });
export type GroupBytes = z.infer<typeof GroupBytes>;

/** What a client may ask for in the handshake's `auth`, besides its token. */
export const SocketOptions = z.object({ binary: z.boolean().optional() });
export type SocketOptions = z.infer<typeof SocketOptions>;

/** The server dropped a group's merged output for a slow socket: rejoin with `after`. */
export const GroupResync = z.object({
  jobId: z.string(),
  after: z.record(z.string(), z.number().int().nonnegative()),
});
export type GroupResync = z.infer<typeof GroupResync>;

export const JobChanged = z.object({ job: Job });
export type JobChanged = z.infer<typeof JobChanged>;

/** Each event the server sends, and its payload's schema. */
export const SERVER_EVENTS = {
  hello: Hello,
  'job:started': JobChanged,
  'job:log': JobLog,
  'job:done': JobDone,
  'job:error': JobErrorMessage,
  'job:resync': JobResync,
  'group:log': GroupLog,
  'job:bytes': JobBytes,
  'group:bytes': GroupBytes,
  'group:done': JobDone,
  'group:resync': GroupResync,
  'jobs:changed': JobChanged,
} as const;

type ClientEvents = typeof CLIENT_EVENTS;
/** What an ack carries besides `ok`: nothing for the events that only say it went well. */
export type ClientReply<E extends ClientEvent> =
  z.output<ClientEvents[E]['reply']> extends Record<string, never>
    ? object
    : z.output<ClientEvents[E]['reply']>;
export type ClientToServerEvents = {
  [E in ClientEvent]: (
    req: z.input<ClientEvents[E]['payload']>,
    ack: (res: Ack<ClientReply<E>>) => void,
  ) => void;
};

export type ServerToClientEvents = {
  [E in keyof typeof SERVER_EVENTS]: (payload: z.output<(typeof SERVER_EVENTS)[E]>) => void;
};
