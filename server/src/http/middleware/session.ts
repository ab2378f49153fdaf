// Cookie sessions stored in Postgres (express-session + connect-pg-simple), shared by HTTP and the socket handshake.
import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import type { RequestHandler } from 'express';
import type pg from 'pg';

export const SESSION_COOKIE = 'vmo.sid';
const THIRTY_DAYS_MS = 30 * 24 * 60 * 60 * 1000;

/** A session's expiry in the database is moved at most this often (the cookie's on every response). */
const TOUCH_EVERY_MS = 60_000;

export function sessionMiddleware(opts: { pool: pg.Pool; secret: string }): RequestHandler {
  const PgStore = connectPgSimple(session);
  /**
   * `rolling` touches the session after every request: an UPDATE per API call, which a burst of 200
   * job starts queues behind the job writes. Once a minute per session is plenty for a 30-day expiry.
   */
  class ThrottledStore extends PgStore {
    readonly #touched = new Map<string, number>();

    override touch(sid: string, sess: session.SessionData, fn?: (err?: unknown) => void): void {
      const now = Date.now();
      const last = this.#touched.get(sid);
      if (last !== undefined && now - last < TOUCH_EVERY_MS) return void fn?.();
      if (this.#touched.size >= 10_000) this.#touched.clear(); // forgetting only costs a touch
      this.#touched.set(sid, now);
      super.touch(sid, sess, (err?: unknown) => {
        if (err) this.#touched.delete(sid);
        fn?.(err);
      });
    }

    override destroy(sid: string, fn?: (err?: unknown) => void): void {
      this.#touched.delete(sid);
      super.destroy(sid, fn);
    }
  }
  return session({
    name: SESSION_COOKIE,
    secret: opts.secret,
    store: new ThrottledStore({
      pool: opts.pool,
      tableName: 'sessions',
      createTableIfMissing: false,
      pruneSessionInterval: 15 * 60,
    }),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    // 'auto': Secure over https (or a trusted proxy's https), so a local http sign-in still works.
    cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: THIRTY_DAYS_MS },
  });
}
