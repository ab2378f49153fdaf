// The database handle: a pg Pool under Kysely, plus a bounded ping for /api/health.
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from '../logger.js';
import type { Database } from './schema.js';

// bigint (int8) columns such as output_bytes come back as strings by default; they stay well below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface Db {
  db: Kysely<Database>;
  pool: pg.Pool;
  /** Resolves true when the database answers within `ms`. */
  ping(ms?: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface PoolOptions {
  max?: number;
  /** A new connection not up after this long means the database is unreachable (default 5 s). */
  connectMs?: number;
  /** How long a query may wait for a busy pool's next free connection (default 30 s). */
  queueMs?: number;
}

export function openDb(url: string, log: Logger, opts: PoolOptions = {}): Db {
  const connectMs = opts.connectMs ?? 5_000;
  /** A connection that gives up connecting after connectMs. */
  class ConnectingClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, connectionTimeoutMillis: connectMs });
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 20,
    // Two different waits: a new connection that takes 5 s means the database is unreachable, but
    // a query queued behind busy connections (200 jobs starting at once) is only a burst: it waits
    // up to 30 s for its turn before the caller hears DB_UNAVAILABLE. pg-pool has one option for
    // both; the connection's own limit comes from the Client it makes.
    Client: ConnectingClient,
    connectionTimeoutMillis: opts.queueMs ?? 30_000,
    idleTimeoutMillis: 30_000,
    application_name: 'vm-orchestrator',
  });
  // An idle client whose connection drops emits here; without a listener it would crash the process.
  pool.on('error', (err) => log.warn({ err: err.message }, 'database connection lost'));
  // A checked-out client has no pool listener: a connection dropping mid-query would otherwise be
  // an uncaught 'error' that ends the process. The query itself fails and is retried by its caller.
  pool.on('connect', (client) =>
    client.on('error', (err) =>
      log.warn({ err: err.message }, 'database connection lost during a query'),
    ),
  );
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    db,
    pool,
    async ping(ms = 2_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>(
        (resolve) => (timer = setTimeout(() => resolve(false), ms)),
      );
      const query = pool.query('select 1').then(
        () => true,
        () => false,
      );
      try {
        return await Promise.race([query, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}
