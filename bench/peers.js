// Cronicle beside us, with the same generators, in one interleaved run (issue 26): live latency,
// one job's throughput (stored, and delivered live), and memory per running job.
//
//   node bench/peers.js [--smoke] [--pairs N]      (after `npm run build -w @vmo/server`)
//
// Cronicle 0.9.106 is set up on demand from its source in ../shared/peers (PEERS_DIR to point
// elsewhere) under the OS temp dir, kept there between runs, and never becomes a dependency of the
// product: `npm install --omit=dev --ignore-scripts` and `bin/build.js dist` in its own folder,
// then a fresh storage dir, port and `storage-cli.js setup` for each start. Both sides run the
// `bench/project` targets through make; Cronicle's Shell Plugin runs `exec make -s -C … target`.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { io } from 'socket.io-client';
import {
  MB,
  fmtMs,
  getJob,
  loadavg,
  nowMs,
  percentile,
  projectDir,
  sleep,
  startJob,
  startServer,
} from './lib.js';
import { JobsClient } from './jobs-client.js';
import { isWorkload, median, serverRoots, steadyPss, tree } from './memory.js';
import { BLOCK_BYTES, blastBlock } from './project/content.js';

const PEER = 'cronicle-0.9.106';
const peersDir =
  process.env.PEERS_DIR ?? fileURLToPath(new URL('../../shared/peers', import.meta.url));
const home = path.join(os.tmpdir(), 'vmo-peers', PEER);

const argv = process.argv.slice(2);
const smoke = argv.includes('--smoke');
const pairsAt = argv.indexOf('--pairs');
const PAIRS = pairsAt >= 0 ? Number(argv[pairsAt + 1]) : smoke ? 1 : 3;
const TICK = { lines: smoke ? 100 : 400, ms: 10 };
const BLAST_MB = smoke ? 20 : 200;
const RESIDENT = { jobs: smoke ? 10 : 100, rate: 1000 };

// ---------------------------------------------------------------------------------------------
// Cronicle, set up and started on demand

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], ...opts });
}

/** Extracts, installs and builds Cronicle once (kept under the temp dir for later runs). */
function setupCronicle() {
  if (existsSync(path.join(home, '.vmo-ready'))) return;
  const tarball = path.join(peersDir, `${PEER}.tar.gz`);
  if (!existsSync(tarball))
    throw new Error(`no ${tarball}: set PEERS_DIR to the folder that holds it`);
  console.log(`peers: setting up ${PEER} under ${home} (once)`);
  execFileSync('rm', ['-rf', home]);
  execFileSync('mkdir', ['-p', path.dirname(home)]);
  run('tar', ['-xzf', tarball, '-C', path.dirname(home)]);
  // --ignore-scripts: pixl-boot's postinstall would install a system service.
  run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: home,
  });
  run(process.execPath, ['bin/build.js', 'dist'], { cwd: home });
  writeFileSync(path.join(home, '.vmo-ready'), new Date().toISOString());
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

/** A Cronicle master on loopback with fresh storage; `stop()` ends it and removes its data. */
async function startCronicle() {
  const port = await freePort();
  const data = await mkdtemp(path.join(os.tmpdir(), 'vmo-peer-data-'));
  const conf = JSON.parse(readFileSync(path.join(home, 'sample_conf', 'config.json'), 'utf8'));
  const url = `http://127.0.0.1:${port}`;
  Object.assign(conf, {
    base_app_url: url,
    secret_key: 'bench-' + port,
    log_dir: path.join(data, 'logs'),
    pid_file: path.join(data, 'logs', 'cronicled.pid'),
    queue_dir: path.join(data, 'queue'),
    udp_broadcast_port: 0,
    debug_level: 1,
    job_data_expire_days: 1,
  });
  conf.Storage.Filesystem.base_dir = path.join(data, 'storage');
  Object.assign(conf.WebServer, {
    http_port: port,
    http_bind_address: '127.0.0.1',
    https: false,
  });
  await mkdir(path.join(home, 'conf'), { recursive: true });
  writeFileSync(path.join(home, 'conf', 'config.json'), JSON.stringify(conf, null, 2));
  run(process.execPath, ['bin/storage-cli.js', 'setup'], { cwd: home });
  // --debug keeps it in the foreground (no daemon): its PID is ours to stop.
  const proc = spawn(process.execPath, ['lib/main.js', '--debug'], {
    cwd: home,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise((r) => proc.once('exit', r));
  const peer = {
    name: 'Cronicle',
    url,
    pid: proc.pid,
    session: null,
    async api(name, body) {
      const res = await fetch(`${url}/api/app/${name}/v1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-session-id': peer.session },
        body: JSON.stringify(body),
      });
      const json = await res.json();
      if (json.code !== 0) throw new Error(`Cronicle ${name}: ${JSON.stringify(json)}`);
      return json;
    },
    async stop() {
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await rm(data, { recursive: true, force: true });
    },
  };
  // Up, and master (it waits a moment before it takes the role), and signed in.
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`Cronicle exited: ${stderr}`);
    try {
      const res = await fetch(`${url}/api/user/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'admin' }),
      });
      const json = await res.json();
      if (json.session_id) {
        peer.session = json.session_id;
        const ev = await peer.api('create_event', {
          title: 'bench',
          enabled: 1,
          category: 'general',
          target: 'allgrp',
          plugin: 'shellplug',
          max_children: 10_000,
          timeout: 3600,
          timing: false,
          params: { script: '#!/bin/sh\ntrue\n', annotate: 0, json: 0 },
        });
        peer.eventId = ev.id;
        return peer;
      }
    } catch (err) {
      if (i > 600) throw err;
    }
    await sleep(100);
  }
}

/** Starts `make <target> VARS` as a Cronicle job; its id. */
async function cronicleJob(peer, target, vars) {
  const args = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  const script = `#!/bin/sh\nexec make -s -C ${projectDir} ${target} ${args.join(' ')}\n`;
  for (;;) {
    try {
      const res = await peer.api('run_event', { id: peer.eventId, params: { script } });
      return res.ids[0];
    } catch (err) {
      // Just started: it is not master yet ("no servers in group").
      if (!/master|server/i.test(String(err))) throw err;
      await sleep(200);
    }
  }
}

async function cronicleStatus(peer, id) {
  const res = await fetch(`${peer.url}/api/app/get_job_status/v1?id=${id}`, {
    headers: { 'x-session-id': peer.session },
  });
  return (await res.json()).job ?? null;
}

/** Follows a Cronicle job's live log as its job page does: a socket, a token, `log_data` lines. */
async function cronicleWatch(peer, id, onLines) {
  const socket = io(peer.url, { transports: ['websocket'], forceNew: true });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const { token } = await peer.api('get_log_watch_auth', { id });
  socket.on('log_data', (lines) => onLines(lines, nowMs()));
  socket.emit('watch_job_log', { token, id });
  return socket;
}

// ---------------------------------------------------------------------------------------------
// The three measurements, each side

/** Receipt time − printed time of each `tick` line (those printed after the watch began). */
function tickParser(since) {
  const samples = [];
  let partial = '';
  return {
    samples,
    lines(lines, at) {
      for (const line of lines) {
        const m = /^tick (\d+) (\d+\.\d+)$/.exec(line.trim());
        if (m && Number(m[2]) >= since) samples.push(at - Number(m[2]));
      }
    },
    chunk(text, at) {
      const parts = (partial + text).split('\n');
      partial = parts.pop();
      this.lines(parts, at);
    },
  };
}

async function latencyOurs(server) {
  const client = await new JobsClient(server).connect();
  try {
    const p = tickParser(0);
    const jobId = await startJob(server, 'tick', { N: String(TICK.lines), MS: String(TICK.ms) });
    await client.follow(jobId, {
      onEvent: (e, at) => e.stream === 'stdout' && p.chunk(e.chunk, at),
    }).promise;
    return p.samples;
  } finally {
    client.close();
  }
}

async function latencyCronicle(peer) {
  const id = await cronicleJob(peer, 'tick', { N: String(TICK.lines), MS: String(TICK.ms) });
  const p = tickParser(nowMs());
  const socket = await cronicleWatch(peer, id, (lines, at) => p.lines(lines, at));
  try {
    while (!(await cronicleStatus(peer, id))?.complete) await sleep(100);
    await sleep(600); // the watcher's last polls
    return p.samples;
  } finally {
    socket.close();
  }
}

const expectedSha = (() => {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(BLOCK_BYTES);
  for (let k = 0; k < BLAST_MB; k++) hash.update(blastBlock(k, buf));
  return hash.digest('hex');
})();

/** One blast job: POST → job:done with every byte at one follower, checked by sha256. */
async function throughputOurs(server) {
  const client = await new JobsClient(server).connect();
  try {
    const t0 = performance.now();
    const jobId = await startJob(server, 'blast', { MB: String(BLAST_MB) });
    const t = await client.follow(jobId).promise;
    const seconds = (performance.now() - t0) / 1000;
    const job = await getJob(server, jobId);
    const exact =
      t.stdoutHash.digest('hex') === expectedSha &&
      job.outputBytes === BLAST_MB * BLOCK_BYTES &&
      t.lostUpTo(job.lastSeq) === 0;
    const rate = (BLAST_MB * BLOCK_BYTES) / MB / seconds;
    return { stored: rate, live: rate, exact };
  } finally {
    client.close();
  }
}

/**
 * One blast job: run_event → complete (its log stored whole: checked by sha256 of the generator's
 * bytes inside the stored log), and what its live log watcher delivered meanwhile.
 */
async function throughputCronicle(peer) {
  const t0 = performance.now();
  const id = await cronicleJob(peer, 'blast', { MB: String(BLAST_MB) });
  let liveBytes = 0;
  const socket = await cronicleWatch(peer, id, (lines) => {
    for (const l of lines) liveBytes += Buffer.byteLength(l) + 1;
  });
  let seconds;
  let res;
  try {
    while (!(await cronicleStatus(peer, id))?.complete) await sleep(50);
  } finally {
    socket.close();
  }
  // Stored: once its log can be read (Cronicle files it a moment after the job completes).
  for (let i = 0; ; i++) {
    res = await fetch(`${peer.url}/api/app/get_job_log?id=${id}&session_id=${peer.session}`);
    if (res.status === 200 || i > 1200) break;
    await res.arrayBuffer();
    await sleep(50);
  }
  seconds = (performance.now() - t0) / 1000;
  let log = Buffer.from(await res.arrayBuffer());
  if (log[0] === 0x1f && log[1] === 0x8b) log = gunzipSync(log);
  // The log holds Cronicle's own header and footer lines around the job's output.
  const first = blastBlock(0, Buffer.allocUnsafe(BLOCK_BYTES)).subarray(0, 64);
  const at = log.indexOf(first);
  const body = at >= 0 ? log.subarray(at, at + BLAST_MB * BLOCK_BYTES) : Buffer.alloc(0);
  const exact = createHash('sha256').update(body).digest('hex') === expectedSha;
  if (!exact)
    console.log(
      `peers: Cronicle's stored log: ${res.status}, ${log.length} B, the output found at ${at}: ${JSON.stringify(log.subarray(0, 300).toString())} … ${JSON.stringify(log.subarray(-300).toString())}`,
    );
  return {
    stored: (BLAST_MB * BLOCK_BYTES) / MB / seconds,
    live: liveBytes / MB / seconds,
    exact,
  };
}

/** PSS per running job: `jobs` steady jobs, each followed live, all running, against before. */
async function residentOurs(server) {
  const roots = serverRoots(server);
  const before = await steadyPss(roots);
  const client = await new JobsClient(server).connect();
  const ids = [];
  try {
    for (let i = 0; i < RESIDENT.jobs; i++)
      ids.push(
        await startJob(server, 'steady', {
          RATE: String(RESIDENT.rate),
          SECONDS: '600',
          TAG: `m${i}`,
        }),
      );
    const trackers = ids.map((id) => client.follow(id));
    while (!trackers.every((t) => t.firstStdoutAt !== null)) await sleep(100);
    await sleep(2000);
    const during = await steadyPss(roots);
    return (during - before) / 1024 / RESIDENT.jobs;
  } finally {
    for (const id of ids)
      await fetch(server.url + '/api/jobs/cancel', {
        method: 'POST',
        headers: { cookie: server.cookie, origin: server.url, 'content-type': 'application/json' },
        body: JSON.stringify({ jobId: id }),
      });
    client.close();
  }
}

async function residentCronicle(peer) {
  const before = await steadyPss([peer.pid]);
  const ids = [];
  const sockets = [];
  try {
    for (let i = 0; i < RESIDENT.jobs; i++)
      ids.push(
        await cronicleJob(peer, 'steady', {
          RATE: String(RESIDENT.rate),
          SECONDS: '600',
          TAG: `m${i}`,
        }),
      );
    for (const id of ids) sockets.push(await cronicleWatch(peer, id, () => {}));
    // Running: each job's plugin process is up and its generator too.
    for (let i = 0; i < 600; i++) {
      const gens = tree(peer.pid).filter((p) => isWorkload(p)).length;
      if (gens >= RESIDENT.jobs * 2) break;
      await sleep(100);
    }
    await sleep(2000);
    const during = await steadyPss([peer.pid]);
    return (during - before) / 1024 / RESIDENT.jobs;
  } finally {
    for (const s of sockets) s.close();
    for (const id of ids) await peer.api('abort_job', { id }).catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------

const sides = {
  ours: {
    start: async () => {
      const s = await startServer();
      return { ...s, name: 'vm-orchestrator', stop: () => s.stop() };
    },
    latency: latencyOurs,
    throughput: throughputOurs,
    resident: residentOurs,
  },
  cronicle: {
    start: startCronicle,
    latency: latencyCronicle,
    throughput: throughputCronicle,
    resident: residentCronicle,
  },
};

setupCronicle();
console.log(
  `peers: vm-orchestrator vs ${PEER}, ${PAIRS} interleaved pair(s)${smoke ? ' (smoke)' : ''}; node ${process.version}, ${new Date().toISOString()}`,
);
const results = { ours: [], cronicle: [] };
let ok = true;
for (let pair = 1; pair <= PAIRS; pair++) {
  // A B, then B A: neither side always runs on the machine the other just warmed or loaded.
  const order = pair % 2 ? ['ours', 'cronicle'] : ['cronicle', 'ours'];
  for (const side of order) {
    const load = loadavg();
    const s = sides[side];
    const sys = await s.start();
    try {
      // Memory before the big job: what that job leaves in the heap must not count as the others'.
      const lat = (await s.latency(sys)).sort((a, b) => a - b);
      const mem = await s.resident(sys);
      const thr = await s.throughput(sys);
      const r = {
        load,
        p50: percentile(lat, 50),
        p99: percentile(lat, 99),
        lines: lat.length,
        stored: thr.stored,
        live: thr.live,
        exact: thr.exact,
        mem,
      };
      if (!thr.exact) ok = false;
      results[side].push(r);
      console.log(
        `peers: pair ${pair} ${sys.name.padEnd(15)} (load ${load}): latency p50 ${fmtMs(r.p50)} ms, p99 ${fmtMs(r.p99)} ms over ${r.lines} lines; ` +
          `${BLAST_MB} MiB job stored ${r.stored.toFixed(1)} MB/s, live ${r.live.toFixed(2)} MB/s, ${r.exact ? 'byte-exact' : 'NOT BYTE-EXACT'}; ` +
          `${r.mem.toFixed(2)} MB PSS per running job (${RESIDENT.jobs} jobs)`,
      );
    } finally {
      await sys.stop();
    }
  }
}

const med = (side, k) => median(results[side].map((r) => r[k]));
const rows = [
  ['live latency p50, idle (ms)', 'p50', (x) => fmtMs(x), 'lower'],
  ['live latency p99, idle (ms)', 'p99', (x) => fmtMs(x), 'lower'],
  [`one ${BLAST_MB} MiB job stored (MB/s)`, 'stored', (x) => x.toFixed(1), 'higher'],
  [`the same delivered live (MB/s)`, 'live', (x) => x.toFixed(2), 'higher'],
  ['memory per running job, PSS (MB)', 'mem', (x) => x.toFixed(2), 'lower'],
];
console.log(`\npeers: medians of ${PAIRS} pair(s)`);
console.log('| figure | vm-orchestrator | Cronicle 0.9.106 | ratio |');
console.log('| --- | --- | --- | --- |');
for (const [label, k, fmt, better] of rows) {
  const a = med('ours', k);
  const b = med('cronicle', k);
  const ratio = better === 'lower' ? b / a : a / b;
  console.log(`| ${label} | ${fmt(a)} | ${fmt(b)} | ${ratio.toFixed(1)}× |`);
}
if (!ok) {
  console.log('peers: a byte-exact check FAILED');
  process.exit(1);
}
