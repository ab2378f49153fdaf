// Start to ready (SPEC §5: ≤ 3 s with deps installed, embedded Postgres): spawn the built command,
// time until GET /api/health answers 200, for a new data dir and for a reused one.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/vm-orchestrator.js', import.meta.url));

async function startOnce(dataDir) {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [bin, '--port', '0', '--data-dir', dataDir], {
    env: { ...process.env, DATABASE_URL: '', LOG_JSON: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

export async function benchStartup({ runs = 5 } = {}) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'vmo-bench-'));
  await chmod(dataDir, 0o755);
  try {
    const first = await startOnce(dataDir);
    const again = [];
    for (let i = 0; i < runs; i++) again.push(await startOnce(dataDir));
    again.sort((a, b) => a - b);
    const median = again[Math.floor(again.length / 2)];
    console.log(`startup: new data dir (initdb + migrations): ${first.toFixed(0)} ms`);
    console.log(
      `startup: reused data dir, ${runs} runs: median ${median.toFixed(0)} ms, min ${again[0].toFixed(0)} ms, max ${again.at(-1).toFixed(0)} ms (target ≤ 3000 ms)`,
    );
    return { first, median };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
