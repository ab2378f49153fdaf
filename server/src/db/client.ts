// The database handle: a pg Pool under Kysely, plus a bounded ping for /api/health.
import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
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
  /**
   * A query with no answer after this long is given up and its connection closed (default 30 s,
   * db.queryTimeoutSeconds): a database that stopped answering (packets dropped, no reset) is
   * then an outage like any other, instead of a wait for ever. The server stops the statement
   * after the same time (statement_timeout).
   */
  queryMs?: number;
}

/** The error a query gets when its connection gave no answer in time. */
export class QueryTimeout extends Error {
  readonly code = 'ETIMEDOUT'; // errors.ts: the database is unavailable
  constructor(ms: number) {
    super(`the database gave no answer within ${ms / 1000} s; its connection was closed`);
  }
}

/**
 * Put first in a hot statement whose text does not vary (`sql\`${PREPARED} select …\``): each
 * connection then parses and plans it once, as a named prepared statement, and only binds and runs
 * it after that. For the output commit this cut Postgres's CPU per statement about threefold.
 */
const PREPARED_MARK = '/* prepared */ ';
export const PREPARED = sql.raw(PREPARED_MARK);
/** The statement's name: its text's hash, so two texts never share one. */
const preparedName = (text: string) =>
  'vmo_' + createHash('sha1').update(text).digest('hex').slice(0, 20);

type Callback = (err: Error | null, res?: unknown) => void;
/** A query may ask for a shorter bound than the pool's (the health ping). */
export interface BoundedQuery extends pg.QueryConfig {
  timeoutMs?: number;
}

export function openDb(url: string, log: Logger, opts: PoolOptions = {}): Db {
  const connectMs = opts.connectMs ?? 5_000;
  const queryMs = opts.queryMs ?? 30_000;
  /**
   * A connection that gives up connecting after connectMs, and closes itself when a query waits
   * longer than queryMs. (pg's own query_timeout fails the query but keeps the connection, whose
   * next query then waits behind the unanswered one.) TCP keepalive finds a peer that is gone
   * while the connection is idle.
   */
  class BoundedClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({
        ...config,
        connectionTimeoutMillis: connectMs,
        statement_timeout: queryMs,
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
      });
    }

    // pg's overloads: (text | config, values?, callback?) with a promise when there is no
    // callback; a Submittable (a cursor) manages its own reads and is passed through.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    override query(...given: any[]): any {
      const args = given as unknown[];
      const [config] = args as [string | BoundedQuery | pg.Submittable];
      if (typeof config === 'object' && 'submit' in config) return super.query(config);
      if (typeof config === 'string' && config.startsWith(PREPARED_MARK)) {
        // (text, values, callback?) as Kysely calls it → one config with the statement's name.
        const values = Array.isArray(args[1]) ? (args[1] as unknown[]) : undefined;
        args.splice(0, values ? 2 : 1, { name: preparedName(config), text: config, values });
      }
      const ms = (typeof config === 'object' && config.timeoutMs) || queryMs;
      const timer = setTimeout(() => {
        // Destroying the socket fails every query on it with this error; the pool drops the client.
        (
          this as unknown as { connection: { stream: { destroy(e: Error): void } } }
        ).connection.stream.destroy(new QueryTimeout(ms));
      }, ms);
      const last = args.length - 1;
      if (typeof args[last] === 'function') {
        const callback = args[last] as Callback;
        args[last] = (err: Error | null, res?: unknown) => {
          clearTimeout(timer);
          callback(err, res);
        };
        return (super.query as (...a: unknown[]) => unknown)(...args);
      }
      return (super.query as (...a: unknown[]) => Promise<unknown>)(...args).finally(() =>
        clearTimeout(timer),
      );
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 20,
    // Two different waits: a new connection that takes 5 s means the database is unreachable, but
    // a query queued behind busy connections (200 jobs starting at once) is only a burst: it waits
    // up to 30 s for its turn before the caller hears DB_UNAVAILABLE. pg-pool has one option for
    // both; the connection's own limit comes from the Client it makes.
    Client: BoundedClient,
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
  // Health checks from a load balancer at any rate share one ping at a time.
  let pinging: Promise<boolean> | null = null;
  return {
    db,
    pool,
    ping(ms = 2_000) {
      pinging ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<boolean>(
          (resolve) => (timer = setTimeout(() => resolve(false), ms)),
        );
        // Bounded too, so a ping on a connection that hangs frees it rather than holding it.
        const query = pool.query({ text: 'select 1', timeoutMs: ms } as BoundedQuery).then(
          () => true,
          () => false,
        );
        try {
          return await Promise.race([query, timeout]);
        } finally {
          clearTimeout(timer);
          pinging = null;
        }
      })();
      return pinging;
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}
