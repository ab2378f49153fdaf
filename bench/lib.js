// Shared by the benchmarks: a server of our own on a temp data dir, sign-in, starting jobs,
// percentiles, RSS and CPU. Following jobs over the socket: jobs-client.js.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/vm-orchestrator.js', import.meta.url));
const modules = fileURLToPath(new URL('../server/dist/main.js', import.meta.url));

/**
 * Node's arguments that run the server, before its own: the command (`bundle`, what ships) or the
 * same server from tsc's modules (`modules`). The benchmarks take BENCH_SERVER=modules.
 */
export function serverEntry(build = process.env.BENCH_SERVER ?? 'bundle') {
  if (build === 'bundle') return [bin];
  if (build !== 'modules') throw new Error(`BENCH_SERVER: bundle or modules, not ${build}`);
  return [modules]; // main.js runs main() when it is the script Node was given
}
export const projectDir = fileURLToPath(new URL('./project', import.meta.url));

/** Debian's Chromium, and the flags it runs headless with here (never a downloaded browser). */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Epoch milliseconds with sub-millisecond resolution, as the `tick` target prints them. */
export const nowMs = () => performance.timeOrigin + performance.now();

/** Servers still running, stopped on Ctrl-C so no embedded Postgres is left behind. */
const live = new Set();
let hooked = false;
function hookSignals() {
  if (hooked) return;
  hooked = true;
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      console.error(`\n${sig}: stopping ${live.size} server(s)`);
      Promise.allSettled([...live].map((s) => s.stop())).then(() => process.exit(130));
    });
  }
}

/**
 * Starts the server (`bin/vm-orchestrator.js`, see serverEntry) on port 0 with a fresh data dir and embedded Postgres, the bench
 * project as its only project (`extraConfig`: more top-level YAML for the config file;
 * `databaseUrl`: a database of the caller's instead of the embedded one). Resolves once it logged that it is ready and its catalog has the targets.
 */
export async function startServer({
  maxConcurrent = 512,
  project = projectDir,
  extraConfig = '',
  databaseUrl = '',
} = {}) {
  hookSignals();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'vmo-bench-'));
  await chmod(dataDir, 0o755); // as root the cluster runs as `postgres`, which must reach <data-dir>/pg
  const config = path.join(dataDir, 'vmo.yaml');
  // BENCH_SEARCH=off: no search indexing (the live-output benchmarks compare with and without it).
  const search = process.env.BENCH_SEARCH === 'off' ? 'search:\n  enabled: false\n' : '';
  await writeFile(
    config,
    `projects:\n  - alias: bench\n    dir: ${JSON.stringify(project)}\njobs:\n  maxConcurrent: ${maxConcurrent}\n` +
      search +
      extraConfig,
  );
  const env = { ...process.env };
  // A `make bench` run must not hand its jobserver and flags down to the jobs' make.
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES', 'GNUMAKEFLAGS'])
    delete env[k];
  for (const k of Object.keys(env)) if (k.startsWith('VMO_')) delete env[k];
  Object.assign(env, {
    LOG_JSON: '1',
    DATABASE_URL: databaseUrl,
    VMO_ADMIN_PASSWORD: 'bench',
    PATH: `${path.dirname(process.execPath)}:${env.PATH ?? ''}`,
  });
  const t0 = performance.now();
  const proc = spawn(
    process.execPath,
    [
      // BENCH_CPU_PROF=<dir>: the server writes a V8 CPU profile there when it stops.
      ...(process.env.BENCH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
        : []),
      // BENCH_HEAP=<dir>: SIGUSR2 makes the server write a heap snapshot there (bench/heap.js).
      ...(process.env.BENCH_HEAP
        ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${process.env.BENCH_HEAP}`]
        : []),
      ...serverEntry(),
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--config',
      config,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  let tail = '';
  const problems = []; // warn/error lines the server logged during the run
  let ready = null;
  let partial = '';
  const keep = (text) => {
    tail = (tail + text).slice(-16_384);
  };
  proc.stderr.on('data', (d) => keep(String(d)));
  proc.stdout.on('data', (d) => {
    const text = String(d);
    keep(text);
    const lines = (partial + text).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        continue;
      }
      if (rec.msg === 'vm-orchestrator is ready' && rec.url) ready?.(rec.url);
      else if (rec.level >= 40 && problems.length < 50) problems.push(rec);
    }
  });

  let stopped = null;
  const server = {
    proc,
    pid: proc.pid,
    dataDir,
    url: '',
    problems,
    startMs: 0,
    /** SIGTERM, wait for the exit (it stops its Postgres), remove the data dir. Idempotent. */
    stop() {
      stopped ??= (async () => {
        live.delete(server);
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill('SIGTERM');
          const t = await Promise.race([exited, sleep(30_000).then(() => null)]);
          if (!t) {
            proc.kill('SIGKILL');
            await exited;
            killPostmaster(dataDir);
          }
        }
        await rm(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
  live.add(server);
  try {
    server.url = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('server not ready in 90 s:\n' + tail)),
        90_000,
      );
      ready = (url) => {
        clearTimeout(timer);
        resolve(url);
      };
      exited.then(({ code, signal }) =>
        reject(new Error(`server exited (${code ?? signal}) before ready:\n${tail}`)),
      );
    });
    server.startMs = performance.now() - t0;
    server.cookie = await login(server.url);
    // The catalog is scanned just after ready: wait until it lists our targets.
    for (let i = 0; ; i++) {
      const res = await api(server, 'GET', '/api/projects/bench/targets');
      if (res.status === 200) {
        const names = (await res.json()).map((t) => t.name);
        if (['tick', 'blast', 'steady'].every((n) => names.includes(n))) break;
      }
      if (i > 200) throw new Error(`the bench project's targets never showed up (${res.status})`);
      await sleep(50);
    }
    return server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** The pid of a data dir's embedded Postgres, from its pid file (throws when there is none). */
export const postmasterPid = (dataDir) =>
  Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

/** After a SIGKILL of the server, its embedded Postgres would stay: stop it by its pid file. */
function killPostmaster(dataDir) {
  try {
    const pid = postmasterPid(dataDir);
    if (pid > 0) process.kill(pid, 'SIGTERM');
  } catch {
    // no cluster there, or already gone
  }
}

/** Runs `fn(server)` with a server of its own, always stopping it and removing its data dir. */
export async function withServer(fn, opts) {
  const server = await startServer(opts);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

export async function login(url) {
  const res = await fetch(url + '/api/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ username: 'admin', password: 'bench' }),
  });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
  const sid = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith('vmo.sid='));
  if (!sid) throw new Error('login: no vmo.sid cookie');
  return sid;
}

/** The server's /metrics once, and a reader of its gauges by name (the first series of each). */
export async function scrapeMetrics(server) {
  const text = await (await api(server, 'GET', '/metrics')).text();
  const gauge = (name) =>
    Number(new RegExp(`^vmo_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);
  return { text, gauge };
}

export function api(server, method, route, body) {
  return fetch(server.url + route, {
    method,
    headers: {
      cookie: server.cookie,
      origin: server.url,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** POST /api/jobs/stream → jobId. */
export async function startJob(server, target, args = {}) {
  const res = await api(server, 'POST', '/api/jobs/stream', { alias: 'bench', target, args });
  if (res.status !== 201) throw new Error(`start ${target}: ${res.status} ${await res.text()}`);
  return (await res.json()).jobId;
}

export async function getJob(server, jobId) {
  const res = await api(server, 'GET', `/api/jobs/${jobId}`);
  if (res.status !== 200) throw new Error(`GET job ${jobId}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * One `blast` job of `mb` MiB, started and followed to its end by `client` (a JobsClient): the
 * follower's tracker, POST → job:done in seconds, the CPU spent meanwhile, and the stored job.
 */
export async function timeBlastJob(server, client, mb) {
  const cpu0 = cpuSnapshot(server);
  const t0 = performance.now();
  const jobId = await startJob(server, 'blast', { MB: String(mb) });
  const tracker = client.follow(jobId);
  await tracker.promise;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSince(server, cpu0);
  return { t0, seconds, cpu, tracker, job: await getJob(server, jobId) };
}

export async function cancelJob(server, jobId) {
  const res = await api(server, 'POST', '/api/jobs/cancel', { jobId });
  if (res.status !== 202 && res.status !== 409)
    throw new Error(`cancel ${jobId}: ${res.status} ${await res.text()}`);
}

/** Runs `fn` over `items` with at most `limit` at a time; results in order. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** VmRSS of a process, in kB (the server's node process only: its Postgres is separate). */
export function rssKb(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
export const MB = 1e6;

const TICKS = 100; // USER_HZ on Linux
function statTimes(pid) {
  // Fields after the ")" of the command name: utime is the 14th field, cutime the 16th.
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return {
    self: (Number(f[11]) + Number(f[12])) / TICKS,
    reaped: (Number(f[13]) + Number(f[14])) / TICKS,
  };
}

/**
 * CPU seconds used so far by the server's node process (not its jobs) and by its embedded Postgres
 * (the postmaster, its live backends and the ones it reaped). Subtract two snapshots for a phase.
 */
export function cpuSnapshot(server) {
  const cpu = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const out = {
    server: NaN,
    postgres: NaN,
    jobs: NaN,
    idle: cpu[3] + cpu[4],
    total: cpu.reduce((a, b) => a + b, 0),
  };
  try {
    const own = statTimes(server.pid);
    out.server = own.self;
    out.jobs = own.reaped; // the jobs' make and what it ran, once they ended
    const pm = postmasterPid(server.dataDir);
    const t = statTimes(pm);
    let pg = t.self + t.reaped;
    const kids = readFileSync(`/proc/${pm}/task/${pm}/children`, 'utf8').trim().split(/\s+/);
    for (const k of kids) {
      try {
        if (k) pg += statTimes(Number(k)).self;
      } catch {
        // ended meanwhile
      }
    }
    out.postgres = pg;
  } catch {
    // not on Linux, or the cluster lives elsewhere: leave NaN
  }
  return out;
}

export function cpuSince(server, before) {
  const now = cpuSnapshot(server);
  return {
    server: now.server - before.server,
    postgres: now.postgres - before.postgres,
    jobs: now.jobs - before.jobs,
    machineBusy: 1 - (now.idle - before.idle) / (now.total - before.total),
  };
}

/** CPU of a phase: the machine's (all cores), the server's node, its Postgres, and the jobs' once ended. */
export const fmtCpu = (c, seconds, { jobs = false } = {}) =>
  `machine ${(100 * c.machineBusy).toFixed(0)} % busy (${cpus().length} cores); ` +
  `server node ${c.server.toFixed(1)} s (${((100 * c.server) / seconds).toFixed(0)} % of a core), ` +
  `postgres ${c.postgres.toFixed(1)} s (${((100 * c.postgres) / seconds).toFixed(0)} %)` +
  (jobs
    ? `, the jobs' make + node ${c.jobs.toFixed(1)} s (${((100 * c.jobs) / seconds).toFixed(0)} %)`
    : '');

export const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
