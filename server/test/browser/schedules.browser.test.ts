// Schedules from the UI, in Chromium against the real server and its scheduler (issue 23): a new
// schedule made with the form (its expression read back in words with the next five times), listed
// with its next run, firing every second as its owner, each run on its page with its job, the job
// saying what started it; then paused.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
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

const run = promisify(execFile);
const project = mkdtempSync(path.join(tmpdir(), 'vmo-schedules-ui-'));
writeFileSync(
  path.join(project, 'Makefile'),
  'backup: ## Back the database up\n\t@echo "backup done"\nreport: ## Mail the report @confirm\n\t@echo sent\n',
);

describe('schedules in Chromium', { timeout: 90_000 }, () => {
  let t: TestApp;
  let browser: BrowserFixture;
  let page: Page;
  let stopScheduler: () => Promise<void>;

  beforeAll(async () => {
    t = await startTestApp({
      webDir: builtWebDir(),
      config: { projects: [{ alias: 'shop', dir: project }], jobs: { graceSeconds: 1 } },
    });
    stopScheduler = t.services.scheduler.start();
    await t.users.createIfMissing({
      username: 'sam',
      role: 'operator',
      password_hash: await t.auth.hashPassword('on a timetable'),
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    await signIn(page, t.baseUrl, 'sam', 'on a timetable');
  });

  afterAll(async () => {
    await stopScheduler?.();
    await browser?.close();
    await t?.close();
  });

  it('makes a schedule with the form, reads it back in words, and shows each run with its job', async () => {
    await withScreenshotOnFailure(page, 'schedules', async () => {
      await page.goto(t.baseUrl + '/schedules');
      await page.getByText('No schedules yet').waitFor();
      await page.getByRole('button', { name: 'New schedule' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Target', { exact: true }).selectOption('backup');
      await dialog.getByLabel('Time zone').selectOption('Europe/Berlin');
      // Read back in words as it is typed, wrong or right.
      const cron = dialog.getByLabel(/^Cron expression/);
      await cron.fill('0 25 * * *');
      await expect
        .poll(() => dialog.getByTestId('schedule-words').textContent())
        .toMatch(/not a cron expression/);
      expect(await dialog.getByRole('button', { name: 'Create schedule' }).isDisabled()).toBe(true);
      await cron.fill('0 6 * * 1-5');
      await expect
        .poll(() => dialog.getByTestId('schedule-words').textContent())
        .toBe('At 06:00, Monday through Friday, Europe/Berlin');
      expect(await dialog.getByTestId('schedule-upcoming').locator('li').count()).toBe(5);
      expect(await seriousA11yViolations(page)).toEqual([]);
      await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'screenshot-schedule-form.png') });
      // Every second instead, to see it run.
      await cron.fill('* * * * * *');
      await dialog.getByLabel('Name').fill('nightly backup');
      await dialog.getByRole('button', { name: 'Create schedule' }).click();
      const row = page.locator('tr[data-schedule="nightly backup"]');
      await row.waitFor();
      expect(await row.textContent()).toContain('shop: make backup');

      // Its page fills with runs, each linked to its job.
      await row.getByRole('link', { name: 'nightly backup' }).click();
      await page.waitForURL(/\/schedules\/[0-9a-f-]{36}$/);
      const runs = page.locator('tr[data-fire=started]');
      await expect.poll(() => runs.count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
      await page.reload();
      await runs.first().waitFor();
      expect(await seriousA11yViolations(page)).toEqual([]);
      await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'screenshot-schedule.png') });
      await page.getByRole('button', { name: 'Pause' }).click();
      await page.getByRole('button', { name: 'Resume' }).waitFor();
      expect(await page.getByTestId('schedule-next').textContent()).toMatch(/paused/);

      // A run's job says what started it.
      await runs.first().getByRole('link').click();
      await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
      expect(await page.getByTestId('job-trigger').textContent()).toMatch(
        /the schedule nightly backup/,
      );
    });
  });

  it('asks for the confirmation a @confirm target needs before it saves', async () => {
    await withScreenshotOnFailure(page, 'schedules-confirm', async () => {
      await page.goto(t.baseUrl + '/schedules');
      await page.getByRole('button', { name: 'New schedule' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Target', { exact: true }).selectOption('report');
      await dialog.getByLabel(/^Cron expression/).fill('0 7 * * 1');
      await dialog.getByRole('button', { name: 'Create schedule' }).click();
      await expect.poll(() => dialog.getByRole('alert').textContent()).toMatch(/confirm/i);
      await dialog.getByLabel(/I confirm it runs on this schedule/).check();
      await dialog.getByRole('button', { name: 'Create schedule' }).click();
      await page.locator('tr[data-schedule="shop: make report"]').waitFor();
    });
  });

  it('makes a trigger whose curl line, as shown once, starts the target and waits for it', async () => {
    await t.users.createIfMissing({
      username: 'ada',
      role: 'admin',
      password_hash: await t.auth.hashPassword('ship it from CI'),
    });
    const admin = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    admin.setDefaultTimeout(20_000);
    try {
      await withScreenshotOnFailure(admin, 'triggers', async () => {
        await signIn(admin, t.baseUrl, 'ada', 'ship it from CI');
        await admin.getByRole('link', { name: 'Triggers' }).click();
        await admin.getByRole('button', { name: 'New trigger' }).click();
        const dialog = admin.getByRole('dialog');
        await dialog.getByLabel('Name').fill('backup from CI');
        await dialog.getByLabel('Target', { exact: true }).selectOption('backup');
        await dialog.getByRole('button', { name: 'Create trigger' }).click();
        const shown = admin.getByTestId('trigger-secret');
        const line = (await shown.locator('pre').textContent())!;
        expect(line).toMatch(/^curl -fsS -X POST -H "Authorization: Bearer vmo_trg_[\w-]+" "http/);
        expect(await seriousA11yViolations(admin)).toEqual([]);
        await admin.screenshot({ path: path.join(SCREENSHOTS_DIR, 'screenshot-triggers.png') });
        // The line as a CI step runs it.
        const { stdout } = await run('sh', ['-c', line]);
        expect(JSON.parse(stdout)).toMatchObject({ status: 'success', exitCode: 0 });
        await admin.getByRole('button', { name: 'Done' }).click();
        await admin.reload();
        const row = admin.locator('tr[data-trigger="backup from CI"]');
        await expect.poll(() => row.textContent()).toMatch(/1 ×/);
        expect(await admin.getByTestId('trigger-secret').count()).toBe(0);
      });
    } finally {
      await admin.close();
    }
  });

  it('tells, on the next page opened, the end of a job that ended while no page was open', async () => {
    await withScreenshotOnFailure(page, 'unseen-ends', async () => {
      await page.goto('about:blank'); // no page of sam's is open
      const sam = new HttpClient(t.baseUrl);
      await sam.post('/api/auth/login', { username: 'sam', password: 'on a timetable' });
      const started = await sam.post('/api/jobs/stream', { alias: 'shop', target: 'backup' });
      const { jobId } = (await started.json()) as { jobId: string };
      await expect
        .poll(async () => ((await (await sam.get(`/api/jobs/${jobId}`)).json()) as Job).status, {
          timeout: 20_000,
        })
        .toBe('success');
      await page.goto(t.baseUrl + '/jobs');
      const toast = page.locator('[data-toast]', { hasText: 'make backup — success' });
      await toast.first().waitFor();
      // Told once: after a reload it is not told again.
      await expect
        .poll(
          async () =>
            ((await (await sam.get('/api/notifications/unseen')).json()) as Job[]).map(
              (j) => `${j.command} ${j.status} ${j.trigger.kind}`,
            ),
          { timeout: 10_000 },
        )
        .toEqual([]);
      await page.reload();
      await page.getByRole('heading', { name: 'Jobs' }).waitFor();
      await page.waitForTimeout(1_000);
      expect(await toast.count()).toBe(0);
    });
  });
});
