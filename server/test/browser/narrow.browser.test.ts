// Every page from a small phone to a large monitor (issue 29): at 360, 390 and 2560 px wide, as an
// admin with a project, a VM, jobs, a schedule, a token, a channel, a rule and a trigger to show, no
// page scrolls sideways (the document is no wider than the window) and on a phone no table scrolls
// inside its box either (they are cards there); at 390×844 axe finds nothing serious, and a
// screenshot of each page lands in server/test-results (docs/ with UPDATE_SCREENSHOTS=1).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Job } from '@vmo/protocol';
import { HttpClient, startTestApp, type TestApp } from '../fixtures/app.js';
import { seriousA11yViolations } from '../fixtures/axe.js';
import {
  builtWebDir,
  launchBrowser,
  SCREENSHOTS_DIR,
  signIn,
  withScreenshotOnFailure,
  type BrowserFixture,
} from '../fixtures/browser.js';

const root = mkdtempSync(path.join(tmpdir(), 'vmo-narrow-'));
const shop = path.join(root, 'shop');
mkdirSync(shop);
writeFileSync(
  path.join(shop, 'Makefile'),
  `.PHONY: build deploy-production-eu-west-with-a-long-name
##@ Build
build: ## Compile every service of the shop, with a description long enough to wrap on a phone
\t@echo "compiling a rather long line of output that a phone must wrap or scroll inside the viewer, never the page"
deploy-production-eu-west-with-a-long-name: ## Ship it @param ENV=staging|prod @confirm
\t@echo deploying
`,
);

/** What scrolls sideways on the page in view: the document, a table inside its box, a cell over the next. */
async function sidewaysScroll(page: Page, route: string, tablesToo: boolean): Promise<string[]> {
  return page.evaluate(
    ({ route, tablesToo }) => {
      const found: string[] = [];
      const doc = document.documentElement;
      if (doc.scrollWidth > doc.clientWidth) {
        // Name the innermost element that sticks out, to say where to look.
        const out = Array.from(document.querySelectorAll<HTMLElement>('body *')).filter(
          (el) => el.getBoundingClientRect().right > doc.clientWidth + 1,
        );
        const el = out.find((e) => !out.some((o) => o !== e && e.contains(o))) ?? out[0];
        const what = el
          ? `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(' ').slice(0, 3).join('.')}` : ''} "${(el.textContent ?? '').slice(0, 40)}"`
          : '?';
        found.push(`${route} is ${doc.scrollWidth} px wide in ${doc.clientWidth} (${what})`);
      }
      // A table cell whose content spills over the next one (a long name in a fixed column).
      for (const td of Array.from(document.querySelectorAll<HTMLElement>('td')))
        if (getComputedStyle(td).overflowX === 'visible' && td.scrollWidth > td.clientWidth + 1)
          found.push(
            `${route}: a cell spills over (${td.scrollWidth} px in ${td.clientWidth}): "${(td.textContent ?? '').trim().slice(0, 40)}"`,
          );
      if (tablesToo)
        for (const box of Array.from(
          document.querySelectorAll<HTMLElement>('[data-slot=table-container]'),
        ))
          if (box.scrollWidth > box.clientWidth + 1)
            found.push(`${route}: a table of ${box.scrollWidth} px scrolls in ${box.clientWidth}`);
      return found;
    },
    { route, tablesToo },
  );
}

describe('every page from 360 to 2560 px wide', { timeout: 180_000 }, () => {
  let t: TestApp;
  let admin: HttpClient;
  let browser: BrowserFixture;
  let page: Page;
  let jobId = '';

  beforeAll(async () => {
    const envs = path.join(root, 'environments');
    mkdirSync(path.join(envs, 'production-eu-west'), { recursive: true });
    writeFileSync(
      path.join(envs, 'production-eu-west', 'config.yml'),
      'vms:\n  app-server-with-a-long-name-01: { host: 10.20.30.40 }\n',
    );
    t = await startTestApp({
      webDir: builtWebDir(),
      config: {
        vmConfig: { dir: envs },
        projects: [{ alias: 'shop', dir: shop }],
        presets: [{ name: 'uptime', command: 'uptime' }],
      },
    });
    await t.users.createIfMissing({
      username: 'nadia',
      role: 'admin',
      password_hash: await t.auth.hashPassword('a phone in hand'),
    });
    admin = await t.loginAs('admin');
    const res = await admin.post('/api/jobs/stream', { alias: 'shop', target: 'build' });
    jobId = ((await res.json()) as { jobId: string }).jobId;
    await vi.waitFor(
      async () => {
        const job = (await (await admin.get(`/api/jobs/${jobId}`)).json()) as Job;
        expect(job.status).toBe('success');
      },
      { timeout: 15_000 },
    );
    await admin.post('/api/schedules', {
      name: 'nightly build',
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      run: { alias: 'shop', target: 'build' },
    });
    // Something in every table: a token (the user's own), a channel with a rule, a trigger.
    const nadia = new HttpClient(t.baseUrl);
    await nadia.post('/api/auth/login', { username: 'nadia', password: 'a phone in hand' });
    expect((await nadia.post('/api/tokens', { name: 'ci-pipeline-of-the-shop' })).status).toBe(201);
    const channel = await admin.post('/api/notifications/channels', {
      name: 'ops-webhook',
      kind: 'webhook',
      url: 'https://hooks.example.test/services/T000/B000/a-long-path-that-a-phone-must-wrap',
    });
    expect(channel.status).toBe(201);
    const { id: channelId } = (await channel.json()) as { id: string };
    await admin.post('/api/notifications/rules', { channelId, on: ['failed'] });
    await admin.post('/api/triggers', {
      name: 'deploy from CI',
      run: { kind: 'stream', request: { alias: 'shop', target: 'build' } },
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    page.setDefaultTimeout(15_000);
    await signIn(page, t.baseUrl, 'nadia', 'a phone in hand');
    mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const routes = () => [
    ['dashboard', '/'],
    ['projects', '/projects'],
    ['project', '/projects/shop'],
    ['vms', '/vms'],
    ['vm', '/vms/production-eu-west/app-server-with-a-long-name-01'],
    ['jobs', '/jobs'],
    ['job', `/jobs/${jobId}`],
    ['search', '/search?q=compiling'],
    ['schedules', '/schedules'],
    ['notifications', '/notifications'],
    ['triggers', '/triggers'],
    ['users', '/users'],
    ['audit', '/audit'],
    ['account', '/account'],
  ];

  it('no page scrolls sideways at 390 px, nor a table inside it, and axe finds nothing serious', async () => {
    const wide: string[] = [];
    for (const [name, route] of routes()) {
      await withScreenshotOnFailure(page, `narrow-${name}`, async () => {
        await page.goto(t.baseUrl + route!);
        await page.locator('main h1').first().waitFor();
        await page.waitForTimeout(400); // skeletons and live data settle
        wide.push(...(await sidewaysScroll(page, route!, true)));
        expect(await seriousA11yViolations(page), route).toEqual([]);
        await page.screenshot({
          path: path.join(SCREENSHOTS_DIR, `narrow-${name}.png`),
          fullPage: true,
        });
      });
    }
    expect(wide).toEqual([]);
  });

  it.each([
    [360, 740],
    [2560, 1440],
  ])('no page scrolls sideways at %i px wide', async (width, height) => {
    const other = await browser.newPage({ viewport: { width, height }, isMobile: width < 640 });
    other.setDefaultTimeout(15_000);
    try {
      await signIn(other, t.baseUrl, 'nadia', 'a phone in hand');
      const wide: string[] = [];
      for (const [name, route] of routes()) {
        await withScreenshotOnFailure(other, `width-${width}-${name}`, async () => {
          await other.goto(t.baseUrl + route!);
          await other.locator('main h1').first().waitFor();
          await other.waitForTimeout(200);
          wide.push(...(await sidewaysScroll(other, route!, width < 640)));
        });
      }
      expect(wide).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it("shows a project's targets as cards, each Run button on screen", async () => {
    await page.goto(t.baseUrl + '/projects/shop');
    for (const target of ['build', 'deploy-production-eu-west-with-a-long-name']) {
      const box = await page
        .getByRole('button', { name: `Run ${target}`, exact: true })
        .boundingBox();
      expect(box, target).not.toBeNull();
      expect(box!.x + box!.width, target).toBeLessThanOrEqual(390);
    }
  });

  it('wraps long lines on a phone, keeping line numbers, or scrolls them sideways by choice', async () => {
    await page.goto(`${t.baseUrl}/jobs/${jobId}`);
    await page.evaluate(() => localStorage.removeItem('vmo.log.wrap'));
    await page.reload();
    const viewport = page.getByTestId('log-viewport');
    const line2 = viewport.locator('[data-line="2"]');
    await line2.waitFor();
    const wrap = page.getByRole('button', { name: 'Wrap', exact: true });
    const sideways = () => viewport.evaluate((el) => el.scrollWidth > el.clientWidth);
    const rowsOf2 = async () => 1 + (await viewport.locator('[data-continues="2"]').count());

    // A phone wraps at first: the long line takes several rows, its number on the first.
    await expect.poll(() => wrap.getAttribute('aria-pressed')).toBe('true');
    expect(await rowsOf2()).toBeGreaterThan(1);
    expect(await sideways()).toBe(false);
    expect(await line2.locator('a').first().textContent()).toBe('2');
    const shown = (await viewport.innerText()).replace(/\s+/g, '');
    expect(shown).toContain('compilingarather'.replace(/\s+/g, ''));
    expect(shown).toContain('neverthepage');
    await expect.poll(() => viewport.locator('[data-line="3"]').count()).toBe(1);

    // Off: one row a line, and the viewer (never the page) scrolls sideways.
    await wrap.click();
    await expect.poll(() => wrap.getAttribute('aria-pressed')).toBe('false');
    expect(await rowsOf2()).toBe(1);
    expect(await sideways()).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );

    // The choice is kept, and `w` turns it back on.
    await page.reload();
    await line2.waitFor();
    expect(await wrap.getAttribute('aria-pressed')).toBe('false');
    await viewport.focus();
    await page.keyboard.press('w');
    await expect.poll(() => wrap.getAttribute('aria-pressed')).toBe('true');
    await expect.poll(rowsOf2).toBeGreaterThan(1);
  });
});
