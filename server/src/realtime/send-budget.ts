// How much job output one socket has queued and not yet handed to its transport. A client that stops
// reading makes this grow; past the limit its followers resync instead of buffering without bound.
import type { JobsSocket } from './socket.types.js';

export class SendBudget {
  private queued = 0;
  private waiters: (() => void)[] = [];

  constructor(
    socket: JobsSocket,
    readonly limitBytes: number,
  ) {
    // engine.io says "drain" each time it hands its write buffer to a writable transport.
    socket.conn.on('drain', () => this.drained());
    socket.on('disconnect', () => this.drained());
  }

  add(bytes: number): void {
    this.queued += bytes;
  }

  get over(): boolean {
    return this.queued > this.limitBytes;
  }

  /** Resolves once the transport took what was queued (or the socket closed). */
  drain(): Promise<void> {
    if (!this.over) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private drained(): void {
    this.queued = 0;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
