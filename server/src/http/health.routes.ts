import { Router } from 'express';
import type { Health } from '@vmo/protocol';
import type { Db } from '../db/client.js';

export function healthRoutes(deps: { db: Pick<Db, 'ping'>; version: string }): Router {
  const router = Router();
  router.get('/health', async (_req, res) => {
    const up = await deps.db.ping();
    if (up) return res.json({ ok: true, db: 'up', version: deps.version } satisfies Health);
    res.status(503).json({
      ok: false,
      db: 'down',
      version: deps.version,
      error: { code: 'DB_UNAVAILABLE', message: 'the database is unreachable' },
    });
  });
  return router;
}
