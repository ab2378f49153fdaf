// Every page on a phone (issue 29): at 390×844, as an admin with a project, a VM, jobs and a
// schedule to show, no page scrolls sideways (the document is no wider than the window), axe finds
// nothing serious, and a screenshot of each lands in server/test-results (docs/ with
// UPDATE_SCREENSHOTS=1).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Job } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
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

describe('every page at 390 px wide', { timeout: 120_000 }, () => {
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

  it('no page scrolls sideways, and axe finds nothing serious', async () => {
    const wide: string[] = [];
    for (const [name, route] of routes()) {
      await withScreenshotOnFailure(page, `narrow-${name}`, async () => {
        await page.goto(t.baseUrl + route!);
        await page.locator('main h1').first().waitFor();
        await page.waitForTimeout(400); // skeletons and live data settle
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        if (width > 390) wide.push(`${route} is ${width} px wide`);
        expect(await seriousA11yViolations(page), route).toEqual([]);
        await page.screenshot({
          path: path.join(SCREENSHOTS_DIR, `narrow-${name}.png`),
          fullPage: true,
        });
      });
    }
    expect(wide).toEqual([]);
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
});
