// Concurrent jobs without loss (SPEC §5: 200 jobs × 10 kB/s for 60 s, 0 bytes lost, duplicated or
// reordered; ≤ 1 MB server RSS growth per job at 200 jobs). Each `steady` job has its own socket
// following it; the server's RSS (its node process, not Postgres) is sampled every second.
import {
  cpuSince,
  cpuSnapshot,
  fmtCpu,
  fmtMs,
  percentile,
  rssKb,
  sleep,
  startJob,
  withServer,
} from './lib.js';
import { JobsClient } from './jobs-client.js';
import { heapSnapshot, memoryOf, perJob, summarize } from './heap.js';
import { checkSteady, fmtSteady, startSteadyJobs } from './steady.js';

export async function benchConcurrency({ smoke = false } = {}) {
  const jobs = smoke ? 20 : 200;
  const seconds = smoke ? 5 : 60;
  const rate = 10_000;
  return withServer(async (server) => {
    const result = { name: 'concurrency', ok: true, lines: [], figures: {} };
    const say = (s) => (console.log(s), result.lines.push(s));

    // Warm-up (first spawn, lazy modules, JIT), so the baseline is a server that has run a job.
    const warm = await new JobsClient(server).connect();
    await warm.follow(await startJob(server, 'tick', { N: '5', MS: '10' })).promise;
    warm.close();
    await sleep(1000);
    const heapDir = process.env.BENCH_HEAP;
    const baseMem = await memoryOf(server);
    const baseHeap = heapDir ? await heapSnapshot(server, heapDir) : null;
    const baseKb = rssKb(server.pid);
    const samples = [];
    let peakKb = baseKb;
    const sampler = setInterval(() => {
      const kb = rssKb(server.pid);
      samples.push(kb);
      peakKb = Math.max(peakKb, kb);
    }, 1000);

    const cpu0 = cpuSnapshot(server);
    const bench0 = process.cpuUsage();
    const t0 = performance.now();
    // Delivery lag of every event: follower receipt − the event's ts (when the server read its first byte).
    const lags = [];
    const onEvent = (e, at) => lags.push([at, at - e.ts]);
    let summary;
    try {
      const load = await startSteadyJobs(server, {
        jobs,
        rate,
        seconds,
        jobsPerSocket: 1,
        tag: 'c',
        onEvent,
      });
      const startedS = (performance.now() - t0) / 1000;
      // All running: where their memory is (the snapshot pauses the server for a few seconds,
      // which the delivery lag below then shows).
      let peakHeap = null;
      await sleep(Math.min(10, seconds / 2) * 1000);
      const peakMem = await memoryOf(server);
      if (heapDir) peakHeap = await heapSnapshot(server, heapDir);
      summary = await checkSteady(server, load);
      const wallS = (performance.now() - t0) / 1000;
      const cpu = cpuSince(server, cpu0);
      const bench = process.cpuUsage(bench0);
      clearInterval(sampler);
      const endKb = rssKb(server.pid);
      const growthMb = (peakKb - baseKb) / 1024;
      say(
        `concurrency: ${jobs} steady jobs × ${rate / 1000} kB/s × ${seconds} s, one socket each (all started and joined in ${startedS.toFixed(1)} s, all done after ${wallS.toFixed(1)} s)`,
      );
      say(`concurrency: ${fmtSteady(summary)} (target 0 lost, duplicated or reordered)`);
      say(
        `concurrency: server RSS ${(baseKb / 1024).toFixed(0)} MB before, peak ${(peakKb / 1024).toFixed(0)} MB, ${(endKb / 1024).toFixed(0)} MB after: ` +
          `growth ${growthMb.toFixed(0)} MB = ${(growthMb / jobs).toFixed(2)} MB per job (target ≤ 1 MB per job)`,
      );
      const every = smoke ? 1 : 10;
      say(
        `concurrency: server RSS MB every ${every} s: ${samples
          .filter((_, k) => k % every === every - 1)
          .map((kb) => (kb / 1024).toFixed(0))
          .join(', ')}`,
      );
      say(
        `concurrency: CPU over the run: ${fmtCpu(cpu, wallS, { jobs: true })}; this benchmark's process ${((bench.user + bench.system) / 1e6).toFixed(1)} s`,
      );
      const windowS = smoke ? 1 : 10;
      const start = performance.timeOrigin + t0;
      const windows = [];
      for (const [at, lag] of lags)
        (windows[Math.floor((at - start) / 1000 / windowS)] ??= []).push(lag);
      const all = lags.map(([, l]) => l).sort((a, b) => a - b);
      const timeline = [...windows].map((w, i) => {
        if (!w) return `${i * windowS}s: -`;
        w.sort((a, b) => a - b);
        return `${i * windowS}s: ${fmtMs(percentile(w, 50))}/${fmtMs(w.at(-1))}`;
      });
      say(
        `concurrency: delivery lag (server read → follower receipt) over ${all.length} events (${(all.length / wallS).toFixed(0)}/s): ` +
          `p50 ${fmtMs(percentile(all, 50))} ms, p99 ${fmtMs(percentile(all, 99))} ms, max ${fmtMs(all.at(-1))} ms`,
      );
      say(`concurrency: lag p50/max ms per ${windowS} s window: ${timeline.join(', ')}`);
      const per = (k) => ((peakMem[k] - baseMem[k]) / 1024 / 1024 / jobs).toFixed(2);
      say(
        `concurrency: memory per running job (all ${jobs} running vs after the warm-up, from /metrics): RSS ${per('rss')} MB = ` +
          `V8 heap used ${per('heapUsed')} MB + V8 heap reserved but free ${(per('heapTotal') - per('heapUsed')).toFixed(2)} MB + ` +
          `Buffers and other external memory ${per('external')} MB + the rest (libuv, sockets, malloc, code) ${(per('rss') - per('heapTotal') - per('external')).toFixed(2)} MB`,
      );
      result.figures.memoryPerJobMb = Object.fromEntries(
        ['rss', 'heapUsed', 'heapTotal', 'external'].map((k) => [k, Number(per(k))]),
      );
      if (baseHeap && peakHeap) {
        const heap = perJob(await summarize(baseHeap), await summarize(peakHeap), jobs);
        say(
          `concurrency: V8 heap with all ${jobs} jobs running vs before: +${heap.totalPerJobKb.toFixed(1)} kB per job; most of it:`,
        );
        for (const line of heap.lines) say(`concurrency:   ${line}`);
        result.figures.heapPerJobKb = heap.totalPerJobKb;
      }
      for (const p of summary.problems.slice(0, 10)) say(`concurrency: problem: ${p}`);
      if (server.problems.length)
        say(
          `concurrency: the server logged ${server.problems.length} warnings/errors, first: ${server.problems[0].msg}`,
        );
      result.figures = {
        ...result.figures,
        summary,
        baseKb,
        peakKb,
        endKb,
        growthPerJobMb: growthMb / jobs,
        rssSamplesMb: samples.map((k) => Math.round(k / 1024)),
        cpu,
        wallS,
        startedS,
        lagP50: percentile(all, 50),
        lagP99: percentile(all, 99),
        lagMax: all.at(-1),
        timeline,
      };
      result.ok = summary.correct;
      result.targetsMissed = growthMb / jobs > 1 ? ['concurrency RSS per job'] : [];
      return result;
    } finally {
      clearInterval(sampler);
    }
  });
}
