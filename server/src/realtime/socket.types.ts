// The `/jobs` namespace's socket types: the events both ways (from the protocol) and what the
// server keeps on each socket.
import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents, User } from '@vmo/protocol';

export interface SocketData {
  user: User;
  /** The client's address, as the audit log records it (trust proxy applied). */
  source: string | null;
  /** Set when a personal token authenticated this socket, so revoking it disconnects the socket. */
  tokenId?: string;
  /** The session id, when the cookie authenticated it, so signing out disconnects the socket. */
  sid?: string;
  /** Output goes as bytes (`job:bytes`, `group:bytes`): the client asked for binary mode. */
  binary?: boolean;
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
