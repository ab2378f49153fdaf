// Search from the UI, in Chromium against the real server and its indexer (issue 25): a search
// from the Jobs page finds the job that printed a line, marks the match with a line of context,
// and its line number opens the job at that line; a regular expression from the palette; in the
// job, search with a regular expression and case.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { Job, SearchPage } from '@vmo/protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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
    await vi.waitFor(
      async () => {
        const job = (await (await olga.get(`/api/jobs/${jobId}`)).json()) as Job;
        expect(job.status).toBe('failed');
        const found = (await (await olga.get('/api/search?q=already')).json()) as SearchPage;
        expect(found.items).toHaveLength(1);
      },
      { timeout: 20_000, interval: 200 },
    );
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
      const n = Number(await line.getAttribute('data-line'));
      expect(n).toBeGreaterThan(3); // after "started: …" and the two "applying" lines
      expect(await line.locator('mark').textContent()).toBe('already exists');
      // A line of context either side (stdout and stderr interleave as the pipes were read).
      for (const near of [n - 1, n + 1])
        expect(await hit.getByRole('link', { name: `line ${near}` }).count()).toBe(1);
      expect(await seriousA11yViolations(page)).toEqual([]);
      await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'screenshot-search.png') });

      await line.getByRole('link', { name: `line ${n}` }).click();
      await page.waitForURL(new RegExp(`/jobs/${jobId}#L${n}$`));
      // The job opens at that very line, as its log numbers it.
      const shown = page.locator(`[data-line="${n}"][aria-current=true]`);
      await expect.poll(() => shown.textContent()).toContain('already exists');
    });
  });

  it('searches by regular expression from the palette and in the job, with case', async () => {
    await withScreenshotOnFailure(page, 'search-regex', async () => {
      await page.goto(t.baseUrl + '/');
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      await page.keyboard.press('Control+k');
      await page.getByPlaceholder('Find a target or a preset…').fill('no target has this name');
      await page.locator('[data-entry="search"]').click();
      await page.waitForURL(/\/search\?q=no\+target/);
      await page.getByText(/No job's output has “no target has this name”/).waitFor();

      await page.getByLabel(/^Text/).fill('00(41|42)_[a-z]+');
      await page.getByLabel('Regular expression').check();
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      const marks = page.locator(`[data-hit="${jobId}"] mark`);
      await expect
        .poll(() => marks.allTextContents())
        .toEqual(['0041_add', '0042_orders', '0042_orders', '0042_orders']);

      // In the job: the same with the log's own search.
      await page.goto(`${t.baseUrl}/jobs/${jobId}`);
      const box = page.getByLabel('Search the output');
      await box.fill('ERROR|rolled');
      await page.getByRole('button', { name: 'Regular expression' }).click();
      const summary = page.getByRole('status').filter({ hasText: /matching|No matches/ });
      // "ERROR", "rolled back" and make's "Error 1", in any case…
      await expect.poll(() => summary.textContent()).toMatch(/^3 matching lines/);
      // …and in its case, not make's.
      const matchCase = page.getByRole('button', { name: 'Match case' });
      await matchCase.click();
      expect(await matchCase.getAttribute('aria-pressed')).toBe('true');
      await expect.poll(() => summary.textContent()).toMatch(/^2 matching lines/);
      await box.fill('error|ROLLED');
      await expect.poll(() => summary.textContent()).toBe('No matches');
      await box.fill('(unclosed');
      await page.getByText('Not a regular expression', { exact: false }).waitFor();

      // A search result's "search in the job" carries the search there.
      await page.goto(`${t.baseUrl}/jobs/${jobId}?q=ROLLED&case=1`);
      expect(await page.getByLabel('Search the output').inputValue()).toBe('ROLLED');
      await expect.poll(() => summary.textContent()).toBe('No matches');
      await page.goto(`${t.baseUrl}/jobs/${jobId}?q=rolled`);
      await expect.poll(() => summary.textContent()).toMatch(/^1 matching line/);
    });
  });
});
