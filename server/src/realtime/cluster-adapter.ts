// cluster.enabled: Socket.io broadcasts (jobs:changed, small) reach the sockets of every instance
// through @socket.io/postgres-adapter. Job output never goes this way (SPEC §6): see ClusterService.
import { createAdapter } from '@socket.io/postgres-adapter';
import type pg from 'pg';
import type { Logger } from '../logger.js';

export function clusterAdapter(pool: pg.Pool, log: Logger): ReturnType<typeof createAdapter> {
  return createAdapter(pool, {
    // The table 0003_cluster creates, for broadcasts over NOTIFY's 8000-byte limit.
    tableName: 'socket_io_attachments',
    errorHandler: (err) => log.warn({ err: err.message }, 'socket.io postgres adapter'),
  });
}
