// The SPA's own weight and speed (issue 29): in Debian's Chromium, a signed-in user opens a page
// with a cold cache; every JavaScript file it loads is counted (bytes as served, and gzipped as a
// compressing proxy would send them), and its largest contentful paint read from the browser's own
// PerformanceObserver. Pages: the dashboard, the jobs list, a job's log, a project. Median of RUNS.
// Run: node bench/spa.js [--smoke]  (build first: npm run build)
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, getJob, percentile, sleep, startJob, withServer } from './lib.js';

const smoke = process.argv.includes('--smoke');
const RUNS = smoke ? 1 : 5;

/** Opens `url` in a fresh context (cold cache); its JS bytes and its LCP (ms from navigation). */
async function open(browser, server, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const login = await context.request.post(server.url + '/api/auth/login', {
    data: { username: 'admin', password: 'bench' },
    headers: { origin: server.url },
  });
  if (login.status() !== 200) throw new Error(`browser login: ${login.status()}`);
  const page = await context.newPage();
  const scripts = [];
  page.on('response', (res) => {
    if (/\.m?js(\?|$)/.test(new URL(res.url()).pathname)) scripts.push(res);
  });
  await page.addInitScript(() => {
    globalThis.__lcp = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) globalThis.__lcp = e.startTime;
    }).observe({ type: 'largest-contentful-paint', buffered: true });
  });
  await page.goto(url, { waitUntil: 'networkidle' });
  // LCP is final at the first input or hide; a moment of quiet and a read is enough here.
  await sleep(300);
  const lcp = await page.evaluate(() => globalThis.__lcp);
  let raw = 0;
  let gz = 0;
  const sizes = [];
  for (const res of scripts) {
    const body = await res.body().catch(() => null);
    if (!body) continue;
    const z = gzipSync(body, { level: 6 }).length;
    raw += body.length;
    gz += z;
    sizes.push([z, new URL(res.url()).pathname.split('/').at(-1)]);
  }
  await context.close();
  const biggest = sizes
    .sort((a, b) => b[0] - a[0])
    .slice(0, 3)
    .map(([z, name]) => `${name} ${(z / 1024).toFixed(0)} KB`);
  return { lcp, raw, gz, files: scripts.length, biggest };
}

if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
await withServer(async (server) => {
  const jobId = await startJob(server, 'tick', { N: '2000', MS: '0' }).catch(() => null);
  if (jobId)
    for (let i = 0; i < 100 && !(await getJob(server, jobId)).finishedAt; i++) await sleep(100);
  const pages = [
    ['dashboard', '/'],
    ['jobs', '/jobs'],
    ...(jobId ? [['job log', `/jobs/${jobId}`]] : []),
    ['project', '/projects/bench'],
  ];
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    for (const [name, route] of pages) {
      const runs = [];
      for (let r = 0; r < RUNS; r++) runs.push(await open(browser, server, server.url + route));
      const lcps = runs.map((r) => r.lcp).sort((a, b) => a - b);
      const last = runs.at(-1);
      console.log(
        `spa: ${name.padEnd(9)} JS ${(last.gz / 1024).toFixed(0)} KB gzipped (${(last.raw / 1024).toFixed(0)} KB as served, ` +
          `${last.files} files; biggest ${last.biggest.join(', ')}); LCP median ${percentile(lcps, 50).toFixed(0)} ms, max ${lcps.at(-1).toFixed(0)} ms (${RUNS} cold loads)`,
      );
    }
  } finally {
    await browser.close();
  }
});
