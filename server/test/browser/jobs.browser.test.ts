// Running and watching jobs as a person does, in Debian's Chromium against the real server: a
// target run from its project page, a terminal job typed into and replayed, and the log viewer
// showing colours as spans while never running what a job prints.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CreatedToken, Job, JobEvent } from '@vmo/protocol';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../fixtures/app.js';
import {
  builtWebDir,
  launchBrowser,
  SCREENSHOTS_DIR,
  signIn,
  TEST_RESULTS_DIR,
  withScreenshotOnFailure,
  type BrowserFixture,
} from '../fixtures/browser.js';
import { ENGINE_PROJECT, startJob, storedEvents } from '../fixtures/jobs.js';

const DOCS = SCREENSHOTS_DIR;
const JOB_URL = /\/jobs\/[0-9a-f-]{36}$/;

/** A project whose targets print what the log viewer must render, and must never run. */
function outputProject(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmo-browser-'));
  const recipes = [
    'report: ## Build-like output: colours, a warning on stderr, a progress bar and a link',
    "\t@printf '\\033[1m==> fetch\\033[0m\\n'; printf '\\033[32m✓\\033[0m 12 packages\\n'",
    "\t@printf 'downloading  10%%\\rdownloading  60%%\\rdownloading 100%%\\n'",
    "\t@echo 'warning: the cache is cold' >&2",
    "\t@printf '\\033[1m==> test\\033[0m\\n'",
    "\t@printf '\\033[32mPASS\\033[0m api  \\033[31mFAIL\\033[0m ui  \\033[38;5;208m41 of 42\\033[0m\\n'",
    "\t@printf 'details: https://example.com/runs/42\\n'",
    '',
    'xss: ## Prints markup and a javascript: hyperlink',
    "\t@printf '<img src=x onerror=alert(1)> <script>alert(2)</script>\\n'",
    "\t@printf '\\033]8;;javascript:alert(3)\\033\\\\click me\\033]8;;\\033\\\\ after\\n'",
    '',
  ];
  writeFileSync(path.join(dir, 'Makefile'), `.PHONY: report xss\n${recipes.join('\n')}`);
  return dir;
}

/** The number the log viewer gives each line written whole: every stream has lines of its own. */
function expectedLineNumbers(events: JobEvent[]): Map<string, number> {
  const numbers = new Map<string, number>();
  const open = new Map<string, { text: string; n: number }>();
  let count = 0;
  for (const e of events) {
    const parts = e.chunk.split('\n');
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      if (last && part === '') return;
      const line = open.get(e.stream) ?? { text: '', n: ++count };
      line.text += part;
      if (last) open.set(e.stream, line);
      else {
        open.delete(e.stream);
        numbers.set(line.text, line.n);
      }
    });
  }
  return numbers;
}

describe('jobs in Chromium', () => {
  let t: TestApp;
  let browser: BrowserFixture;
  let page: Page;
  const dialogs: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    t = await startTestApp({
      webDir: builtWebDir(),
      config: {
        projects: [
          { alias: 'engine', dir: ENGINE_PROJECT },
          { alias: 'output', dir: outputProject() },
        ],
      },
    });
    await t.users.createIfMissing({
      username: 'olga',
      role: 'operator',
      password_hash: await t.auth.hashPassword('run it all'),
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // Fail inside the test's own time, with a screenshot, rather than at vitest's timeout.
    page.setDefaultTimeout(15_000);
    // Any alert() means job output ran as code.
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    await signIn(page, t.baseUrl, 'olga', 'run it all');
    mkdirSync(DOCS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const viewer = () => page.getByTestId('log-viewport');
  const terminalText = () => page.locator('[data-slot=terminal] .xterm-rows');

  it('runs a target with a variable from its project page and shows its output and success', async () => {
    await withScreenshotOnFailure(page, 'jobs-run', async () => {
      await page.goto(t.baseUrl + '/projects/engine');
      await page.getByRole('cell', { name: 'Greet NAME' }).waitFor();
      await page.screenshot({ path: path.join(TEST_RESULTS_DIR, 'project-targets.png') });
      await page.getByRole('button', { name: 'Run hello with variables' }).click();
      await page.getByLabel('Variables', { exact: true }).waitFor();
      await page.screenshot({ path: path.join(TEST_RESULTS_DIR, 'run-dialog.png') });
      await page.getByLabel('Variables', { exact: true }).fill('NAME=dana');
      await page.getByRole('button', { name: 'Run', exact: true }).click();

      await page.waitForURL(JOB_URL);
      await viewer().getByText('hello dana', { exact: true }).waitFor();
      await page.locator('dl [data-status=success]').waitFor();
      expect(await page.getByTestId('exit-code').textContent()).toBe('0');
      await page.getByRole('heading', { name: 'make hello NAME=dana' }).waitFor();
      expect(await page.getByText('olga', { exact: true }).count()).toBeGreaterThan(0);
      // Line links: #L<n> marks that line, also when the page is opened with it.
      expect(await viewer().locator('a#L1').getAttribute('href')).toBe('#L1');
      await page.goto(`${page.url()}#L2`);
      await page.reload();
      await viewer().locator('[data-line="2"][aria-current=true]').waitFor();
      // The line in the link can be copied, and the link to it; the command and the job id too.
      const tools = page.getByTestId('line-tools');
      await tools.getByRole('button', { name: 'Copy line 2' }).click();
      await tools.getByRole('button', { name: 'Copied' }).waitFor();
      await page.getByRole('button', { name: 'Copy the command' }).click();
      await page.getByRole('button', { name: 'Copy the job id' }).waitFor();
    });
  });

  it('follows and stops following from the button and the keyboard, and lists its shortcuts under ?', async () => {
    await withScreenshotOnFailure(page, 'jobs-keys', async () => {
      await page.goto(t.baseUrl + '/jobs');
      // j moves to the newest job of the list, Enter opens it.
      await page.locator('[data-job] a').first().waitFor();
      await page.keyboard.press('j');
      await page.keyboard.press('Enter');
      await page.waitForURL(JOB_URL);
      await viewer().locator('a#L1').waitFor();
      const follow = page.getByRole('button', { name: /^Follow/ });
      // Opened at its end: following; the button stops it, and starts it again.
      await expect.poll(() => follow.getAttribute('aria-pressed')).toBe('true');
      await follow.click();
      await expect.poll(() => follow.getAttribute('aria-pressed')).toBe('false');
      await page.keyboard.press('f');
      await expect.poll(() => follow.getAttribute('aria-pressed')).toBe('true');
      await page.keyboard.press('g');
      await expect.poll(() => follow.getAttribute('aria-pressed')).toBe('false');
      await page.keyboard.press('/');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(
        'Search the output',
      );
      // Out of the field again: keys typed there are the field's.
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await page.keyboard.press('?');
      const list = page.getByTestId('shortcuts');
      for (const key of ['?', '/', 'f', 'g', 'G', 'r'])
        await list.getByText(key, { exact: true }).waitFor();
      await page.keyboard.press('Escape');
      await page.keyboard.press('r');
      await page.getByRole('dialog').getByRole('button', { name: /Run/ }).first().waitFor();
    });
  });

  it('renders ANSI colours as spans, a carriage return as an overwrite, stderr marked', async () => {
    await withScreenshotOnFailure(page, 'jobs-ansi', async () => {
      await page.goto(t.baseUrl + '/projects/output');
      await page.getByRole('button', { name: 'Run report', exact: true }).click();
      await page.waitForURL(JOB_URL);
      await page.locator('dl [data-status=success]').waitFor();
      await viewer().getByText('details:').waitFor();

      await viewer().locator('span.ansi-green-fg', { hasText: 'PASS' }).waitFor();
      await viewer().locator('span.ansi-red-fg', { hasText: 'FAIL' }).waitFor();
      await viewer().locator('span.ansi-bold', { hasText: '==> fetch' }).waitFor();
      const orange = viewer().locator('span[style]', { hasText: '41 of 42' });
      expect(await orange.getAttribute('style')).toContain('rgb(255, 135, 0)');
      expect(await viewer().getByText('downloading 100%').count()).toBe(1);
      expect(await viewer().getByText('downloading  10%').count()).toBe(0);
      const stderr = viewer().locator('[data-stream=stderr]');
      expect(await stderr.textContent()).toContain('warning: the cache is cold');
      expect(await stderr.getByRole('img', { name: 'stderr' }).count()).toBe(1);
      const link = viewer().getByRole('link', { name: 'https://example.com/runs/42' });
      expect(await link.getAttribute('rel')).toContain('noopener');

      // Search: a match is marked and becomes the current line.
      await page.getByLabel('Search the output').fill('cache');
      await page.getByLabel('Search the output').press('Enter');
      await viewer().locator('.log-match', { hasText: 'cache' }).waitFor();
      await page.getByText('1 of 1').waitFor();
      await page.screenshot({ path: path.join(DOCS, 'screenshot-job.png') });
      await page.getByRole('button', { name: 'Switch to dark theme' }).click();
      await page.screenshot({ path: path.join(DOCS, 'screenshot-job-dark.png') });
      await page.getByRole('button', { name: 'Switch to light theme' }).click();
    });
  });

  it('shows markup and a javascript: hyperlink from a job as text, running nothing', async () => {
    await withScreenshotOnFailure(page, 'jobs-xss', async () => {
      await page.goto(t.baseUrl + '/projects/output');
      await page.getByRole('button', { name: 'Run xss', exact: true }).click();
      await page.waitForURL(JOB_URL);
      await page.locator('dl [data-status=success]').waitFor();
      await viewer().getByText('<img src=x onerror=alert(1)> <script>alert(2)</script>').waitFor();
      await viewer().getByText('click me').waitFor();
      expect(await viewer().locator('img, script').count()).toBe(0);
      expect(await viewer().getByRole('link', { name: 'click me' }).count()).toBe(0);
      await viewer().getByText('click me').click();
      await page.waitForTimeout(300);
      expect(dialogs).toEqual([]);
    });
  });

  it('downloads the log from the backend of the override, with its token, and says when that fails', async () => {
    // Olga's own token, and a job whose log has colours and stderr in it.
    const olga = t.anonymous();
    await olga.post('/api/auth/login', { username: 'olga', password: 'run it all' });
    const created = await olga.post('/api/tokens', { name: 'override' });
    expect(created.status).toBe(201);
    const token = (await created.json()) as CreatedToken;
    const { jobId } = (await (
      await olga.post('/api/jobs/stream', { alias: 'output', target: 'report' })
    ).json()) as { jobId: string };
    await expect
      .poll(async () => ((await (await olga.get(`/api/jobs/${jobId}`)).json()) as Job).status)
      .toBe('success');
    const log = await (await olga.get(`/api/jobs/${jobId}/log`)).text();
    expect(log).toContain('warning: the cache is cold');

    // Its own page, signed in (so a same-origin link would carry the session cookie instead).
    const other = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    other.setDefaultTimeout(15_000);
    const cspErrors: string[] = [];
    other.on('console', (m) => m.type() === 'error' && cspErrors.push(m.text()));
    const logRequests: Record<string, string>[] = [];
    other.on('request', (r) => {
      if (r.url().endsWith(`/api/jobs/${jobId}/log`))
        void r.allHeaders().then((h) => logRequests.push(h));
    });
    try {
      await withScreenshotOnFailure(other, 'jobs-download-override', async () => {
        await signIn(other, t.baseUrl, 'olga', 'run it all');
        await other.getByRole('button', { name: 'Settings' }).click();
        const dialog = other.getByRole('dialog');
        await dialog.getByLabel('Backend URL').fill(t.baseUrl);
        await dialog.getByLabel('API token').fill(token.token);
        await dialog.getByRole('button', { name: 'Save and reload' }).click();
        await other.getByRole('heading', { name: 'Dashboard' }).waitFor();
        await other.goto(`${t.baseUrl}/jobs/${jobId}`);
        await other.locator('dl [data-status=success]').waitFor();
        await other.getByTestId('log-viewport').getByText('details:').waitFor();

        // The log viewer's Download: fetched with the token, saved under the server's name.
        const [download] = await Promise.all([
          other.waitForEvent('download'),
          other.getByRole('button', { name: 'Download', exact: true }).click(),
        ]);
        expect(download.suggestedFilename()).toBe(`job-${jobId}.log`);
        expect(readFileSync(await download.path(), 'utf8')).toBe(log);
        await expect.poll(() => logRequests.length).toBe(1);
        expect(logRequests[0]!.authorization).toBe(`Bearer ${token.token}`);
        expect(logRequests[0]!.cookie).toBeUndefined();

        // The token expires while the page is open (no event tells the page): the job page's
        // "Download log" is refused, and a toast says so.
        await t.db.db
          .updateTable('tokens')
          .set({ expires_at: new Date(Date.now() - 60_000) })
          .where('id', '=', token.id)
          .execute();
        await other.getByRole('button', { name: 'Download log' }).click();
        const toast = other.locator('[data-toast=error]');
        await toast.getByText(`Cannot download job-${jobId}.log`).waitFor();
        expect(await toast.textContent()).toContain('the API token is unknown, expired or revoked');
        expect(await other.getByRole('button', { name: 'Download log' }).isEnabled()).toBe(true);
      });
      expect(cspErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
    } finally {
      await other.context().close();
    }
  });

  it('keeps the plain same-origin link without an override', async () => {
    await withScreenshotOnFailure(page, 'jobs-download-link', async () => {
      const api = await t.loginAs('operator');
      const jobId = await startJob(api, 'engine', 'hello', { NAME: 'link' });
      await page.goto(`${t.baseUrl}/jobs/${jobId}`);
      await page.locator('dl [data-status=success]').waitFor();
      for (const name of ['Download', 'Download log']) {
        const link = page.getByRole('link', { name, exact: true });
        expect(await link.getAttribute('href')).toBe(`/api/jobs/${jobId}/log`);
        expect(await link.getAttribute('download')).toBe(`job-${jobId}.log`);
      }
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download log' }).click(),
      ]);
      expect(download.suggestedFilename()).toBe(`job-${jobId}.log`);
      const log = await (await api.get(`/api/jobs/${jobId}/log`)).text();
      expect(log).toContain('hello link\n');
      expect(readFileSync(await download.path(), 'utf8')).toBe(log);
    });
  });

  it('types into a terminal job, sees the echo, and finds its replay in the history', async () => {
    await withScreenshotOnFailure(page, 'jobs-terminal', async () => {
      await page.goto(t.baseUrl + '/projects/engine');
      await page.getByRole('button', { name: 'Open a terminal for ask' }).click();
      await page.waitForURL(JOB_URL);
      const jobUrl = page.url();
      await terminalText().getByText('name?').waitFor();
      await page.getByText('Live session: what you type goes to the job.').waitFor();
      await page.locator('[data-slot=terminal]').click();
      await page.keyboard.type('dana');
      await terminalText().getByText('name? dana').waitFor();
      await page.screenshot({ path: path.join(DOCS, 'screenshot-terminal.png') });
      await page.keyboard.press('Enter');
      await terminalText().getByText('got:dana').waitFor();
      await page.locator('dl [data-status=success]').waitFor();
      await page.setViewportSize({ width: 900, height: 700 });
      await page.getByText('Replay of the recorded session.').waitFor();

      await page.goto(t.baseUrl + '/jobs?type=terminal');
      const row = page.locator(`tr[data-job="${jobUrl.split('/').pop()}"]`);
      await row.getByRole('link', { name: 'make ask' }).click();
      await page.waitForURL(jobUrl);
      await terminalText().getByText('got:dana').waitFor();
      await page.getByText('Replay of the recorded session.').waitFor();
      // The replay is the stored session: what was typed and what the job answered, in that order.
      const jobId = jobUrl.split('/').pop()!;
      const stored = await t.db.pool.query<{ status: string; exit_code: number }>(
        'select status, exit_code from jobs where id = $1',
        [jobId],
      );
      expect(stored.rows[0]).toEqual({ status: 'success', exit_code: 0 });
      const output = await t.db.pool.query<{ text: string }>(
        "select convert_from(string_agg(chunk_bin, '' order by seq), 'UTF8') as text from job_events where job_id = $1 and stream = 'pty'",
        [jobId],
      );
      const text = output.rows[0]!.text;
      expect(text.indexOf('name?')).toBeGreaterThanOrEqual(0);
      expect(text.indexOf('dana')).toBeGreaterThan(text.indexOf('name?'));
      expect(text.indexOf('got:dana')).toBeGreaterThan(text.indexOf('dana'));
    });
  });

  it('sends the new size to the pty when the window is resized', async () => {
    await withScreenshotOnFailure(page, 'jobs-resize', async () => {
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.goto(t.baseUrl + '/projects/engine');
      await page.getByRole('button', { name: 'Open a terminal for size' }).click();
      await page.waitForURL(JOB_URL);
      await page.getByText('Live session: what you type goes to the job.').waitFor();
      await page.locator('.xterm-helper-textarea').waitFor({ state: 'attached' });
      await page.setViewportSize({ width: 600, height: 700 });
      await page.waitForTimeout(500); // one frame for the fit, one round trip for the resize
      await page.locator('[data-slot=terminal]').click();
      await page.keyboard.press('Enter');
      const size = terminalText().getByText(/^\d+\s\d+\s*$/);
      await size.waitFor();
      const [rows, cols] = (await size.textContent())!.trim().split(/\s+/).map(Number);
      // The pty started at 120×32 and the wide window fitted more; 600 px fits far fewer.
      expect(cols).toBeGreaterThan(20);
      expect(cols).toBeLessThan(80);
      expect(rows).toBeGreaterThan(5);
    });
  });

  it('shows a failure with its exit code, and replays then follows a running job after a reload, then cancels it', async () => {
    await withScreenshotOnFailure(page, 'jobs-fail-cancel', async () => {
      const api = await t.loginAs('operator');
      const failed = await startJob(api, 'engine', 'fail');
      await page.goto(`${t.baseUrl}/jobs/${failed}`);
      await page.locator('dl [data-status=failed]').waitFor();
      // make reports the recipe's `exit 3` and itself exits 2.
      expect(await page.getByTestId('exit-code').textContent()).toBe('2');
      await viewer().locator('[data-stream=stderr]', { hasText: 'failing' }).waitFor();

      await page.goto(t.baseUrl + '/projects/engine');
      await page.getByRole('button', { name: 'Run slow', exact: true }).click();
      await page.waitForURL(JOB_URL);
      await viewer().getByText('tick 2', { exact: true }).waitFor();
      await page.reload();
      await viewer().getByText('tick 3', { exact: true }).waitFor();
      for (const tick of ['tick 1', 'tick 2', 'tick 3']) {
        expect(await viewer().getByText(tick, { exact: true }).count()).toBe(1);
      }
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.locator('dl [data-status=canceled]').waitFor();
      expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
    });
  });

  it('opens a job signed out: signing in leads back to it, its output asked for again and shown', async () => {
    const api = await t.loginAs('operator');
    const jobId = await startJob(api, 'engine', 'hello', { NAME: 'again' });
    // A page of its own: signed out. The app asks for the job as it starts, before it knows that.
    const other = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    other.setDefaultTimeout(15_000);
    try {
      await withScreenshotOnFailure(other, 'jobs-signed-out', async () => {
        await other.goto(`${t.baseUrl}/jobs/${jobId}`);
        await other.waitForURL(/\/login/);
        await other.getByLabel('Username').fill('olga');
        await other.getByLabel('Password').fill('run it all');
        await other.getByRole('button', { name: 'Sign in' }).click();
        await other.waitForURL(`${t.baseUrl}/jobs/${jobId}`);
        await other.getByTestId('log-viewport').getByText('hello again').waitFor();
        await other.locator('dl [data-status=success]').waitFor();
      });
    } finally {
      await other.close();
    }
  });

  it('opens a long job at its end, then loads earlier output for a #L link, scrolling up and a search', async () => {
    await withScreenshotOnFailure(page, 'jobs-long', async () => {
      const api = await t.loginAs('operator');
      const jobId = await startJob(api, 'engine', 'gen', { MODE: 'numbered' });
      await expect
        .poll(async () => ((await (await api.get(`/api/jobs/${jobId}`)).json()) as Job).status, {
          timeout: 30_000,
        })
        .toBe('success');
      const row = (n: number) =>
        viewer().locator('[data-stream=stdout]', {
          hasText: `numbered ${String(n).padStart(6, '0')} `,
        });
      const numberOf = async (n: number) => Number(await row(n).getAttribute('data-line'));
      // Where each numbered line should be: stdout and stderr arrive in an order of their own.
      const want = expectedLineNumbers(await storedEvents(api, jobId));
      const wanted = (n: number) =>
        want.get(`numbered ${String(n).padStart(6, '0')} ${'.'.repeat(24)}`);

      const end = viewer().locator('[data-stream=system]', { hasText: 'exited with code 0' });
      await page.goto(`${t.baseUrl}/jobs/${jobId}`);
      // It opens at its end: the job's last line is on screen, earlier ones wait.
      await end.waitFor();
      const earlier = page.getByRole('note').filter({ hasText: 'earlier lines load as you' });
      await earlier.waitFor();
      // The last stdout line is near the end, but stderr's last lines may have come after it (the
      // pipes are read in an order of their own), so it may be off screen: a link brings it.
      await page.evaluate((n) => (window.location.hash = `#L${n}`), wanted(60_000)!);
      await row(60_000).waitFor();
      expect(await numberOf(60_000)).toBe(wanted(60_000));
      // A link to a line not loaded yet: fetched, shown and marked.
      await page.evaluate((n) => (window.location.hash = `#L${n}`), wanted(5)!);
      await row(5).waitFor();
      expect(await numberOf(5)).toBe(wanted(5));
      expect(await row(5).getAttribute('aria-current')).toBe('true');
      expect(await earlier.count()).toBe(0);
      for (const n of [999, 1001, 30_000, 59_999]) {
        await page.evaluate((line) => (window.location.hash = `#L${line}`), wanted(n)!);
        await row(n).and(page.locator('[aria-current=true]')).waitFor();
        expect(await numberOf(n)).toBe(wanted(n));
      }

      // Scrolling up from the end loads the pages before, the reader staying in place.
      await page.goto(`${t.baseUrl}/jobs/${jobId}`);
      await end.waitFor();
      await earlier.waitFor();
      for (let i = 0; i < 40 && (await earlier.count()) > 0; i++) {
        await viewer().evaluate((el) => (el.scrollTop = 0));
        await page.waitForTimeout(100);
      }
      expect(await earlier.count()).toBe(0);
      await viewer().evaluate((el) => (el.scrollTop = 0));
      await row(1).waitFor();
      expect(await numberOf(1)).toBe(wanted(1));

      // A search reads the whole output first.
      await page.reload();
      await end.waitFor();
      await page.getByLabel('Search the output').fill('numbered 000002 ');
      await page.getByText('1 matching line').waitFor();
      await page.getByRole('button', { name: 'Next match' }).click();
      await row(2).waitFor();
      expect(await row(2).getAttribute('aria-current')).toBe('true');
    });
  }, 120_000); // three opens of a 60,000-line job and loading all of it, on a busy machine

  it('lists jobs newest first, filters them, and adds new ones live', async () => {
    await withScreenshotOnFailure(page, 'jobs-history', async () => {
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.goto(t.baseUrl + '/jobs');
      await page.getByRole('link', { name: 'make hello NAME=dana' }).waitFor();
      await page.screenshot({ path: path.join(TEST_RESULTS_DIR, 'jobs-history.png') });
      const first = page.locator('tbody tr').first();
      expect(await first.getAttribute('data-job')).toBeTruthy();

      await page.getByLabel('Status').selectOption('success');
      await page.waitForURL(/status=success/);
      await page.getByLabel('Command contains').fill('hello');
      await page.waitForURL(/q=hello/);
      await page.getByRole('link', { name: 'make xss' }).waitFor({ state: 'detached' });
      await page.getByRole('link', { name: 'make hello NAME=dana' }).waitFor();

      // A job started elsewhere appears on top without a reload.
      await page.getByLabel('Status').selectOption('');
      await page.getByLabel('Command contains').fill('');
      await page.waitForURL(t.baseUrl + '/jobs');
      const api = await t.loginAs('operator');
      const res = await api.post('/api/jobs/stream', {
        alias: 'engine',
        target: 'hello',
        args: { NAME: 'live' },
      });
      expect(res.status).toBe(201);
      await page.getByRole('link', { name: 'make hello NAME=live' }).waitFor();
      expect(await page.locator('tbody tr').first().textContent()).toContain(
        'make hello NAME=live',
      );
      await page.screenshot({ path: path.join(DOCS, 'screenshot-jobs.png') });
      await page.getByRole('button', { name: 'Switch to dark theme' }).click();
      await page.screenshot({ path: path.join(DOCS, 'screenshot-jobs-dark.png') });
      await page.getByRole('button', { name: 'Switch to light theme' }).click();
    });
    expect(consoleErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
    expect(dialogs).toEqual([]);
  });

  it('pages a long history by cursor: every job once, in order, ties on the same instant included', async () => {
    // 120 finished jobs, 40 of them created at the very same millisecond: the cursor must order
    // them by id as well, or a page boundary inside the tie would skip or repeat jobs.
    const tie = new Date(Date.now() - 3_600_000);
    const rows = Array.from({ length: 120 }, (_, i) => ({
      type: 'stream' as const,
      status: i % 7 === 0 ? ('failed' as const) : ('success' as const),
      project: 'engine',
      target: 'paged',
      command: `make paged N=${i}`,
      args: JSON.stringify({ N: String(i) }),
      argv: JSON.stringify(['make', 'paged', `N=${i}`]),
      exit_code: i % 7 === 0 ? 2 : 0,
      created_at: i < 40 ? tie : new Date(tie.getTime() + (i - 39) * 1000),
      started_at: tie,
      finished_at: tie,
    }));
    const inserted = await t.db.db.insertInto('jobs').values(rows).returning('id').execute();
    await withScreenshotOnFailure(page, 'jobs-paging', async () => {
      await page.goto(t.baseUrl + '/jobs?q=make+paged');
      const ids = () =>
        page.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job')));
      await page.getByText('50 jobs so far, newest first').waitFor();
      const more = page.getByRole('button', { name: 'Load more' });
      await more.click();
      await page.getByText('100 jobs so far, newest first').waitFor();
      await more.click();
      await page.getByText('120 jobs, newest first').waitFor();
      expect(await more.count()).toBe(0);
      const shown = await ids();
      expect(new Set(shown).size).toBe(120);
      expect(new Set(shown)).toEqual(new Set(inserted.map((r) => r.id)));
      // Newest first: N=119 … N=40 by time, then the tied 40 in a stable order.
      const commands = await page
        .locator('tbody tr')
        .evaluateAll((trs) => trs.map((tr) => /N=(\d+)/.exec(tr.textContent ?? '')?.[1]));
      expect(commands.slice(0, 80).map(Number)).toEqual(
        Array.from({ length: 80 }, (_, k) => 119 - k),
      );
      expect(new Set(commands.slice(80).map(Number))).toEqual(
        new Set(Array.from({ length: 40 }, (_, k) => k)),
      );
    });
  });
});
