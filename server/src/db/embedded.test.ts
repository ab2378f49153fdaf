import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { clusterDirFor, startEmbeddedPostgres } from './embedded.js';

const sha8 = (dir: string) => createHash('sha256').update(dir).digest('hex').slice(0, 8);

describe(clusterDirFor.name, () => {
  it('keeps the cluster under the data dir when the postgres user can reach it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vmo-reach-'));
    await chmod(dir, 0o755);
    expect(clusterDirFor(dir, true)).toEqual({ dir: path.join(dir, 'pg'), relocated: false });
    await rm(dir, { recursive: true });
  });

  it('moves it to /var/lib/vm-orchestrator/pg-<sha8> behind a 0700 folder, as root', async () => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'vmo-private-')), 'data');
    expect(clusterDirFor(dir, true)).toEqual({
      dir: `/var/lib/vm-orchestrator/pg-${sha8(dir)}`,
      relocated: true,
    });
    expect(clusterDirFor('/root/project/data', true).relocated).toBe(true);
  });

  it('never moves it when not root', () => {
    expect(clusterDirFor('/root/project/data', false)).toEqual({
      dir: '/root/project/data/pg',
      relocated: false,
    });
  });
});

describe(startEmbeddedPostgres.name, () => {
  it.runIf(userInfo().uid === 0)(
    'runs a relocated cluster when the data dir is private to root',
    async () => {
      const parent = await mkdtemp(path.join(tmpdir(), 'vmo-private-'));
      const dataDir = path.join(parent, 'data');
      const cluster = await startEmbeddedPostgres(dataDir, createLogger({ level: 'silent' }));
      try {
        expect(cluster.dir).toBe(`/var/lib/vm-orchestrator/pg-${sha8(dataDir)}`);
        const client = new pg.Client({ connectionString: cluster.url });
        await client.connect();
        const { rows } = await client.query<{ v: string }>(
          "select current_setting('server_version') as v",
        );
        await client.end();
        expect(rows[0]!.v).toMatch(/^16\./);
      } finally {
        await cluster.stop();
        await rm(cluster.dir, { recursive: true, force: true });
        await rm(parent, { recursive: true, force: true });
      }
    },
  );
});
