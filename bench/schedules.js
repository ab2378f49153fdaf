// Schedules at scale (issue 23): 10,000 schedules, of which 100 fire every second, for a minute.
// The other 9,900 fire once a year: they are rows the scheduler must not trip over. Each fire
// runs `make ping` (one `echo`), the cheapest job there is. Figures: the delay from each fire's
// due time to its claim (the scheduler alone) and to its job's start (claim, the owner's checks,
// the job's row, the queue and the spawn), each fire started once, and the CPU of the server and
// of its Postgres meanwhile.
import {
  api,
  cpuSince,
  cpuSnapshot,
  fmtCpu,
  loadavg,
  mapLimit,
  percentile,
  sleep,
  withServer,
} from './lib.js';

const fmt = (xs) =>
  xs.length
    ? `p50 ${percentile(xs, 50).toFixed(0)} ms, p99 ${percentile(xs, 99).toFixed(0)} ms, max ${xs.at(-1).toFixed(0)} ms`
    : 'none';

export async function benchSchedules({
  smoke = false,
  total = smoke ? 500 : 10_000,
  firing = smoke ? 10 : 100,
  seconds = smoke ? 8 : 60,
} = {}) {
  return withServer(
    async (server) => {
      const t0 = performance.now();
      const ids = await mapLimit(
        Array.from({ length: total }, (_, i) => i),
        16,
        async (i) => {
          const res = await api(server, 'POST', '/api/schedules', {
            name: `bench ${i}`,
            cron: i < firing ? '* * * * * *' : `0 ${i % 60} ${i % 24} 1 1 *`,
            run: { kind: 'stream', request: { alias: 'bench', target: 'ping' } },
            overlap: 'allow',
            enabled: i >= firing,
          });
          if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
          return (await res.json()).id;
        },
      );
      console.log(
        `schedules: ${total.toLocaleString('en')} created in ${((performance.now() - t0) / 1000).toFixed(1)} s; load average before the run: ${loadavg()}`,
      );
      const hot = ids.slice(0, firing);
      // The scheduler's own cost: every schedule waiting, none due.
      const idle0 = cpuSnapshot(server);
      const idleSeconds = smoke ? 3 : 10;
      await sleep(idleSeconds * 1000);
      console.log(
        `schedules: ${total.toLocaleString('en')} waiting, none due, for ${idleSeconds} s: ${fmtCpu(cpuSince(server, idle0), idleSeconds)}`,
      );
      const cpu0 = cpuSnapshot(server);
      const start = Date.now();
      await mapLimit(hot, 16, (id) =>
        api(server, 'PATCH', `/api/schedules/${id}`, { enabled: true }),
      );
      await sleep(seconds * 1000);
      await mapLimit(hot, 16, (id) =>
        api(server, 'PATCH', `/api/schedules/${id}`, { enabled: false }),
      );
      const cpu = cpuSince(server, cpu0);
      const elapsed = (Date.now() - start) / 1000;
      await sleep(2000); // the last jobs start

      const claim = [];
      const started = [];
      let fires = 0;
      let twice = 0;
      let skipped = 0;
      let paused = 0;
      for (const id of hot) {
        const s = await (await api(server, 'GET', `/api/schedules/${id}`)).json();
        const due = new Set();
        for (const f of s.fires) {
          if (f.manual) continue;
          fires++;
          if (due.has(f.fireAt)) twice++;
          due.add(f.fireAt);
          // Fires claimed on time but still waiting to start when the bench paused them are skipped.
          if (f.outcome === 'skipped' && f.reason !== 'the schedule was paused') skipped++;
          if (f.outcome === 'skipped' && f.reason === 'the schedule was paused') paused++;
          const at = Date.parse(f.fireAt);
          claim.push(Date.parse(f.createdAt) - at);
          if (f.jobStartedAt) started.push(Date.parse(f.jobStartedAt) - at);
        }
      }
      claim.sort((a, b) => a - b);
      started.sort((a, b) => a - b);
      console.log(
        `schedules: ${firing} every second for ${elapsed.toFixed(0)} s among ${total.toLocaleString('en')}; the last ${fires.toLocaleString('en')} fires read (50 a schedule): ${twice} twice, ${skipped} skipped, ${paused} still waiting to start at the pause, ${started.length} jobs started`,
      );
      console.log(`schedules: due → claimed: ${fmt(claim)}`);
      console.log(`schedules: due → job running: ${fmt(started)}`);
      console.log(`schedules: ${fmtCpu(cpu, elapsed, { jobs: true })}`);
      const ok = twice === 0 && skipped === 0 && started.length + paused === fires;
      return { name: 'schedules', ok, targetsMissed: [] };
    },
    { maxConcurrent: 512 },
  );
}
