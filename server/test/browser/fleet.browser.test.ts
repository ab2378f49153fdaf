// The fleet from the UI, in Chromium against the real server and sshd (issue 22): a make target
// and a preset fanned out over an environment or the VMs ticked (one of them unreachable), a
// project's targets run on one of its remote hosts from its page, and reached from a VM's page.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { JobWithChildren } from '@vmo/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { freePort, startSshd, type SshdFixture } from '../fixtures/sshd.js';

const JOB_URL = /\/jobs\/[0-9a-f-]{36}$/;
const root = mkdtempSync(path.join(tmpdir(), 'vmo-fleet-ui-'));
const local = path.join(root, 'svc');
const deployed = path.join(root, 'srv', 'svc');
mkdirSync(local, { recursive: true });
mkdirSync(deployed, { recursive: true });
writeFileSync(path.join(local, 'Makefile'), 'build: ## Build here\n\t@echo built\n');
writeFileSync(
  path.join(deployed, 'Makefile'),
  `.PHONY: status tick shell
status: ## Report the service's status
\t@echo "svc is up on $$(hostname)"
tick: ## Count slowly
\t@for i in 1 2 3 4 5 6; do echo "tick $$i of $(notdir $(CURDIR))"; sleep 0.5; done
shell: ## A console @interactive
\t@sh
`,
);

describe('the fleet in Chromium', { timeout: 90_000 }, () => {
  let sshd: SshdFixture;
  let t: TestApp;
  let operator: HttpClient;
  let browser: BrowserFixture;
  let page: Page;

  beforeAll(async () => {
    sshd = await startSshd();
    const config = path.join(root, 'ssh_config');
    writeFileSync(
      config,
      `Include ${sshd.configFile}\nHost down\n  HostName 127.0.0.1\n  Port ${await freePort()}\n  ConnectTimeout 3\n`,
    );
    const envs = path.join(root, 'environments');
    mkdirSync(path.join(envs, 'stage'), { recursive: true });
    // Each VM's name is its ssh entry's: vmo-test, vmo-test2, and one that does not answer.
    writeFileSync(
      path.join(envs, 'stage', 'config.yml'),
      'vms:\n  vmo-test: { host: 10.1.0.1 }\n  vmo-test2: { host: 10.1.0.2 }\n  down: { host: 10.1.0.3 }\n',
    );
    t = await startTestApp({
      webDir: builtWebDir(),
      config: {
        ssh: { config },
        vmConfig: { dir: envs },
        projects: [
          {
            alias: 'svc',
            dir: local,
            remote: ['vmo-test', 'vmo-test2', 'down'].map((host) => ({ host, dir: deployed })),
          },
        ],
        presets: [{ name: 'hi', command: 'echo hi' }],
        jobs: { graceSeconds: 1 },
      },
    });
    await t.users.createIfMissing({
      username: 'olga',
      role: 'operator',
      password_hash: await t.auth.hashPassword('run it all'),
    });
    operator = await t.loginAs('operator');
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    await signIn(page, t.baseUrl, 'olga', 'run it all');
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await sshd?.stop();
  });

  const jobOf = async (url: string) =>
    (await (await operator.get(`/api/jobs/${url.split('/').pop()}`)).json()) as JobWithChildren;

  it('fans a make target out over an environment: the unreachable VM fails, the others succeed', async () => {
    await withScreenshotOnFailure(page, 'fleet-target-fanout', async () => {
      await page.goto(t.baseUrl + '/vms');
      await page.getByRole('button', { name: 'Run on all of stage…' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Run', { exact: true }).selectOption('target');
      const targets = dialog.getByLabel('Target', { exact: true });
      await targets.waitFor();
      expect(await targets.locator('option').allTextContents()).toEqual([
        'status',
        'tick', // the interactive `shell` is not offered
      ]);
      expect(await seriousA11yViolations(page)).toEqual([]);
      await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'screenshot-fanout-target.png') });
      await dialog.getByRole('button', { name: 'Run make status on all of stage' }).click();
      await page.waitForURL(JOB_URL);
      await page.locator('dl [data-status=failed]').waitFor({ timeout: 40_000 });
      const group = await jobOf(page.url());
      expect(group.command).toBe('fanout stage -- make status');
      expect((group.children ?? []).map((c) => [c.vm, c.status, c.command]).sort()).toEqual([
        ['stage/down', 'failed', 'make status @ stage/down'],
        ['stage/vmo-test', 'success', 'make status @ stage/vmo-test'],
        ['stage/vmo-test2', 'success', 'make status @ stage/vmo-test2'],
      ]);
      // The page shows every child ended, none still running.
      const children = page.locator('section[aria-labelledby=children-title] li');
      await expect.poll(() => children.count()).toBe(3);
      expect(
        await page.locator('section[aria-labelledby=children-title] [data-status=running]').count(),
      ).toBe(0);
      // And says which failed and how, with the last error line the failed host printed.
      expect(await page.getByTestId('group-summary').textContent()).toBe(
        '1 of 3 failed: stage/down exit 255',
      );
      const down = page.locator('li[data-child="stage/down"]');
      await expect
        .poll(() => down.getByTestId('last-error').textContent(), { timeout: 10_000 })
        .toMatch(/refused|unreachable/);
      await page.getByLabel('Only failing hosts').check();
      await expect.poll(() => children.count()).toBe(1);
      await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'screenshot-group.png') });
    });
  });

  it("merges every host's output in one live view: by host, filtered, and again after a reload", async () => {
    await withScreenshotOnFailure(page, 'fleet-merged', async () => {
      await page.setViewportSize({ width: 1280, height: 1400 });
      await page.goto(t.baseUrl + '/vms');
      await page.getByRole('button', { name: 'Run on all of stage…' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Run', { exact: true }).selectOption('target');
      await dialog.getByLabel('Target', { exact: true }).selectOption('tick');
      await dialog.getByRole('button', { name: 'Run make tick on all of stage' }).click();
      await page.waitForURL(JOB_URL);
      const rows = page.locator('[data-testid=log-viewport] [data-source]');
      const of = (host: string) =>
        page.locator(`[data-testid=log-viewport] [data-source="${host}"]`);
      // Live: each reachable host's first tick shows while the group still runs.
      await of('stage/vmo-test').filter({ hasText: 'tick 1 of svc' }).waitFor();
      await of('stage/vmo-test2').filter({ hasText: 'tick 1 of svc' }).waitFor();
      expect(await page.locator('dl [data-status=running]').count()).toBe(1);
      await page.locator('dl [data-status=failed]').waitFor({ timeout: 40_000 });
      const ticks = async (host: string) =>
        (
          await of(host)
            .filter({ hasText: /tick \d/ })
            .allTextContents()
        ).map((text) => /tick (\d)/.exec(text)![1]);
      const all = ['1', '2', '3', '4', '5', '6'];
      const merged = async () => {
        // Long enough for a reload on a loaded machine (the SPA's boot took 1–3 s in a full run).
        await expect.poll(() => ticks('stage/vmo-test'), { timeout: 20_000 }).toEqual(all);
        expect(await ticks('stage/vmo-test2')).toEqual(all);
        // Every line says its host; the group's own lines are the fan-out's.
        expect(await of('fan-out').filter({ hasText: 'fan-out to 3 hosts' }).count()).toBe(1);
        expect(await of('stage/down').count()).toBeGreaterThan(0);
      };
      await merged();
      // Each host in a colour of its own; its line numbers lead to that line of its own log.
      const colour = (host: string) =>
        of(host)
          .first()
          .locator('.host-tag')
          .evaluate((el) => getComputedStyle(el).color);
      expect(await colour('stage/vmo-test')).not.toBe(await colour('stage/vmo-test2'));
      const group = await jobOf(page.url());
      const child = group.children!.find((c) => c.vm === 'stage/vmo-test')!;
      const first = of('stage/vmo-test').filter({ hasText: 'tick 1 of svc' });
      expect(await first.getByRole('link').getAttribute('href')).toMatch(
        new RegExp(`/jobs/${child.id}#L\\d+$`),
      );
      expect(await seriousA11yViolations(page)).toEqual([]);
      await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'screenshot-merged.png') });

      // Filtered: the failing host only, then one host, then all again.
      const shown = page.getByLabel('Output of');
      await shown.selectOption({ label: 'Only failing hosts (1)' });
      await expect
        .poll(async () => [
          ...new Set(
            await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-source'))),
          ),
        ])
        .toEqual(['stage/down']);
      await shown.selectOption({ label: 'stage/vmo-test2' });
      await expect.poll(() => ticks('stage/vmo-test2')).toEqual(all);
      expect(await of('stage/vmo-test').count()).toBe(0);
      await shown.selectOption({ label: 'All hosts' });
      await merged();

      // After a reload: the same lines, replayed from the database, none twice.
      await page.reload();
      await merged();
      expect(await page.getByTestId('group-summary').textContent()).toBe(
        '1 of 3 failed: stage/down exit 255',
      );
      await page.setViewportSize({ width: 1280, height: 900 });
    });
  });

  it('fans a preset out over the VMs ticked only', async () => {
    await withScreenshotOnFailure(page, 'fleet-ticked-fanout', async () => {
      await page.goto(t.baseUrl + '/vms');
      await page.getByRole('button', { name: 'Run on all of stage…' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.locator('input[data-vm="stage/down"]').uncheck();
      await dialog.getByRole('heading', { name: 'Run on 2 of stage' }).waitFor();
      await dialog.getByRole('button', { name: 'Run hi on 2 VMs of stage' }).click();
      await page.waitForURL(JOB_URL);
      await page.locator('dl [data-status=success]').waitFor({ timeout: 30_000 });
      const group = await jobOf(page.url());
      expect((group.children ?? []).map((c) => c.vm).sort()).toEqual([
        'stage/vmo-test',
        'stage/vmo-test2',
      ]);
    });
  });

  it("runs a project's target on one of its remote hosts, picked on its page or from a VM's", async () => {
    await withScreenshotOnFailure(page, 'fleet-host-picker', async () => {
      await page.goto(t.baseUrl + '/projects/svc');
      await page.locator('tr[data-target=build]').waitFor();
      await page.getByTestId('host-picker').getByLabel('Run on').selectOption('vmo-test2');
      await page.locator('tr[data-target=status]').waitFor();
      expect(
        await page.getByRole('button', { name: 'Open a terminal for shell' }).isDisabled(),
      ).toBe(true);
      await page.getByRole('button', { name: 'Run status', exact: true }).click();
      await page.waitForURL(JOB_URL);
      await page.locator('dl [data-status=success]').waitFor();
      expect(await jobOf(page.url())).toMatchObject({
        host: 'vmo-test2',
        command: 'ssh vmo-test2 -- make status',
      });

      await page.goto(t.baseUrl + '/vms/stage/vmo-test');
      await page
        .getByTestId('vm-projects')
        .getByRole('link', { name: 'svc: its targets here' })
        .click();
      await page.waitForURL(/\/projects\/svc\?host=vmo-test$/);
      expect(await page.getByTestId('host-picker').getByLabel('Run on').inputValue()).toBe(
        'vmo-test',
      );
      await page.locator('tr[data-target=status]').waitFor();
    });
  });
});
