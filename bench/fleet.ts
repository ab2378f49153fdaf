// One live view of a fleet (issue 22): a fan-out over 50 hosts, each writing 20 timestamped lines
// a second (1,000 lines/s in all), followed in Debian's Chromium on the group's page, where the
// merged viewer shows every line with its host. While it runs, requestAnimationFrame records each
// frame's interval (smooth: near 16.7 ms, few long ones) and the lag of the newest line shown
// (its print time, on the host, to the frame that shows it: ssh, commit, socket and render).
// Afterwards the page's own search counts each host's first and last line, and each host's
// stored log is checked line by line. The hosts are ssh entries to one private sshd on loopback.
// Run: node --import tsx bench/fleet.ts [--smoke]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { sshEntry, startSshd } from '../server/test/fixtures/sshd.ts';
import {
  api,
  CHROMIUM,
  CHROMIUM_ARGS as ARGS,
  cpuSince,
  cpuSnapshot,
  fmtCpu,
  loadavg,
  percentile,
  sleep,
  withServer,
} from './lib.js';

const smoke = process.argv.includes('--smoke');
const HOSTS = smoke ? 10 : 50;
const SECONDS = smoke ? 5 : 20;
const PER_HOST_RATE = 20; // lines a second
const LINES = SECONDS * PER_HOST_RATE;

const hosts = Array.from({ length: HOSTS }, (_, i) => `h${String(i + 1).padStart(2, '0')}`);
const root = mkdtempSync(path.join(tmpdir(), 'vmo-bench-fleet-'));
const sshd = await startSshd();

/**
 * Frame intervals and the newest line's lag, sampled every frame until the group has ended. Text,
 * not a function: tsx would name the function's inner closures with a helper the page lacks.
 */
const WATCH = `(async () => {
  const frames = [];
  const lags = [];
  const longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push(e.duration);
  }).observe({ type: 'longtask' });
  let caughtUp = false;
  let skipped = 0;
  const t0 = performance.now();
  let last = t0;
  await new Promise((resolve) => {
    const step = (now) => {
      const rows = document.querySelectorAll('[data-testid="log-viewport"] [data-source]');
      const m = /t=(\\d+\\.\\d)/.exec(rows[rows.length - 1]?.textContent ?? '');
      const lag = m ? Date.now() - Number(m[1]) : null;
      // Until the newest line is a fresh one, the page is still replaying what came before it opened.
      if (!caughtUp && lag !== null && lag < 1000) caughtUp = true;
      if (caughtUp) {
        frames.push(now - last);
        if (lag !== null) lags.push(lag);
      } else skipped++;
      last = now;
      if (document.querySelector('dl [data-status=success], dl [data-status=failed]')) resolve();
      else requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  return { frames, lags, skipped, longTasks, ms: performance.now() - t0 };
})()`;

const watch = (page: Page) =>
  page.evaluate(WATCH) as Promise<{
    frames: number[];
    lags: number[];
    skipped: number;
    longTasks: number[];
    ms: number;
  }>;

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

function printProfile(profile: CpuProfile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 20);
  for (const [name, ms] of top) console.log(`  ${ms.toFixed(0).padStart(6)} ms  ${name}`);
}

/** The page's search: how many lines match `text` once it settled. */
async function matches(page: Page, text: string): Promise<string> {
  await page.getByLabel('Search the output').fill(text);
  await page.getByLabel('Search the output').press('Enter');
  const status = page.locator('[role=status]').filter({ hasText: /match|of/ });
  await sleep(300);
  return (await status.first().textContent()) ?? '';
}

try {
  const config = path.join(root, 'ssh_config');
  writeFileSync(
    config,
    hosts
      .map((h) =>
        sshEntry(sshd, h, [
          '  GlobalKnownHostsFile /dev/null',
          '  StrictHostKeyChecking yes',
          '  BatchMode yes',
        ]),
      )
      .join('\n'),
  );
  mkdirSync(path.join(root, 'envs', 'fleet'), { recursive: true });
  writeFileSync(
    path.join(root, 'envs', 'fleet', 'config.yml'),
    `vms:\n${hosts.map((h, i) => `  ${h}: { host: 10.2.0.${i + 1} }`).join('\n')}\n`,
  );
  // Perl keeps one process per host (a `date` per line would be 1,000 processes a second).
  const chatter = `perl -MTime::HiRes=time,sleep -e '$|=1; for my $i (1..${LINES}) { printf "line %d of %d t=%.1f\\n", $i, ${LINES}, time*1000; sleep ${1 / PER_HOST_RATE} }'`;
  const extraConfig = [
    `ssh:\n  config: ${JSON.stringify(config)}`,
    `vmConfig:\n  dir: ${JSON.stringify(path.join(root, 'envs'))}`,
    `fanout:\n  maxParallel: ${HOSTS}`,
    `presets:\n  - name: chatter\n    command: ${JSON.stringify(chatter)}`,
    '',
  ].join('\n');

  await withServer(
    async (server) => {
      console.log(
        `fleet: ${HOSTS} hosts × ${PER_HOST_RATE} lines/s for ${SECONDS} s (${HOSTS * PER_HOST_RATE} lines/s in all); load average before: ${loadavg()}`,
      );
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
      });
      try {
        const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
        const login = await context.request.post(server.url + '/api/auth/login', {
          data: { username: 'admin', password: 'bench' },
          headers: { origin: server.url },
        });
        if (login.status() !== 200) throw new Error(`browser login: ${login.status()}`);
        const page = await context.newPage();

        const cpu0 = cpuSnapshot(server);
        const t0 = performance.now();
        const res = await api(server, 'POST', '/api/jobs/fanout', {
          environment: 'fleet',
          preset: 'chatter',
        });
        if (res.status !== 201) throw new Error(`fan-out: ${res.status} ${await res.text()}`);
        const { jobId } = (await res.json()) as { jobId: string };
        await page.goto(`${server.url}/jobs/${jobId}`);
        await page.locator('[data-testid="log-viewport"]').waitFor();
        // BENCH_PROFILE=1: where the page's main thread spends its time (self time, top functions).
        const cdp = process.env.BENCH_PROFILE ? await context.newCDPSession(page) : null;
        if (cdp) {
          await cdp.send('Profiler.enable');
          await cdp.send('Profiler.start');
        }
        const { frames, lags, skipped, longTasks, ms } = await watch(page);
        if (cdp) printProfile((await cdp.send('Profiler.stop')).profile);
        const seconds = (performance.now() - t0) / 1000;
        const cpu = cpuSince(server, cpu0);
        // Chromium's non-standard performance.memory.
        const heapMb = (await page.evaluate(
          `'memory' in performance ? performance.memory.usedJSHeapSize / 1e6 : NaN`,
        )) as number;

        frames.sort((a, b) => a - b);
        lags.sort((a, b) => a - b);
        const long = frames.filter((f) => f > 50).length;
        console.log(
          `fleet: frames while following: ${frames.length}, interval p50 ${percentile(frames, 50).toFixed(1)} ms, ` +
            `p95 ${percentile(frames, 95).toFixed(1)} ms, max ${frames.at(-1)!.toFixed(0)} ms, ${long} over 50 ms`,
        );
        console.log(
          `fleet: newest line shown, printed → on screen: p50 ${percentile(lags, 50).toFixed(0)} ms, ` +
            `p95 ${percentile(lags, 95).toFixed(0)} ms, max ${lags.at(-1)!.toFixed(0)} ms (${lags.length} samples)`,
        );
        const busy = longTasks.reduce((a, b) => a + b, 0);
        console.log(
          `fleet: the page's main thread: ${longTasks.length} tasks over 50 ms, ${busy.toFixed(0)} ms in all ` +
            `(${((100 * busy) / ms).toFixed(1)} % of ${(ms / 1000).toFixed(1)} s); ${skipped} frames before it caught up with the output written before it opened`,
        );
        console.log(`fleet: ${fmtCpu(cpu, seconds)}; browser JS heap ${heapMb.toFixed(0)} MB`);

        // Correctness: every host's first and last line in the merged view, and each stored log whole.
        const first = await matches(page, `line 1 of ${LINES} `);
        const lastLine = await matches(page, `line ${LINES} of ${LINES} `);
        console.log(
          `fleet: the page's search: "line 1 of": ${first}; "line ${LINES} of": ${lastLine}`,
        );
        const group = (await (await api(server, 'GET', `/api/jobs/${jobId}`)).json()) as {
          status: string;
          children: { id: string; status: string }[];
        };
        let wrong = 0;
        for (const child of group.children) {
          const log = await (await api(server, 'GET', `/api/jobs/${child.id}/log`)).text();
          const numbers = [...log.matchAll(/^line (\d+) of/gm)].map((m) => Number(m[1]));
          if (numbers.length !== LINES || numbers.some((n, i) => n !== i + 1)) wrong++;
        }
        const ok =
          group.status === 'success' &&
          wrong === 0 &&
          first.endsWith(`of ${HOSTS}`) &&
          lastLine.endsWith(`of ${HOSTS}`);
        console.log(
          `fleet: group ${group.status}; stored logs with every line once and in order: ${HOSTS - wrong} of ${HOSTS}` +
            (ok ? '' : ' — CHECK FAILED'),
        );
        if (!ok) process.exitCode = 1;
      } finally {
        await browser.close();
      }
    },
    { extraConfig },
  );
} finally {
  await sshd.stop();
  rmSync(root, { recursive: true, force: true });
}
