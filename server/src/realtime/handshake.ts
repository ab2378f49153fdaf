// Who may open a socket on `/jobs`: the engine.io request (Host, Origin) and the namespace's
// handshake (a Bearer token, or the session cookie from an allowed Origin).
import type { IncomingMessage } from 'node:http';
import { SocketOptions } from '@vmo/protocol';
import type { AuthService } from '../auth/auth.service.js';
import type { TokensService } from '../auth/tokens.service.js';
import { bearerToken } from '../boundary/bearer.js';
import { hostAllowed, originAllowed } from '../boundary/host.js';
import type { JobsSocket } from './socket.types.js';

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

export interface HandshakeDeps {
  security: HandshakeOptions;
  auth: AuthService;
  tokens: TokensService;
  /** The client address of a handshake request (Express's trust proxy setting applied). */
  sourceOf: (req: IncomingMessage) => string | null;
}

/** A token (`auth: {token}` or the Authorization header) decides alone; else the session cookie. */
export async function authenticate(socket: JobsSocket, deps: HandshakeDeps): Promise<Error | null> {
  const req = socket.request as HandshakeRequest;
  const given: unknown = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
  const token =
    typeof given === 'string'
      ? given
      : given === undefined
        ? bearerToken(req.headers.authorization)
        : null;
  socket.data.source = deps.sourceOf(req);
  socket.data.binary = SocketOptions.safeParse(socket.handshake.auth).data?.binary === true;
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
