// Runs in a worker thread for the latency benchmark: starts and follows the background `steady`
// jobs, so their sockets do not share an event loop with the follower whose latency is measured.
// Says "ready" once every job is printing and the delivery backlog of the ramp-up has drained (or
// `settleMaxS` passed), then on "stop" cancels the jobs and checks what each follower received.
import { parentPort, workerData } from 'node:worker_threads';
import { nowMs, percentile, sleep } from './lib.js';
import { allProducing, cancelSteady, checkSteady, startSteadyJobs } from './steady.js';

const { server, jobs, rate, seconds, jobsPerSocket, settleMaxS, settledMs } = workerData;
const lags = []; // [receipt, receipt − the event's ts], every load event
const onEvent = (e, at) => lags.push([at, at - e.ts]);

function lagSince(from, to = Infinity) {
  const w = lags
    .filter(([at]) => at >= from && at < to)
    .map(([, l]) => l)
    .sort((a, b) => a - b);
  return { count: w.length, p50: percentile(w, 50), p99: percentile(w, 99), max: w.at(-1) };
}

try {
  const t0 = nowMs();
  const load = await startSteadyJobs(server, {
    jobs,
    rate,
    seconds,
    jobsPerSocket,
    tag: 'L',
    onEvent,
  });
  await allProducing(load);
  const t1 = nowMs();
  let last;
  for (;;) {
    await sleep(1000);
    last = lagSince(nowMs() - 1000);
    if ((last.count > 0 && last.max < settledMs) || nowMs() - t1 > settleMaxS * 1000) break;
  }
  parentPort.postMessage({
    type: 'ready',
    rampS: (t1 - t0) / 1000,
    settleS: (nowMs() - t1) / 1000,
    settled: last.max < settledMs,
    lastSecond: last,
  });
  const { from, to } = await new Promise((r) => parentPort.once('message', r)); // stop
  const during = lagSince(from, to);
  const stillRunning = load.entries.filter((e) => !e.tracker.done).length;
  await cancelSteady(server, load);
  const summary = await checkSteady(server, load, { canceled: true });
  parentPort.postMessage({ type: 'result', summary, stillRunning, during });
} catch (err) {
  parentPort.postMessage({ type: 'error', message: err.stack ?? String(err) });
}
