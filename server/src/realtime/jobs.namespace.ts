// The `/jobs` Socket.io namespace: who may connect (session cookie, Host and Origin checks) and what they get.
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { Server, Socket } from 'socket.io';
import {
  JOBS_NAMESPACE,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type User,
} from '@vmo/protocol';
import type { AuthService } from '../auth/auth.service.js';
import { hostAllowed, originAllowed } from '../http/middleware/host-check.js';
import { registerJobHandlers, type JobHandlerDeps } from './job.handlers.js';

export interface SocketData {
  user: User;
}

export type JobsServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;
export type JobsSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

export interface HandshakeOptions {
  publicUrl: string | null;
  allowedOrigins: string[];
}

/** engine.io `allowRequest`: refuses a foreign Host or Origin before any session is read. */
export function allowHandshake(opts: HandshakeOptions) {
  return (
    req: IncomingMessage,
    callback: (err: string | null | undefined, success: boolean) => void,
  ) => {
    if (!hostAllowed(req.headers.host, opts.publicUrl)) return callback('MISDIRECTED', false);
    if (!originAllowed(req, opts)) return callback('FORBIDDEN', false);
    callback(null, true);
  };
}

export function attachJobsNamespace(
  io: JobsServer,
  deps: JobHandlerDeps & { auth: AuthService; session: RequestHandler; version: string },
): () => void {
  // The same cookie session as HTTP: express-session runs on the handshake request.
  io.engine.use(deps.session);
  const nsp = io.of(JOBS_NAMESPACE);
  nsp.use((socket, next) => {
    const userId = (socket.request as IncomingMessage & { session?: { userId?: string } }).session
      ?.userId;
    if (!userId) return next(new Error('UNAUTHENTICATED'));
    deps.auth.userById(userId).then(
      (user) => {
        if (!user) return next(new Error('UNAUTHENTICATED'));
        socket.data.user = user;
        next();
      },
      () => next(new Error('DB_UNAVAILABLE')),
    );
  });
  nsp.on('connection', (socket: JobsSocket) => {
    const { id, username, role } = socket.data.user;
    socket.emit('hello', { user: { id, username, role }, version: deps.version });
    registerJobHandlers(socket, deps);
  });
  // Status changes are small and go to every signed-in socket.
  return deps.bus.onChanged((job) => nsp.emit('jobs:changed', { job }));
}
