// Many `steady` jobs, each followed on a socket, and the byte-exact check of what each follower got.
import { cancelJob, getJob, mapLimit, startJob, sleep } from './lib.js';
import { JobsClient } from './jobs-client.js';
import { steadyText } from './project/content.js';

/**
 * The target that writes the load: `steady` (a node process per job, as the figures before
 * 2026-12-05 ran) or, with BENCH_STEADY=perl, `steady-perl` (the same bytes on the same schedule;
 * 200 node processes take most of two cores by themselves, so the load then measures them).
 */
export const STEADY_TARGET = process.env.BENCH_STEADY === 'perl' ? 'steady-perl' : 'steady';

/**
 * Starts `jobs` steady jobs (RATE bytes/s for SECONDS s), `jobsPerSocket` per socket, each followed
 * from its start. Resolves once every job was started and joined.
 */
export async function startSteadyJobs(
  server,
  { jobs, rate, seconds, jobsPerSocket = 1, tag = 'j', onEvent },
) {
  const clients = await Promise.all(
    Array.from({ length: Math.ceil(jobs / jobsPerSocket) }, () => new JobsClient(server).connect()),
  );
  const entries = await mapLimit(
    Array.from({ length: jobs }, (_, i) => i),
    16,
    async (i) => {
      const t = `${tag}${String(i).padStart(3, '0')}`;
      const jobId = await startJob(server, STEADY_TARGET, {
        RATE: String(rate),
        SECONDS: String(seconds),
        TAG: t,
      });
      const client = clients[Math.floor(i / jobsPerSocket)];
      return { jobId, tag: t, tracker: client.follow(jobId, { keepText: true, onEvent }) };
    },
  );
  return { clients, entries, rate, seconds };
}

/** Resolves once every job printed its first line (or ended), i.e. they are all running. */
export async function allProducing(load, timeoutMs = 120_000) {
  const t0 = performance.now();
  while (!load.entries.every((e) => e.tracker.firstStdoutAt !== null || e.tracker.done)) {
    if (performance.now() - t0 > timeoutMs) throw new Error('steady jobs did not all start');
    await sleep(50);
  }
}

/** Cancels the jobs still running (for a load that only had to last long enough). */
export async function cancelSteady(server, load) {
  await mapLimit(
    load.entries.filter((e) => !e.tracker.done),
    16,
    (e) => cancelJob(server, e.jobId),
  );
}

/**
 * Waits for every job's `job:done` and checks each against the server's record and the expected
 * text: seqs 1..lastSeq each once and in order, stdout equal to the generator's lines (a prefix of
 * them when `canceled`), and stored outputBytes equal to the bytes received.
 */
export async function checkSteady(server, load, { canceled = false } = {}) {
  await Promise.all(load.entries.map((e) => e.tracker.promise));
  const sum = {
    jobs: load.entries.length,
    okJobs: 0,
    expectedBytes: 0,
    receivedBytes: 0,
    lostSeqs: 0,
    duplicates: 0,
    reordered: 0,
    resyncs: 0,
    reconnects: load.clients.reduce((n, c) => n + c.reconnects, 0),
    textMismatches: 0,
    storedMismatches: 0,
    badStatus: 0,
    lostBytes: 0,
    events: 0,
    problems: [],
  };
  const rows = await mapLimit(load.entries, 16, (e) => getJob(server, e.jobId));
  load.entries.forEach((e, i) => {
    const t = e.tracker;
    const job = rows[i];
    const expected = steadyText(e.tag, load.rate, load.seconds);
    const got = t.stdout;
    const lost = t.lostUpTo(job.lastSeq) + Math.max(0, t.lastSeq - job.lastSeq);
    const textOk = canceled ? expected.startsWith(got) : got === expected;
    const gotBytes = Buffer.byteLength(got);
    const storedOk = job.outputBytes === gotBytes + t.streamBytes.stderr;
    const statusOk = canceled
      ? ['canceled', 'success'].includes(job.status)
      : job.status === 'success';
    sum.expectedBytes += canceled ? job.outputBytes - t.streamBytes.stderr : expected.length;
    sum.receivedBytes += gotBytes;
    sum.lostSeqs += lost;
    sum.duplicates += t.duplicates;
    sum.reordered += t.reordered;
    sum.resyncs += t.resyncs;
    sum.events += t.events;
    if (!textOk) {
      sum.textMismatches++;
      let at = 0;
      while (at < got.length && got[at] === expected[at]) at++;
      if (!canceled) sum.lostBytes += Math.max(0, expected.length - gotBytes);
      sum.problems.push(
        `${e.tag} ${e.jobId}: stdout differs from byte ${at} (got ${gotBytes} B, expected ${canceled ? 'a prefix of ' : ''}${expected.length} B)`,
      );
    }
    if (!storedOk) {
      sum.storedMismatches++;
      sum.problems.push(`${e.tag}: stored outputBytes ${job.outputBytes} ≠ received ${gotBytes}`);
    }
    if (!statusOk) {
      sum.badStatus++;
      sum.problems.push(
        `${e.tag}: status ${job.status}, exit ${job.exitCode}: ${t.system.join('').trim()}`,
      );
    }
    if (lost || t.duplicates || t.reordered)
      sum.problems.push(
        `${e.tag}: ${lost} lost, ${t.duplicates} duplicated, ${t.reordered} reordered seqs`,
      );
    if (textOk && storedOk && statusOk && !lost && !t.duplicates && !t.reordered) sum.okJobs++;
  });
  for (const c of load.clients) c.close();
  sum.correct = sum.okJobs === sum.jobs;
  return sum;
}

export const fmtSteady = (s) =>
  `${s.okJobs}/${s.jobs} jobs byte-exact; ${(s.receivedBytes / 1e6).toFixed(2)} MB received of ` +
  `${(s.expectedBytes / 1e6).toFixed(2)} MB; lost ${s.lostSeqs} seqs / ${s.lostBytes} B, ` +
  `duplicated ${s.duplicates}, reordered ${s.reordered}; ${s.events} events, ${s.resyncs} resyncs, ${s.reconnects} reconnects`;
