// GET /api/health: whether the server and its database are up (public; ROUTE_TABLE.meta.health).
import { ROUTE_TABLE, type Health } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { Db } from '../db/client.js';
import { ANSWERED, mount } from './mount.js';

export function healthRoutes(deps: { db: Pick<Db, 'ping'>; version: string; access: Access }) {
  const { health } = ROUTE_TABLE.meta;
  return mount(
    { health },
    {
      health: async (_input, _req, res): Promise<Health | typeof ANSWERED> => {
        const up = await deps.db.ping();
        if (up) return { ok: true, db: 'up', version: deps.version };
        res.status(503).json({
          ok: false,
          db: 'down',
          version: deps.version,
          error: { code: 'DB_UNAVAILABLE', message: 'the database is unreachable' },
        });
        return ANSWERED;
      },
    },
    { access: deps.access, prefix: '/api' },
  );
}
