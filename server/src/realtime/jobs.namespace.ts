// The `/jobs` Socket.io namespace: who may connect (session cookie or Bearer token, Host and Origin
// checks), what they get, and how they follow changes to their rights while connected.
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { Server, Socket } from 'socket.io';
import {
  JOBS_NAMESPACE,
  Role,
  type ClientToServerEvents,
  type JobRecord,
  type ServerToClientEvents,
  type User,
} from '@vmo/protocol';
import type { AuthEvents, AuthChange } from '../auth/auth.events.js';
import type { AuthService } from '../auth/auth.service.js';
import type { TokensService } from '../auth/tokens.service.js';
import { bearerToken } from '../http/middleware/authenticate.js';
import { engineHostCheck, hostAllowed, originAllowed } from '../http/middleware/host-check.js';
import { registerJobHandlers, type JobHandlerDeps } from './job.handlers.js';

export interface SocketData {
  user: User;
  /** The client's address, as the audit log records it (trust proxy applied). */
  source: string | null;
  /** Set when a personal token authenticated this socket, so revoking it disconnects the socket. */
  tokenId?: string;
  /** The session id, when the cookie authenticated it, so signing out disconnects the socket. */
  sid?: string;
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

/**
 * engine.io `allowRequest`: refuses a foreign Host, and a foreign Origin unless an
 * `Authorization: Bearer` header comes along (tokens are not ambient, so no cross-site risk).
 * A request with no Origin at all is no browser's; it passes here, and the namespace then accepts
 * it only with a token (a session cookie needs an allowed Origin).
 */
export function allowHandshake(opts: HandshakeOptions) {
  return (
    req: IncomingMessage,
    callback: (err: string | null | undefined, success: boolean) => void,
  ) => {
    if (!hostAllowed(req.headers.host, opts.publicUrl)) return callback('MISDIRECTED', false);
    const foreign = req.headers.origin !== undefined && !originAllowed(req, opts);
    if (foreign && !bearerToken(req.headers.authorization)) return callback('FORBIDDEN', false);
    callback(null, true);
  };
}

type HandshakeRequest = IncomingMessage & { session?: { userId?: string }; sessionID?: string };

export interface NamespaceDeps extends JobHandlerDeps {
  security: HandshakeOptions;
  auth: AuthService;
  tokens: TokensService;
  authEvents: AuthEvents;
  session: RequestHandler;
  version: string;
  /** The client address of a handshake request (Express's trust proxy setting applied). */
  sourceOf: (req: IncomingMessage) => string | null;
}

export function attachJobsNamespace(io: JobsServer, deps: NamespaceDeps): () => void {
  io.engine.use(engineHostCheck(deps.security));
  // The same cookie session as HTTP: express-session runs on the handshake request.
  io.engine.use(deps.session);
  const nsp = io.of(JOBS_NAMESPACE);
  nsp.use((socket, next) => {
    authenticate(socket, deps).then(
      (err) => next(err ?? undefined),
      () => next(new Error('DB_UNAVAILABLE')),
    );
  });
  nsp.on('connection', (socket: JobsSocket) => {
    const { id, username, role } = socket.data.user;
    joinAudience(socket);
    socket.emit('hello', { user: { id, username, role }, version: deps.version });
    registerJobHandlers(socket, {
      ...deps,
      currentUser: (s) =>
        s.data.tokenId ? deps.tokens.userOf(s.data.tokenId) : deps.auth.userById(s.data.user.id),
    });
  });
  // Status changes are small and go to every signed-in socket, as each one's user may see them.
  const offChanged = deps.bus.onChanged((job) => announce(nsp, job, deps));
  const offAuth = deps.authEvents.on((change) => {
    follow(nsp.sockets, change, deps.auth).catch((err: unknown) =>
      deps.log.warn({ err }, 'could not apply a change of rights to open sockets'),
    );
  });
  return () => {
    offChanged();
    offAuth();
  };
}

/** A token (`auth: {token}` or the Authorization header) decides alone; else the session cookie. */
async function authenticate(socket: JobsSocket, deps: NamespaceDeps): Promise<Error | null> {
  const req = socket.request as HandshakeRequest;
  const given: unknown = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
  const token =
    typeof given === 'string'
      ? given
      : given === undefined
        ? bearerToken(req.headers.authorization)
        : null;
  socket.data.source = deps.sourceOf(req);
  if (token !== null || given !== undefined) {
    const found = token ? await deps.tokens.authenticate(token) : null;
    if (!found) return new Error('UNAUTHENTICATED');
    socket.data.user = found.user;
    socket.data.tokenId = found.tokenId;
    return null;
  }
  const userId = req.session?.userId;
  if (!userId) return new Error('UNAUTHENTICATED');
  // The cookie is ambient: only our own pages (or allowed ones) may use it (cross-site WebSocket hijacking).
  if (!originAllowed(req, deps.security)) return new Error('FORBIDDEN');
  const user = await deps.auth.userById(userId);
  if (!user) return new Error('UNAUTHENTICATED');
  socket.data.user = user;
  socket.data.sid = req.sessionID;
  return null;
}

/** Applies a change of rights to the open sockets: disconnect, or take the user's new role. */
async function follow(
  sockets: Map<string, JobsSocket>,
  change: AuthChange,
  auth: AuthService,
): Promise<void> {
  const affected = [...sockets.values()].filter((s) =>
    change.kind === 'user'
      ? s.data.user.id === change.userId
      : change.kind === 'token'
        ? s.data.tokenId === change.tokenId
        : s.data.sid === change.sid,
  );
  if (affected.length === 0) return;
  const user = change.kind === 'user' && !change.ended ? await auth.userById(change.userId) : null;
  for (const s of affected) {
    if (user) {
      s.data.user = user;
      joinAudience(s);
    } else s.disconnect(true);
  }
}

/**
 * The rooms a socket hears `jobs:changed` in: its role's, and its user's own as that role (a
 * job's `can` differs for the user who started it). Rooms, not a loop over local sockets, so that
 * the cluster adapter carries the announcement to the sockets of every instance.
 */
function joinAudience(socket: JobsSocket): void {
  for (const room of socket.rooms) if (room.startsWith('aud:')) void socket.leave(room);
  const { id, role } = socket.data.user;
  void socket.join([`aud:${role}`, `aud:user:${id}`, `aud:${role}:${id}`]);
}

/** One `jobs:changed` per way of seeing the job: each role, and its owner as each role. */
function announce(nsp: ReturnType<JobsServer['of']>, job: JobRecord, deps: NamespaceDeps): void {
  const owner = job.requestedBy?.id;
  for (const role of Role.options) {
    const others = nsp.to(`aud:${role}`);
    (owner ? others.except(`aud:user:${owner}`) : others).emit('jobs:changed', {
      job: deps.access.present(job, { id: '', role }),
    });
    if (owner)
      nsp.to(`aud:${role}:${owner}`).emit('jobs:changed', {
        job: deps.access.present(job, { id: owner, role }),
      });
  }
}
