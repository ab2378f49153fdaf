// Which instance this is: cluster.instanceId when set; with cluster.enabled, an id created once and
// kept in the data dir (so a restart on the same data dir recognises its own jobs); else 'default'.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

export const INSTANCE_ID_FILE = 'instance-id';

export function resolveInstanceId(
  cluster: { enabled: boolean; instanceId: string | null },
  dataDir: string,
): string {
  if (cluster.instanceId) return cluster.instanceId;
  if (!cluster.enabled) return 'default';
  const file = path.join(dataDir, INSTANCE_ID_FILE);
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored) return stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = `${hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}-${randomBytes(4).toString('hex')}`;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${id}\n`, { mode: 0o644 });
  return id;
}
