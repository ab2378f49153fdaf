// 1,000 follow jobs (issue 26): a fleet of `docker logs -f` — each job prints one line a second, each
// followed live. Figures: the delay from a line's print to its follower (p50, p99, over the whole
// run and over the part when every job is running), the memory per running job (PSS of the server
// and its Postgres, the jobs' own make and perl left out), CPU; and the check that every follower
// got every line once, in order, equal to what was stored.
import {
  api,
  scrapeMetrics,
  cpuSince,
  cpuSnapshot,
  fmtCpu,
  fmtMs,
  getJob,
  mapLimit,
  nowMs,
  percentile,
  sleep,
  startJob,
  withServer,
} from './lib.js';
import { JobsClient } from './jobs-client.js';
import { serverRoots, steadyPss } from './memory.js';

/**
 * What /metrics says of the steady window, read once at each end: the server's event-loop delay
 * since the scrape before (prom-client resets it at each scrape), in ms, and the commit-time
 * histogram (vmo_db_write_seconds) as cumulative counts per bucket bound.
 */
async function serverFigures(server) {
  const { text, gauge } = await scrapeMetrics(server);
  const delay = (name) => 1000 * gauge(`nodejs_eventloop_lag_${name}_seconds`);
  const buckets = new Map();
  for (const m of text.matchAll(
    /^vmo_db_write_seconds_bucket\{[^}]*?\ble="([^"]+)"[^}]*\} (\S+)$/gm,
  ))
    buckets.set(m[1], Number(m[2]));
  return { loop: { p50: delay('p50'), p99: delay('p99'), max: delay('max') }, buckets };
}
/** The commits between two scrapes: how many, and the bucket bounds their p50 and p99 fall under. */
function commitsBetween(a, b) {
  const bounds = [...b.keys()];
  const n = b.get('+Inf') - a.get('+Inf');
  const under = (p) => bounds.find((le) => b.get(le) - a.get(le) >= (p / 100) * n) ?? '+Inf';
  const ms = (le) => (le === '+Inf' ? '∞' : `${Number(le) * 1000} ms`);
  return `${n} commits, p50 ≤ ${ms(under(50))}, p99 ≤ ${ms(under(99))}`;
}

const SOCKET_JOBS = 10; // jobs followed per socket: a hundred pages each watching ten

export async function benchFollow({ smoke = false } = {}) {
  const jobs = Number(process.env.BENCH_FOLLOW_JOBS) || (smoke ? 50 : 1000);
  const lines = smoke ? 10 : 150; // long enough that every job runs together for 30 s and more
  return withServer(
    async (server) => {
      const result = { name: 'follow', ok: true, lines: [], figures: {}, targetsMissed: [] };
      const say = (s) => (console.log(s), result.lines.push(s));
      const roots = serverRoots(server);
      const warm = await new JobsClient(server).connect();
      await warm.follow(await startJob(server, 'follow', { N: '2', TAG: 'warm' })).promise;
      warm.close();
      const before = await steadyPss(roots);

      const lags = []; // [received at, printed → received, printed → read by the server] in ms
      const carry = new Map();
      const onEvent = (e, at) => {
        if (e.stream !== 'stdout') return;
        const text = (carry.get(e.jobId) ?? '') + e.chunk;
        const cut = text.lastIndexOf('\n') + 1;
        carry.set(e.jobId, text.slice(cut));
        for (const line of text.slice(0, cut).split('\n')) {
          const printed = Number(line.slice(line.lastIndexOf(' ') + 1));
          if (line && printed > 0) lags.push([at, at - printed, e.ts - printed]);
        }
      };
      const clients = await Promise.all(
        Array.from({ length: Math.ceil(jobs / SOCKET_JOBS) }, () =>
          new JobsClient(server).connect(),
        ),
      );
      const t0 = performance.now();
      const entries = await mapLimit(
        Array.from({ length: jobs }, (_, i) => i),
        16,
        async (i) => {
          const tag = `f${String(i).padStart(4, '0')}`;
          const jobId = await startJob(server, 'follow', { N: String(lines), TAG: tag });
          const tracker = clients[Math.floor(i / SOCKET_JOBS)].follow(jobId, {
            keepText: true,
            onEvent,
          });
          return { jobId, tag, tracker };
        },
      );
      while (!entries.every((e) => e.tracker.firstStdoutAt !== null || e.tracker.done))
        await sleep(100);
      const allRunning = performance.timeOrigin + performance.now();
      const startedS = (performance.now() - t0) / 1000;
      let firstDone = Infinity; // from here on jobs end
      void Promise.race(entries.map((e) => e.tracker.promise)).then(
        () => (firstDone = performance.timeOrigin + performance.now()),
      );
      // The steady window: every job running, none starting or ending, nothing else measured (the
      // memory is read after it: reading thousands of /proc files blocks this process).
      const atStart = await serverFigures(server); // also resets the event-loop delay histogram
      const cpu0 = cpuSnapshot(server);
      const own0 = process.cpuUsage();
      const windowS = smoke ? 3 : 30;
      while (nowMs() - allRunning < windowS * 1000 && firstDone === Infinity) await sleep(100);
      const steadyEnd = Math.min(nowMs(), firstDone);
      const steadyS = (steadyEnd - allRunning) / 1000;
      const atEnd = await serverFigures(server);
      const steadyLoop = atEnd.loop;
      const steadyCommits = commitsBetween(atStart.buckets, atEnd.buckets);
      const cpu = cpuSince(server, cpu0);
      const own = process.cpuUsage(own0);
      const during = await steadyPss(roots);
      const pssPerJob = (during - before) / 1024 / jobs;

      await Promise.all(entries.map((e) => e.tracker.promise));
      const wallS = (performance.now() - t0) / 1000;
      for (const c of clients) c.close();

      // Every follower: each line once, in order, as printed, and what it got is what was stored.
      let exact = 0;
      const problems = [];
      await mapLimit(entries, 16, async (e) => {
        const t = e.tracker;
        const job = await getJob(server, e.jobId);
        // The download, without the lines it adds for the job's own `system` events.
        const stored = (await (await api(server, 'GET', `/api/jobs/${e.jobId}/log`)).text())
          .split('\n')
          .filter((l) => !l.startsWith('[vmo] '))
          .join('\n');
        const got = t.stdout;
        const rows = got.split('\n');
        const shaped =
          rows.length === lines + 1 &&
          rows[lines] === '' &&
          rows.slice(0, lines).every((r, i) => r.startsWith(`${e.tag} ${i + 1} `));
        const lost = t.lostUpTo(job.lastSeq);
        if (
          job.status === 'success' &&
          shaped &&
          stored === got &&
          !lost &&
          !t.duplicates &&
          !t.reordered
        )
          exact++;
        else if (problems.length < 5)
          problems.push(
            `${e.tag}: ${job.status}, ${rows.length - 1} lines, stored ${stored === got ? '=' : '≠'} received, ` +
              `${lost} lost, ${t.duplicates} duplicated, ${t.reordered} reordered seqs`,
          );
      });

      /** Column `k` of the lines received in [from, to), ascending. */
      const between = (from, to, k = 1) =>
        lags
          .filter(([at]) => at >= from && at < to)
          .map((row) => row[k])
          .sort((a, b) => a - b);
      const all = between(-Infinity, Infinity);
      const steady = between(allRunning, steadyEnd);
      const ending = between(firstDone, Infinity);
      const fmt = (xs) =>
        `p50 ${fmtMs(percentile(xs, 50))} ms, p99 ${fmtMs(percentile(xs, 99))} ms, max ${fmtMs(xs.at(-1))} ms over ${xs.length} lines`;
      say(
        `follow: ${jobs} jobs × 1 line/s × ${lines} lines, ${SOCKET_JOBS} per socket (all running after ${startedS.toFixed(1)} s, all done after ${wallS.toFixed(1)} s)`,
      );
      say(`follow: printed → follower, whole run: ${fmt(all)}`);
      say(
        `follow: printed → follower, every job running (none starting or ending, ${steadyS.toFixed(0)} s): ${fmt(steady)} (target p99 ≤ 50 ms); ` +
          `of it printed → read by the server p99 ${fmtMs(percentile(between(allRunning, steadyEnd, 2), 99))} ms`,
      );
      say(
        `follow: the server while every job ran: event-loop delay p50 ${fmtMs(steadyLoop.p50)} ms, p99 ${fmtMs(steadyLoop.p99)} ms, max ${fmtMs(steadyLoop.max)} ms; ${steadyCommits}`,
      );
      say(`follow: printed → follower, while the jobs end one after another: ${fmt(ending)}`);
      say(
        `follow: PSS of the server and its Postgres ${(before / 1024).toFixed(0)} MB before, ${(during / 1024).toFixed(0)} MB with ${jobs} running: ${pssPerJob.toFixed(2)} MB per job (target ≤ 0.5 MB)`,
      );
      say(
        `follow: the same ${steadyS.toFixed(0)} s: ${fmtCpu(cpu, steadyS)}; this benchmark's ${clients.length} sockets ${((own.user + own.system) / 1e4 / steadyS).toFixed(0)} %`,
      );
      say(
        `follow: ${exact} of ${jobs} jobs byte-exact (each line once, in order, as stored)${problems.length ? ': ' + problems.join('; ') : ''}`,
      );
      result.ok = exact === jobs && all.length === jobs * lines;
      if (!(percentile(steady, 99) <= 50)) result.targetsMissed.push('follow p99');
      if (!(pssPerJob <= 0.5)) result.targetsMissed.push('memory per job');
      result.figures = {
        p50: percentile(steady, 50),
        p99: percentile(steady, 99),
        pssPerJob,
        exact,
      };
      return result;
    },
    { maxConcurrent: jobs + 8 },
  );
}
