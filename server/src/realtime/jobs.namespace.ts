// The `/jobs` Socket.io namespace: who may connect (session cookie or Bearer token, Host and Origin
// checks), what they get, and how they follow changes to their rights while connected.
import type { RequestHandler } from 'express';
import { JOBS_NAMESPACE, Role, type JobRecord } from '@vmo/protocol';
import type { AuthEvents, AuthChange } from '../auth/auth.events.js';
import type { AuthService } from '../auth/auth.service.js';
import { engineHostCheck } from '../boundary/host.js';
import { authenticate, type HandshakeDeps } from './handshake.js';
import { registerJobHandlers, type JobHandlerDeps } from './job.handlers.js';
import type { JobsServer, JobsSocket } from './socket.types.js';

export interface NamespaceDeps extends JobHandlerDeps, HandshakeDeps {
  authEvents: AuthEvents;
  session: RequestHandler;
  version: string;
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
