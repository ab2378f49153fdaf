// Search from the UI, in Chromium against the real server and its indexer (issue 25): a search
// from the Jobs page finds the job that printed a line, marks the match with a line of context,
// and its line number opens the job at that line; a regular expression from the palette; in the
// job, search with a regular expression and case.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { Job } from '@vmo/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const project = mkdtempSync(path.join(tmpdir(), 'vmo-search-ui-'));
writeFileSync(
  path.join(project, 'Makefile'),
  [
    'migrate: ## Migrate the database',
    '\t@echo "applying 0041_add_index"',
    '\t@echo "applying 0042_orders"',
    '\t@printf \'\\033[31mERROR\\033[0m 0042_orders: relation "orders" already exists\\n\' >&2',
    '\t@echo "rolled back 0042_orders"',
    '\t@exit 1',
    '',
  ].join('\n'),
);

describe('search in Chromium', { timeout: 90_000 }, () => {
  let t: TestApp;
  let browser: BrowserFixture;
  let page: Page;
  let stopIndexer: () => Promise<void>;
  let jobId: string;

  beforeAll(async () => {
    t = await startTestApp({
      webDir: builtWebDir(),
      config: { projects: [{ alias: 'shop', dir: project }], search: { pollSeconds: 0.2 } },
    });
    stopIndexer = t.services.indexer.start();
    await t.users.createIfMissing({
      username: 'olga',
      role: 'operator',
      password_hash: await t.auth.hashPassword('find that line'),
    });
    const olga = new HttpClient(t.baseUrl);
    await olga.post('/api/auth/login', { username: 'olga', password: 'find that line' });
    const res = await olga.post('/api/jobs/stream', { alias: 'shop', target: 'migrate' });
    jobId = ((await res.json()) as { jobId: string }).jobId;
    await expect
      .poll(async () => ((await (await olga.get(`/api/jobs/${jobId}`)).json()) as Job).status, {
        timeout: 20_000,
      })
      .toBe('failed');
    await expect
      .poll(async () => (await (await olga.get('/api/search?q=already')).json()).items.length, {
        timeout: 20_000,
      })
      .toBe(1);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    await signIn(page, t.baseUrl, 'olga', 'find that line');
  });

  afterAll(async () => {
    await stopIndexer?.();
    await browser?.close();
    await t?.close();
  });

  it('finds the line from the Jobs page, and its number opens the job there', async () => {
    await withScreenshotOnFailure(page, 'search', async () => {
      await page.goto(t.baseUrl + '/jobs');
      await page.getByLabel("Text to find in every job's output").fill('already exists');
      await page.getByRole('button', { name: 'Search output' }).click();
      await page.waitForURL(/\/search\?q=already\+exists$/);
      const hit = page.locator(`[data-hit="${jobId}"]`);
      await hit.waitFor();
      const line = hit.locator('[data-line]');
      expect(await line.getAttribute('data-line')).toBe('4');
      expect(await line.locator('mark').textContent()).toBe('already exists');
      expect(await hit.textContent()).toContain('applying 0042_orders'); // the line before
      expect(await hit.textContent()).toContain('rolled back 0042_orders'); // and after
      expect(await seriousA11yViolations(page)).toEqual([]);
      await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'screenshot-search.png') });

      await line.getByRole('link', { name: 'line 4' }).click();
      await page.waitForURL(new RegExp(`/jobs/${jobId}#L4$`));
      await page.locator('[data-line="4"][aria-current=true]').waitFor();
    });
  });

  it('searches by regular expression from the palette and in the job, with case', async () => {
    await withScreenshotOnFailure(page, 'search-regex', async () => {
      await page.goto(t.baseUrl + '/');
      await page.keyboard.press('Control+k');
      await page.getByPlaceholder('Find a target or a preset…').fill('no target has this name');
      await page.locator('[data-entry="search"]').click();
      await page.waitForURL(/\/search\?q=no\+target/);
      await page.getByText(/No job's output has “no target has this name”/).waitFor();

      await page.getByLabel(/^Text/).fill('00(41|42)_[a-z]+');
      await page.getByLabel('Regular expression').check();
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      const marks = page.locator(`[data-hit="${jobId}"] mark`);
      await expect.poll(() => marks.allTextContents()).toContain('0041_add_index');

      // In the job: the same with the log's own search.
      await page.goto(`${t.baseUrl}/jobs/${jobId}`);
      const box = page.getByLabel('Search the output');
      await box.fill('ERROR|rolled');
      await page.getByRole('button', { name: 'Regular expression' }).click();
      await expect
        .poll(() => page.getByRole('status').filter({ hasText: 'matching' }).textContent())
        .toMatch(/^2 matching lines/);
      await page.getByRole('button', { name: 'Match case' }).click();
      await box.fill('error|ROLLED');
      await expect
        .poll(() => page.getByRole('status').filter({ hasText: 'No matches' }).count())
        .toBe(1);
      await box.fill('(unclosed');
      await page.getByText('Not a regular expression', { exact: false }).waitFor();
    });
  });
});
