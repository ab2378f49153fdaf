// LISTEN/NOTIFY on one channel for the instances sharing this database: one dedicated connection
// listens (and comes back after a drop), notifications go out through the pool.
import type pg from 'pg';
import type { Logger } from '../logger.js';

/** Postgres refuses NOTIFY payloads of 8000 bytes or more. */
export const MAX_PAYLOAD_BYTES = 7900;

export interface ChannelHandlers {
  message(payload: string): void;
  /** The connection came back after a drop: notifications sent meanwhile are lost. */
  reconnected(): void;
}

export class ClusterChannel {
  private client: pg.PoolClient | null = null;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;
  private attempt = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly channel: string,
    private readonly log: Logger,
  ) {}

  /** Resolves once LISTEN is in place; rejects when the first connection fails. */
  async listen(handlers: ChannelHandlers): Promise<void> {
    await this.connect(handlers);
  }

  private async connect(handlers: ChannelHandlers): Promise<void> {
    const client = await this.pool.connect();
    if (this.stopped) return client.release();
    const lost = (err?: Error) => {
      if (this.client !== client) return;
      this.client = null;
      client.release(err ?? true);
      if (this.stopped) return;
      this.log.warn({ err: err?.message }, 'cluster: the LISTEN connection dropped; reconnecting');
      this.reconnect(handlers);
    };
    client.on('notification', (msg) => {
      if (msg.channel === this.channel && msg.payload) handlers.message(msg.payload);
    });
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.query(`LISTEN "${this.channel}"`);
    } catch (err) {
      client.release(true);
      throw err;
    }
    this.client = client;
    this.attempt = 0;
  }

  private reconnect(handlers: ChannelHandlers): void {
    const delay = Math.min(100 * 2 ** this.attempt++, 5_000);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect(handlers).then(
        () => {
          if (!this.stopped) handlers.reconnected();
        },
        (err: unknown) => {
          this.log.warn({ err: (err as Error).message }, 'cluster: LISTEN failed; retrying');
          if (!this.stopped) this.reconnect(handlers);
        },
      );
    }, delay);
    this.retry.unref();
  }

  /** Sends the payloads (each under MAX_PAYLOAD_BYTES), in order, in one statement. */
  async notify(payloads: string[]): Promise<void> {
    if (payloads.length === 0) return;
    await this.pool.query('select pg_notify($1, p) from unnest($2::text[]) as p', [
      this.channel,
      payloads,
    ]);
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    if (!client) return;
    try {
      await client.query(`UNLISTEN "${this.channel}"`);
      client.release();
    } catch {
      client.release(true);
    }
  }
}
