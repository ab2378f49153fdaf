// The `/jobs` events a client sends: validated with the protocol's schemas, answered by an ack.
import {
  CLIENT_EVENTS,
  type Ack,
  type ClientEvent,
  type ClientReply,
  type GlobalAction,
  type User,
} from '@vmo/protocol';
import type { z } from 'zod';
import { AppError, toAppError } from '../errors.js';
import { parseInput } from '../boundary/input.js';
import { factsOf, type Access } from '../auth/permissions.js';
import type { JobBus, JobTrouble } from '../jobs/job.bus.js';
import type { JobQueries } from '../jobs/job.queries.js';
import type { JobService } from '../jobs/job.service.js';
import type { Logger } from '../logger.js';
import { bytesOf } from '../output/bytes.js';
import { JobFollower, type FollowOutlet } from './job.follower.js';
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

type Payload<E extends ClientEvent> = z.output<(typeof CLIENT_EVENTS)[E]['payload']>;

export function registerJobHandlers(socket: JobsSocket, deps: JobHandlerDeps): void {
  const followers = new Map<string, JobFollower>();
  const budget = new SendBudget(socket, deps.sendBufferBytes ?? 8 * 1024 * 1024);
  const source = socket.data.source;
  const binary = socket.data.binary === true;

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

  /**
   * Listens to a client event: its payload parsed with the protocol's schema for it, a missing ack
   * tolerated, a thrown error answered as `{ok: false, error}`.
   */
  function on<E extends ClientEvent>(
    event: E,
    /** Asked (with the user re-read) before the payload is parsed; null: no check here. */
    action: GlobalAction | null,
    fn: (payload: Payload<E>, user: User) => Promise<ClientReply<E>>,
  ): void {
    const listener = (payload: unknown, ack?: (res: Ack<ClientReply<E>>) => void) => {
      const reply = typeof ack === 'function' ? ack : () => {};
      const run = async (user: User) =>
        fn(parseInput(CLIENT_EVENTS[event].payload, payload) as Payload<E>, user);
      // Without an action to check, the handler starts at once: keystrokes keep their order.
      (action ? need(action).then(run) : run(socket.data.user)).then(
        (data) => reply({ ok: true, ...data }),
        (err: unknown) => {
          const e = toAppError(err);
          if (e.code === 'INTERNAL') deps.log.error({ err }, 'socket handler failed');
          reply({ ok: false, error: { code: e.code, message: e.message } });
        },
      );
    };
    (socket.on as (event: string, listener: never) => void)(event, listener as never);
  }

  on('execute-command', 'job.run', async (req, user) => {
    const { jobId } = await deps.jobs.startStream(req, user, source);
    socket.emit('job:started', { job: await deps.queries.get(jobId, user) });
    return { jobId };
  });

  /** Follows under `key` until it ends, is left or the socket goes; replaces one there. */
  function follow(
    key: string,
    jobId: string,
    sources: readonly string[],
    after: ReadonlyMap<string, number>,
    outlet: FollowOutlet,
  ): void {
    followers.get(key)?.dispose();
    const follower = new JobFollower(jobId, sources, after, {
      bus: deps.bus,
      queries: deps.queries,
      budget,
      outlet,
      onEnd: () => followers.get(key) === follower && followers.delete(key),
    });
    followers.set(key, follower);
    // The ack goes out before the first replayed event (SPEC §2).
    setImmediate(() => follower.start());
  }

  const troubleOf = (jobId: string, error: JobTrouble) =>
    socket.emit('job:error', { jobId, error });

  on('join-job', 'jobs.list', async ({ jobId, afterSeq = 0 }, user) => {
    const row = await deps.queries.readableRow(jobId, user);
    follow(row.id, row.id, [row.id], new Map([[row.id, afterSeq]]), {
      // Field by field: the events the pipeline publishes carry line marks the client does not need.
      log: (_, e) => {
        const { seq, stream, ts } = e;
        if (binary) socket.emit('job:bytes', { jobId: row.id, seq, stream, data: bytesOf(e), ts });
        else socket.emit('job:log', { jobId: row.id, seq, stream, chunk: e.chunk, ts });
      },
      done: (d) => socket.emit('job:done', d),
      error: troubleOf,
      resync: (after) => socket.emit('job:resync', { jobId: row.id, afterSeq: after.get(row.id)! }),
    });
    const job = deps.queries.present(row, user);
    if (row.type !== 'group') return { job };
    return { job, children: (await deps.queries.get(row.id, user)).children ?? [] };
  });

  // A fan-out's output merged: its own lines and those of each child the caller may read.
  on('join-group', 'jobs.list', async ({ jobId, after = {} }, user) => {
    const row = await deps.queries.readableRow(jobId, user);
    if (row.type !== 'group')
      throw new AppError('VALIDATION', `job ${row.id} is not a fan-out: join it with join-job`);
    const children = (await deps.queries.childRows(row.id)).filter((c) =>
      deps.access.can(user, 'job.readOutput', factsOf(c)),
    );
    const held = new Map(Object.entries(after).map(([id, seq]) => [id.toLowerCase(), seq]));
    follow(`group:${row.id}`, row.id, [row.id, ...children.map((c) => c.id)], held, {
      log: (source, e) => {
        const { seq, stream, ts } = e;
        if (binary)
          socket.emit('group:bytes', { jobId: row.id, source, seq, stream, data: bytesOf(e), ts });
        else socket.emit('group:log', { jobId: row.id, source, seq, stream, chunk: e.chunk, ts });
      },
      done: (d) => socket.emit('group:done', d),
      error: troubleOf,
      resync: (sent) =>
        socket.emit('group:resync', { jobId: row.id, after: Object.fromEntries(sent) }),
    });
    return {
      job: deps.queries.present(row, user),
      children: children.map((c) => deps.queries.present(c, user)),
    };
  });

  const leave = (key: string) => {
    followers.get(key)?.dispose();
    followers.delete(key);
    return Promise.resolve({});
  };
  on('leave-job', null, ({ jobId }) => leave(jobId.toLowerCase()));
  on('leave-group', null, ({ jobId }) => leave(`group:${jobId.toLowerCase()}`));

  on('cancel-job', 'job.run', ({ jobId }, user) => deps.jobs.cancel(jobId, user, source));

  on('terminal:input', null, async ({ jobId, data }, user) => {
    await deps.jobs.terminalInput(jobId, data, user);
    return {};
  });

  on('terminal:resize', null, async ({ jobId, cols, rows }, user) => {
    await deps.jobs.terminalResize(jobId, cols, rows, user);
    return {};
  });

  socket.on('disconnect', () => {
    for (const f of followers.values()) f.dispose();
    followers.clear();
  });
}
