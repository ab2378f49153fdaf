// Start to ready (SPEC §5: ≤ 3 s with deps installed, embedded Postgres): spawn the built command,
// time until GET /api/health answers 200, for a new data dir and for a reused one.
// BENCH_STARTUP_COMPARE=1: the command (the bundle) and the same server from tsc's modules
// (server/dist/main.js), alternating, each `runs` times.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serverEntry } from './lib.js';
import { median } from './memory.js';

async function startOnce(dataDir, entry) {
  const t0 = performance.now();
  const proc = spawn(
    process.execPath,
    [...serverEntry(entry), '--port', '0', '--data-dir', dataDir],
    {
      env: { ...process.env, DATABASE_URL: '', LOG_JSON: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('not ready in 60 s:\n' + out)), 60_000);
      proc.stdout.on('data', () => {
        const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      proc.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
    });
    for (;;) {
      const res = await fetch(url + '/api/health').catch(() => null);
      if (res?.status === 200) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    return performance.now() - t0;
  } finally {
    const done = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await done;
  }
}

/** Both builds on one reused data dir, alternating which goes first. */
async function compareBuilds(dataDir, runs) {
  const took = { bundle: [], modules: [] };
  for (let i = 0; i < runs; i++)
    for (const entry of i % 2 ? ['modules', 'bundle'] : ['bundle', 'modules'])
      took[entry].push(await startOnce(dataDir, entry));
  for (const [entry, ms] of Object.entries(took))
    console.log(
      `startup: reused data dir, ${entry.padEnd(7)} ${runs} runs: median ${median(ms).toFixed(0)} ms (${ms.map((x) => x.toFixed(0)).join(', ')})`,
    );
}

export async function benchStartup({
  runs = 5,
  compare = process.env.BENCH_STARTUP_COMPARE === '1',
} = {}) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'vmo-bench-'));
  await chmod(dataDir, 0o755);
  try {
    const first = await startOnce(dataDir);
    if (compare) await compareBuilds(dataDir, runs);
    const again = [];
    for (let i = 0; i < runs; i++) again.push(await startOnce(dataDir));
    again.sort((a, b) => a - b);
    const mid = median(again);
    console.log(`startup: new data dir (initdb + migrations): ${first.toFixed(0)} ms`);
    console.log(
      `startup: reused data dir, ${runs} runs: median ${mid.toFixed(0)} ms, min ${again[0].toFixed(0)} ms, max ${again.at(-1).toFixed(0)} ms (target ≤ 3000 ms)`,
    );
    return { first, median: mid };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
