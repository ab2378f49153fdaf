// One Socket.io connection to the /jobs namespace per signed-in tab. Its state drives the header
// badge; job views subscribe to job events through `socket`. Shared via setRealtime/useRealtime.
import {
  JOBS_NAMESPACE,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type SocketOptions,
} from '@vmo/protocol';
import { io, type Socket } from 'socket.io-client';
import { createContext } from 'svelte';
import { loadBackend } from '$lib/settings/backend.js';

export type JobsSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * `idle` before connect() and after disconnect(); `connecting` until the first attempt ends;
 * `reconnecting` after a drop or a failed attempt, while socket.io retries by itself; `offline`
 * when the server refused the handshake or closed the socket (expired session, database down):
 * socket.io gives up then, so only retry() (the user, or our outage timer) brings it back.
 */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface RealtimeOptions {
  /** Called when the server refuses or closes the connection, e.g. to re-check the session. */
  onRefused?: (error: Error) => void;
  /**
   * A refusal for DB_UNAVAILABLE is temporary (SPEC §3), but socket.io does not retry refusals;
   * we do, after this long.
   */
  retryAfterOutageMs?: number;
  /** For tests: how to open the socket. */
  open?: () => JobsSocket;
}

function openJobsSocket(): JobsSocket {
  const backend = loadBackend();
  // Under the backend-URL override the handshake carries the token, not this origin's cookie.
  // Binary mode: output comes as bytes (`job:bytes`), decoded here, not encoded as JSON text.
  const binary: SocketOptions = { binary: true };
  if (backend) {
    return io(backend.url + JOBS_NAMESPACE, {
      withCredentials: false,
      auth: { token: backend.token, ...binary },
      transports: ['websocket', 'polling'],
    });
  }
  return io(JOBS_NAMESPACE, {
    withCredentials: true,
    auth: binary,
    transports: ['websocket', 'polling'],
  });
}

export class Realtime {
  state = $state<ConnectionState>('idle');
  /** The last handshake or transport error, for the badge's tooltip. */
  lastError = $state<string | null>(null);

  // Reactive, so views that follow a job (JobStream) attach as soon as the layout opens it.
  #socket = $state.raw<JobsSocket | null>(null);
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #options: Required<RealtimeOptions>;

  constructor(options: RealtimeOptions = {}) {
    this.#options = {
      onRefused: () => {},
      retryAfterOutageMs: 5000,
      open: openJobsSocket,
      ...options,
    };
  }

  get socket(): JobsSocket | null {
    return this.#socket;
  }

  /** Opens the connection; the returned dispose() closes it (fits onMount's cleanup). */
  connect(): () => void {
    if (!this.#socket) this.#attach(this.#options.open());
    return () => this.disconnect();
  }

  /** After `offline`, try again (the badge's Retry button, or the outage timer). */
  retry(): void {
    clearTimeout(this.#retryTimer);
    if (!this.#socket || this.#socket.connected) return;
    this.state = 'connecting';
    this.#socket.connect();
  }

  disconnect(): void {
    clearTimeout(this.#retryTimer);
    const socket = this.#socket;
    this.#socket = null;
    socket?.removeAllListeners();
    socket?.disconnect();
    this.state = 'idle';
    this.lastError = null;
  }

  #attach(socket: JobsSocket): void {
    this.#socket = socket;
    this.state = 'connecting';
    socket.on('connect', () => {
      this.state = 'connected';
      this.lastError = null;
    });
    // socket.active tells whether socket.io will retry on its own (a drop) or not (refused).
    socket.on('disconnect', (reason) => {
      this.lastError = reason;
      this.state = socket.active ? 'reconnecting' : 'offline';
      // The server closed it on purpose (e.g. signed out in another tab): let the owner check.
      if (!socket.active) this.#options.onRefused(new Error(reason));
    });
    socket.on('connect_error', (error) => {
      this.lastError = error.message;
      // A failed attempt means we are not connected, even if we never were: say it is retrying.
      if (socket.active) {
        this.state = 'reconnecting';
        return;
      }
      this.state = 'offline';
      if (error.message === 'DB_UNAVAILABLE') {
        this.#retryTimer = setTimeout(() => this.retry(), this.#options.retryAfterOutageMs);
      }
      this.#options.onRefused(error);
    });
  }
}

const [useRealtime, setRealtime] = createContext<Realtime>();

export { setRealtime, useRealtime };
