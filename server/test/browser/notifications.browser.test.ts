// Notifications from the UI, in Chromium against the real server, its outbox sender and a real
// receiver that verifies signatures (issue 24): an admin makes a webhook channel (its secret shown
// once) and a rule, sends a test, sees a failed job's delivery in the log and sends it again; an
// operator keeps a rule about their own jobs only, and sees no channels or log.
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
import { startWebhookReceiver, type WebhookReceiver } from '../fixtures/receivers.js';

const project = mkdtempSync(path.join(tmpdir(), 'vmo-notify-ui-'));
writeFileSync(
  path.join(project, 'Makefile'),
  'migrate: ## Migrate the database\n\t@echo "relation users already exists" >&2; exit 1\n',
);

describe('notifications in Chromium', { timeout: 90_000 }, () => {
  let t: TestApp;
  let browser: BrowserFixture;
  let page: Page;
  let hook: WebhookReceiver;
  let stopDispatcher: () => Promise<void>;

  beforeAll(async () => {
    hook = await startWebhookReceiver();
    t = await startTestApp({
      webDir: builtWebDir(),
      config: {
        projects: [{ alias: 'shop', dir: project }],
        notifications: { pollSeconds: 0.2, firstRetrySeconds: 0.2 },
      },
    });
    stopDispatcher = t.services.dispatcher.start();
    for (const [username, role] of [
      ['ada', 'admin'],
      ['sam', 'operator'],
    ] as const)
      await t.users.createIfMissing({
        username,
        role,
        password_hash: await t.auth.hashPassword('tell me when it breaks'),
      });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
  });

  afterAll(async () => {
    await stopDispatcher?.();
    await browser?.close();
    await t?.close();
    await hook?.close();
  });

  it('makes a signed webhook channel and a rule, and logs the delivery of a failure', async () => {
    await withScreenshotOnFailure(page, 'notifications', async () => {
      await signIn(page, t.baseUrl, 'ada', 'tell me when it breaks');
      await page.getByRole('link', { name: 'Notifications' }).click();
      await page.getByText('No channels yet').first().waitFor();

      await page.getByRole('button', { name: 'New channel' }).click();
      let dialog = page.getByRole('dialog');
      await dialog.getByLabel('Name').fill('ops hook');
      await dialog.getByLabel('URL').fill(hook.url);
      await dialog.getByRole('button', { name: 'Create channel' }).click();
      const shown = page.getByTestId('channel-secret');
      hook.secret = (await shown.locator('pre').textContent())!.trim();
      expect(hook.secret).toMatch(/^[\w-]{43}$/);
      await page.getByRole('button', { name: 'Done' }).click();

      // A test message, signed: the receiver takes it.
      const row = page.locator('tr[data-channel="ops hook"]');
      await row.getByRole('button', { name: 'Send a test' }).click();
      await page.locator('[data-toast]', { hasText: 'A test message went to' }).waitFor();
      expect(hook.received.at(-1)?.verified).toBe(true);

      await page.getByRole('button', { name: 'New rule' }).click();
      dialog = page.getByRole('dialog');
      await dialog.getByLabel('Project').selectOption('shop');
      await dialog.getByLabel('recovers').check();
      await dialog.getByRole('button', { name: 'Create rule' }).click();
      await page.getByText('every job: project shop').waitFor();

      // A failure is told, and is in the log.
      const ada = new HttpClient(t.baseUrl);
      await ada.post('/api/auth/login', { username: 'ada', password: 'tell me when it breaks' });
      const res = await ada.post('/api/jobs/stream', { alias: 'shop', target: 'migrate' });
      const { jobId } = (await res.json()) as { jobId: string };
      await expect
        .poll(() => hook.received.filter((r) => r.json.event === 'failed').length, {
          timeout: 15_000,
        })
        .toBe(2); // the test message and the job's
      expect((hook.received.at(-1)!.json.job as Job).id).toBe(jobId);
      expect(hook.received.at(-1)!.json.lines).toEqual([
        expect.stringMatching(/^started: make migrate/),
        'relation users already exists',
        'make: *** [Makefile:2: migrate] Error 1',
        expect.stringMatching(/^exited with code 2/),
      ]);
      await page.getByRole('button', { name: 'Refresh' }).click();
      const delivery = page.locator('tr[data-delivery][data-status=sent]');
      await delivery.first().waitFor();
      expect(await delivery.first().textContent()).toContain('make migrate');
      expect(await seriousA11yViolations(page)).toEqual([]);
      await page.screenshot({
        path: path.join(SCREENSHOTS_DIR, 'screenshot-notifications.png'),
        fullPage: true,
      });

      await delivery.first().getByRole('button', { name: 'Send again' }).click();
      await expect.poll(() => hook.received.length, { timeout: 10_000 }).toBe(3);
    });
  });

  it('lets an operator keep rules about their own jobs only', async () => {
    const sam = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    sam.setDefaultTimeout(20_000);
    try {
      await withScreenshotOnFailure(sam, 'notifications-operator', async () => {
        await signIn(sam, t.baseUrl, 'sam', 'tell me when it breaks');
        await sam.goto(t.baseUrl + '/notifications');
        await sam.getByRole('heading', { name: 'Your rules' }).waitFor();
        expect(await sam.getByRole('heading', { name: 'Channels' }).count()).toBe(0);
        expect(await sam.getByRole('heading', { name: 'Delivery log' }).count()).toBe(0);
        await sam.getByRole('button', { name: 'New rule' }).click();
        const dialog = sam.getByRole('dialog');
        const mine = dialog.getByLabel(/Only jobs I start/);
        expect(await mine.isChecked()).toBe(true);
        expect(await mine.isDisabled()).toBe(true);
        await dialog.getByRole('button', { name: 'Create rule' }).click();
        await sam.getByText('my jobs', { exact: false }).first().waitFor();
        expect(await sam.locator('tr[data-rule]').count()).toBe(1);
        expect(await seriousA11yViolations(sam)).toEqual([]);
      });
    } finally {
      await sam.close();
    }
  });
});
