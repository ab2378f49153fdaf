// Process output → socket client (SPEC §5: p99 ≤ 25 ms idle, ≤ 100 ms with 200 jobs running).
// A `tick` job prints a line every 10 ms with its epoch timestamp; the follower takes, for each
// complete line it receives, receipt time − printed time. Run idle, then under a `steady` load.
import { Worker } from 'node:worker_threads';
import {
  cpuSince,
  cpuSnapshot,
  fmtCpu,
  fmtMs,
  nowMs,
  percentile,
  startJob,
  withServer,
} from './lib.js';
import { JobsClient } from './jobs-client.js';
import { fmtSteady, STEADY_TARGET } from './steady.js';

async function tickOnce(server, { lines, ms }) {
  const client = await new JobsClient(server).connect();
  const samples = [];
  const bad = [];
  let partial = '';
  const ages = []; // receipt − the event's ts (when the server read the first of its bytes)
  let expect = 1;
  const onEvent = (e, at) => {
    if (e.stream !== 'stdout') return;
    ages.push(at - e.ts);
    const parts = (partial + e.chunk).split('\n');
    partial = parts.pop();
    for (const line of parts) {
      const m = /^tick (\d+) (\d+\.\d+)$/.exec(line);
      if (!m || Number(m[1]) !== expect) {
        bad.push(line);
        continue;
      }
      expect++;
      samples.push(at - Number(m[2]));
    }
  };
  try {
    const jobId = await startJob(server, 'tick', { N: String(lines), MS: String(ms) });
    const t = await client.follow(jobId, { onEvent }).promise;
    if (t.done.status !== 'success') bad.push(`job ended ${t.done.status}`);
    if (partial) bad.push(`unterminated: ${partial}`);
    if (samples.length !== lines) bad.push(`${samples.length} of ${lines} lines`);
    samples.sort((a, b) => a - b);
    ages.sort((a, b) => a - b);
    return {
      ageP50: percentile(ages, 50),
      ageP99: percentile(ages, 99),
      count: samples.length,
      p50: percentile(samples, 50),
      p99: percentile(samples, 99),
      max: samples.at(-1),
      events: t.events,
      bad,
    };
  } finally {
    client.close();
  }
}

const fmtLat = (r) =>
  `p50 ${fmtMs(r.p50)} ms, p99 ${fmtMs(r.p99)} ms, max ${fmtMs(r.max)} ms over ${r.count} lines (${r.events} events; ` +
  `server read → client receipt per event: p50 ${fmtMs(r.ageP50)} ms, p99 ${fmtMs(r.ageP99)} ms)`;

export async function benchLatency({ smoke = false } = {}) {
  const lines = smoke ? 200 : 1000;
  const ms = 10;
  const loadJobs = smoke ? 20 : 200;
  const rate = 10_000;
  return withServer(async (server) => {
    const result = { name: 'latency', ok: true, lines: [], figures: {} };
    const say = (s) => (console.log(s), result.lines.push(s));

    await tickOnce(server, { lines: 20, ms }); // warm-up: first spawn, JIT
    const idle = await tickOnce(server, { lines, ms });
    say(`latency: idle, tick every ${ms} ms: ${fmtLat(idle)} (target p99 ≤ 25 ms)`);
    result.figures.idle = idle;

    // The load runs for as long as needed and is canceled after the measurement. The tick starts once
    // every load job prints and the ramp-up's delivery backlog drained (load events arrive within
    // 200 ms of being read), or after 60 s (10 s smoke) without that, which is then reported.
    const worker = new Worker(new URL('./load-worker.js', import.meta.url), {
      workerData: {
        server: { url: server.url, cookie: server.cookie },
        jobs: loadJobs,
        rate,
        seconds: 900,
        jobsPerSocket: 1,
        settleMaxS: smoke ? 10 : 60,
        settledMs: 200,
      },
    });
    const messages = [];
    let wake = null;
    worker.on('message', (m) => (messages.push(m), wake?.()));
    worker.on('error', (err) => (messages.push({ type: 'error', message: err.stack }), wake?.()));
    const next = async () => {
      while (!messages.length) await new Promise((r) => (wake = r));
      const m = messages.shift();
      if (m.type === 'error') throw new Error('load worker: ' + m.message);
      return m;
    };
    try {
      const ready = await next();
      say(
        `latency: load of ${loadJobs} ${STEADY_TARGET} jobs × ${rate / 1000} kB/s, one socket each: all printing after ${ready.rampS.toFixed(1)} s; ` +
          (ready.settled
            ? `backlog drained ${ready.settleS.toFixed(1)} s later`
            : `backlog NOT drained after ${ready.settleS.toFixed(0)} s more`) +
          ` (load events in the last second: delivery lag p50 ${fmtMs(ready.lastSecond.p50)} ms, max ${fmtMs(ready.lastSecond.max)} ms)`,
      );
      const cpu0 = cpuSnapshot(server);
      const c0 = performance.now();
      const loaded = await tickOnce(server, { lines, ms });
      const cpu = cpuSince(server, cpu0);
      const busyS = (performance.now() - c0) / 1000;
      worker.postMessage({ from: performance.timeOrigin + c0, to: nowMs() });
      const { summary, stillRunning, during } = await next();
      say(
        `latency: with ${loadJobs} steady jobs running (${stillRunning} still running at the end): ${fmtLat(loaded)} (target p99 ≤ 100 ms)`,
      );
      say(
        `latency: meanwhile the load's own events (server read → receipt): p50 ${fmtMs(during.p50)} ms, p99 ${fmtMs(during.p99)} ms, max ${fmtMs(during.max)} ms over ${during.count} events`,
      );
      say(`latency: during the loaded run: ${fmtCpu(cpu, busyS)}`);
      say(`latency: load check (canceled afterwards): ${fmtSteady(summary)}`);
      result.figures.ready = ready;
      result.figures.during = during;
      result.figures.loaded = loaded;
      result.figures.load = summary;
      result.figures.cpu = cpu;
      for (const p of summary.problems.slice(0, 10)) say(`latency: load problem: ${p}`);
      if (!summary.correct) result.ok = false;
    } finally {
      await worker.terminate();
    }
    for (const [k, r] of Object.entries({
      idle: result.figures.idle,
      loaded: result.figures.loaded,
    })) {
      if (r?.bad.length) {
        result.ok = false;
        say(`latency: ${k}: tick lines wrong: ${r.bad.slice(0, 5).join(' | ')}`);
      }
    }
    if (server.problems.length)
      say(
        `latency: the server logged ${server.problems.length} warnings/errors, first: ${server.problems[0].msg}`,
      );
    result.targetsMissed = [
      ...(idle.p99 > 25 ? ['latency idle p99'] : []),
      ...(result.figures.loaded?.p99 > 100 ? ['latency loaded p99'] : []),
    ];
    return result;
  });
}
