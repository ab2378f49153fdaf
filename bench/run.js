// Runs the benchmarks and prints their figures; `--smoke` runs each once, quickly, as `make validate`
// does; `--only latency|throughput|concurrency|follow|startup|logviewer|listing|schedules` runs one. Exits non-zero when a correctness
// check fails (bytes lost, duplicated, reordered or not stored), never because a time target is missed.
import { benchConcurrency } from './concurrency.js';
import { benchFollow } from './follow.js';
import { benchLatency } from './latency.js';
import { benchListing } from './listing.js';
import { benchLogViewer } from './logviewer.js';
import { benchSchedules } from './schedules.js';
import { benchStartup } from './startup.js';
import { benchThroughput } from './throughput.js';
import { loadavg } from './lib.js';

const argv = process.argv.slice(2);
const smoke = argv.includes('--smoke');
const onlyAt = argv.indexOf('--only');
const only =
  onlyAt >= 0 ? argv[onlyAt + 1] : (argv.find((a) => a.startsWith('--only='))?.slice(7) ?? null);

const benches = {
  startup: async () => {
    const r = await benchStartup({ runs: smoke ? 1 : 5 });
    return { name: 'startup', ok: true, targetsMissed: r.median > 3000 ? ['startup median'] : [] };
  },
  latency: () => benchLatency({ smoke }),
  throughput: () => benchThroughput({ smoke }),
  concurrency: () => benchConcurrency({ smoke }),
  follow: () => benchFollow({ smoke }),
  logviewer: () => benchLogViewer({ smoke }),
  listing: () => benchListing({ smoke }),
  schedules: () => benchSchedules({ smoke }),
};
if (only && !benches[only]) {
  console.error(`unknown benchmark "${only}"; one of: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}

console.log(
  `vm-orchestrator benchmarks${smoke ? ' (smoke run)' : ''} — node ${process.version}, ${new Date().toISOString()}`,
);
const results = [];
for (const [name, run] of Object.entries(benches)) {
  if (only && name !== only) continue;
  console.log(`${name}: load average before: ${loadavg()}`);
  const t0 = performance.now();
  try {
    const r = await run();
    results.push({ ...r, seconds: (performance.now() - t0) / 1000 });
  } catch (err) {
    console.log(`${name}: FAILED TO RUN: ${err.stack ?? err}`);
    results.push({ name, ok: false, error: true, targetsMissed: [] });
  }
}

console.log('\nsummary:');
for (const r of results) {
  const state = r.error ? 'did not run to the end' : r.ok ? 'correct' : 'CORRECTNESS CHECK FAILED';
  const missed = r.targetsMissed?.length ? `; target missed: ${r.targetsMissed.join(', ')}` : '';
  console.log(
    `  ${r.name.padEnd(12)} ${state}${missed}${r.seconds ? ` (${r.seconds.toFixed(0)} s)` : ''}`,
  );
}
const failed = results.filter((r) => !r.ok);
if (failed.length) {
  console.log(`\n${failed.length} benchmark(s) failed a correctness check or did not run`);
  process.exitCode = 1;
}
