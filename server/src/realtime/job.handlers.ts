// The `/jobs` events a client sends: validated with the protocol's schemas, answered by an ack.
import {
  CancelJob,
  JoinJob,
  TerminalInput,
  TerminalResize,
  StartStream,
  type Ack,
  type GlobalAction,
  type User,
} from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import { AppError, toAppError } from '../errors.js';
import { parseInput } from '../boundary/input.js';
import type { JobBus } from '../jobs/job.bus.js';
import type { JobQueries } from '../jobs/job.queries.js';
import type { JobService } from '../jobs/job.service.js';
import type { Logger } from '../logger.js';
import { JobFollower } from './job.follower.js';
import type { JobsSocket } from './socket.types.js';
import { SendBudget } from './send-budget.js';

export interface JobHandlerDeps {
  jobs: JobService;
  queries: JobQueries;
  bus: JobBus;
  log: Logger;
  access: Access;
  /** Job output a socket may have queued before its followers resync (default 8 MiB). */
  sendBufferBytes?: number;
  /**
   * The socket's user as the database has it now (null: disabled, deleted or token revoked).
   * In-process changes reach sockets at once (auth.events); this also covers changes made on
   * another instance, before anything is started or stopped.
   */
  currentUser?: (socket: JobsSocket) => Promise<User | null>;
}

type Reply<T extends object> = (res: Ack<T>) => void;

const parse = parseInput;

export function registerJobHandlers(socket: JobsSocket, deps: JobHandlerDeps): void {
  const followers = new Map<string, JobFollower>();
  const budget = new SendBudget(socket, deps.sendBufferBytes ?? 8 * 1024 * 1024);
  const source = socket.data.source;

  /** The caller, re-read, when `can()` lets them do `action`. */
  const need = async (action: GlobalAction): Promise<User> => {
    const user = deps.currentUser ? await deps.currentUser(socket) : socket.data.user;
    if (!user) {
      // After the refusal's ack has gone out.
      setImmediate(() => socket.disconnect(true));
      throw new AppError('UNAUTHENTICATED', 'sign in again');
    }
    socket.data.user = user;
    deps.access.assert(user, action);
    return user;
  };

  /** Wraps a handler: a missing ack is tolerated, a thrown error becomes `{ok: false, error}`. */
  function handle<T extends object>(fn: (payload: unknown) => Promise<T>) {
    return (payload: unknown, ack?: Reply<T>) => {
      const reply: Reply<T> = typeof ack === 'function' ? ack : () => {};
      fn(payload).then(
        (data) => reply({ ok: true, ...data }),
        (err: unknown) => {
          const e = toAppError(err);
          if (e.code === 'INTERNAL') deps.log.error({ err }, 'socket handler failed');
          reply({ ok: false, error: { code: e.code, message: e.message } });
        },
      );
    };
  }

  socket.on(
    'execute-command',
    handle(async (payload) => {
      const user = await need('job.run');
      // Interactive targets need a terminal job; the socket does not offer `force`.
      const req = parse(StartStream.omit({ force: true }), payload);
      const { jobId } = await deps.jobs.startStream(req, user, source);
      socket.emit('job:started', { job: await deps.queries.get(jobId, user) });
      return { jobId };
    }),
  );

  socket.on(
    'join-job',
    handle(async (payload) => {
      const user = await need('jobs.list');
      const { jobId, afterSeq = 0 } = parse(JoinJob, payload);
      const row = await deps.queries.readableRow(jobId, user);
      followers.get(row.id)?.dispose();
      const follower = new JobFollower(socket, row.id, afterSeq, {
        bus: deps.bus,
        queries: deps.queries,
        budget,
        onEnd: () => followers.get(row.id) === follower && followers.delete(row.id),
      });
      followers.set(row.id, follower);
      // The ack goes out before the first replayed event (SPEC §2).
      setImmediate(() => follower.start());
      return { job: deps.queries.present(row, user) };
    }),
  );

  socket.on(
    'leave-job',
    handle(async (payload) => {
      const { jobId } = parse(CancelJob, payload);
      const key = jobId.toLowerCase();
      followers.get(key)?.dispose();
      followers.delete(key);
      return Promise.resolve({});
    }),
  );

  socket.on(
    'cancel-job',
    handle(async (payload) => {
      const user = await need('job.run');
      const { jobId } = parse(CancelJob, payload);
      return deps.jobs.cancel(jobId, user, source);
    }),
  );

  socket.on(
    'terminal:input',
    handle(async (payload) => {
      const { jobId, data } = parse(TerminalInput, payload);
      await deps.jobs.terminalInput(jobId, data, socket.data.user);
      return {};
    }),
  );

  socket.on(
    'terminal:resize',
    handle(async (payload) => {
      const { jobId, cols, rows } = parse(TerminalResize, payload);
      await deps.jobs.terminalResize(jobId, cols, rows, socket.data.user);
      return {};
    }),
  );

  socket.on('disconnect', () => {
    for (const f of followers.values()) f.dispose();
    followers.clear();
  });
}
