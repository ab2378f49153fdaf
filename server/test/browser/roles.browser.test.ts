// One permission model as a person meets it (SPEC §4), in Debian's Chromium against the real server,
// make and sshd: a viewer, an operator and an admin each walk every page and press every control the
// page shows them; not one answer may be a 403 and the console stays clean. Then the safety rails
// by hand: a re-run of a `@confirm` target asks again through its form, filled in as it ran; a
// protected project's palette entry opens the form that wants its name; a fan-out over a protected
// environment waits for the name to be typed; a running `@confirm` job asks before it is canceled.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
import {
  builtWebDir,
  launchBrowser,
  SCREENSHOTS_DIR,
  signIn,
  withScreenshotOnFailure,
  type BrowserFixture,
} from '../fixtures/browser.js';
import { startSshd, type SshdFixture } from '../fixtures/sshd.js';

const JOB_URL = /\/jobs\/[0-9a-f-]{36}$/;
const root = mkdtempSync(path.join(tmpdir(), 'vmo-roles-'));

function project(name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir);
  writeFileSync(
    path.join(dir, 'Makefile'),
    `.PHONY: build deploy migrate
build: ## Compile it
\t@echo built
deploy: ## Ship it @param ENV=staging|prod @confirm
\t@echo "shipping to $(ENV)"
migrate: ## Migrate the database, slowly @confirm
\t@echo migrating; sleep 60
`,
  );
  return dir;
}

describe('every page and control for each role', { timeout: 240_000 }, () => {
  let sshd: SshdFixture;
  let t: TestApp;
  let admin: HttpClient;
  let browser: BrowserFixture;
  const users: Record<Role, { username: string; password: string }> = {
    viewer: { username: 'vera', password: 'only looking' },
    operator: { username: 'otto', password: 'runs things' },
    admin: { username: 'ada', password: 'does it all' },
  };
  const jobs: Record<string, string> = {};

  beforeAll(async () => {
    sshd = await startSshd();
    const envs = path.join(root, 'environments');
    mkdirSync(path.join(envs, 'lab'), { recursive: true });
    writeFileSync(path.join(envs, 'lab', 'config.yml'), 'vms:\n  vmo-test: { host: 127.0.0.1 }\n');
    mkdirSync(path.join(envs, 'prod'), { recursive: true });
    writeFileSync(
      path.join(envs, 'prod', 'config.yml'),
      'protected: true\nvms:\n  vmo-test2: { host: 127.0.0.1 }\n',
    );
    t = await startTestApp({
      webDir: builtWebDir(),
      config: {
        ssh: { config: sshd.configFile },
        vmConfig: { dir: envs },
        projects: [
          { alias: 'shop', dir: project('shop') },
          { alias: 'billing', dir: project('billing'), protected: true },
        ],
        presets: [{ name: 'hello', command: 'echo hello from the vm' }],
        security: { allowAdHoc: true },
        jobs: { graceSeconds: 1 },
      },
    });
    for (const [role, u] of Object.entries(users) as [Role, (typeof users)[Role]][])
      await t.users.createIfMissing({
        username: u.username,
        role,
        password_hash: await t.auth.hashPassword(u.password),
      });
    admin = await t.loginAs('admin');
    const start = async (p: string, body: unknown) =>
      ((await (await admin.post(p, body)).json()) as { jobId: string }).jobId;
    jobs.stream = await start('/api/jobs/stream', { alias: 'shop', target: 'build' });
    jobs.adhoc = await start('/api/jobs/ssh-logs', { hostAlias: 'vmo-test', command: 'uname -a' });
    jobs.group = await start('/api/jobs/fanout', { environment: 'lab', preset: 'hello' });
    jobs.protected = await start('/api/jobs/stream', {
      alias: 'billing',
      target: 'build',
      confirm: 'billing',
    });
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await sshd?.stop();
  });

  /** A signed-in page that records every 401 and 403 from then on, and every console error. */
  async function pageFor(role: Role) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    // Signed out, the sign-in page's own 401 is expected: count from signed in.
    await signIn(page, t.baseUrl, users[role].username, users[role].password);
    const refused: string[] = [];
    const errors: string[] = [];
    page.on('response', (r: Response) => {
      if (r.status() === 403 || r.status() === 401)
        refused.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    return { page, refused, errors };
  }

  /**
   * Presses each visible, enabled button of the page once (but the ones that end a session or a
   * user), and the submit
   * button of a dialog it opens; then returns to the page. Returns the names pressed, and those
   * of the page's download links.
   */
  async function pressEverything(page: Page, url: string): Promise<string[]> {
    const pressed: string[] = [];
    await page.goto(url);
    await page.waitForLoadState('networkidle');
    const names = await page
      .locator('main button:visible, header button:visible')
      .evaluateAll((els) =>
        els
          .filter((e) => !(e as HTMLButtonElement).disabled)
          .map((e) => e.getAttribute('aria-label') ?? e.textContent?.trim() ?? ''),
      );
    // Downloads are links: offered, not pressed.
    const downloads = await page
      .locator('main a[download]:visible')
      .evaluateAll((els) => els.map((e) => e.textContent?.trim() ?? ''));
    pressed.push(...downloads);
    // Not signing out, and not deleting or disabling the other people of this suite.
    const kept = (n: string) => n && !/^(sign out|delete |disable|enable)/i.test(n);
    for (const name of [...new Set(names)].filter(kept)) {
      const button = page
        .locator('main button:visible, header button:visible')
        .filter({ hasText: name })
        .or(page.locator(`main button[aria-label="${name}"]:visible`))
        .first();
      // A press before may navigate late (a run opens its job once the server answered): back to
      // the page, and once more if the button went away under us.
      let disabled: boolean | null = null;
      for (let attempt = 0; attempt < 3 && disabled === null; attempt++) {
        if (page.url() !== url) {
          await page.goto(url);
          await page.waitForLoadState('networkidle');
        }
        if (!(await button.count())) break;
        disabled = await button.isDisabled({ timeout: 2_000 }).catch(() => null);
      }
      if (disabled !== false) continue;
      await button.click();
      pressed.push(name);
      await page.waitForTimeout(250);
      const dialog = page.getByRole('dialog');
      if (await dialog.isVisible()) {
        const submit = dialog.locator('button[type=submit]:enabled');
        if (await submit.count()) {
          await submit.first().click();
          await page.waitForTimeout(300);
        }
        if (await dialog.isVisible()) await page.keyboard.press('Escape');
      }
      await page.waitForLoadState('networkidle').catch(() => {});
    }
    return pressed;
  }

  it.each(['viewer', 'operator', 'admin'] as Role[])(
    'a %s walks every page, presses every control it is shown, and meets no 403',
    async (role) => {
      const { page, refused, errors } = await pageFor(role);
      await withScreenshotOnFailure(page, `roles-${role}`, async () => {
        const pages = [
          '/',
          '/projects',
          '/projects/shop',
          '/projects/billing',
          '/vms',
          '/vms/lab/vmo-test',
          '/vms/prod/vmo-test2',
          '/jobs',
          ...Object.values(jobs).map((id) => `/jobs/${id}`),
          '/account',
          '/users',
          '/audit',
        ];
        const pressed: Record<string, string[]> = {};
        for (const p of pages) pressed[p] = await pressEverything(page, t.baseUrl + p);
        // What each role is offered, where it matters.
        const offered = (p: string, name: RegExp) => pressed[p]!.some((n) => name.test(n));
        expect({
          run: offered('/projects/shop', /^Run build$/),
          terminal: offered('/vms/lab/vmo-test', /^Terminal$/),
          rerun: offered(`/jobs/${jobs.stream}`, /Re-run/),
          adhocLog: offered(`/jobs/${jobs.adhoc}`, /Download log/),
          log: offered(`/jobs/${jobs.stream}`, /Download log/),
        }).toEqual({
          run: role !== 'viewer',
          terminal: role === 'admin',
          rerun: role !== 'viewer',
          adhocLog: role === 'admin',
          log: true,
        });
        expect(refused).toEqual([]);
        expect(errors.filter((e) => !/Failed to load resource.*40[49]/.test(e))).toEqual([]);
      });
      // The text of an ad-hoc command is the admins'.
      await page.goto(`${t.baseUrl}/jobs/${jobs.adhoc}`);
      await page
        .getByText(/ssh vmo-test --/)
        .first()
        .waitFor();
      expect((await page.getByText('uname -a').count()) > 0).toBe(role === 'admin');
      expect(await page.getByTestId('output-withheld').count()).toBe(role === 'admin' ? 0 : 1);
      await page.close();
    },
  );

  it('re-runs a @confirm target through its form, filled in as it ran, asking again', async () => {
    const { page, refused } = await pageFor('operator');
    await withScreenshotOnFailure(page, 'roles-rerun', async () => {
      const res = await admin.post('/api/jobs/stream', {
        alias: 'shop',
        target: 'deploy',
        args: { ENV: 'prod' },
        confirm: true,
      });
      const { jobId } = (await res.json()) as { jobId: string };
      await page.goto(`${t.baseUrl}/jobs/${jobId}`);
      await page.locator('dl [data-status=success]').waitFor();
      await page.getByRole('button', { name: 'Re-run…' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByText('This target asks for confirmation before it runs.').waitFor();
      expect(await dialog.getByLabel('ENV').inputValue()).toBe('prod');
      await dialog.getByLabel('ENV').selectOption('staging');
      await dialog.getByRole('button', { name: 'Yes, run it' }).click();
      await page.waitForURL((url) => JOB_URL.test(url.pathname) && !url.pathname.includes(jobId));
      await page.getByTestId('log-viewport').getByText('shipping to staging').waitFor();
      expect(refused).toEqual([]);
    });
    await page.close();
  });

  it('asks before canceling a running @confirm job', async () => {
    const { page } = await pageFor('operator');
    await withScreenshotOnFailure(page, 'roles-cancel', async () => {
      const res = await admin.post('/api/jobs/stream', {
        alias: 'shop',
        target: 'migrate',
        confirm: true,
      });
      expect(res.status).toBe(201);
      const { jobId } = (await res.json()) as { jobId: string };
      await page.goto(`${t.baseUrl}/jobs/${jobId}`);
      await page.locator('dl [data-status=running]').waitFor();
      await page.getByRole('button', { name: 'Cancel', exact: true }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByText('This target asks before it runs').waitFor();
      await dialog.getByRole('button', { name: 'Yes, cancel it' }).click();
      await page.locator('dl [data-status=canceled]').waitFor({ timeout: 20_000 });
    });
    await page.close();
  });

  it('opens the form of a protected project from the palette, which runs only once its name is typed', async () => {
    const { page } = await pageFor('operator');
    await withScreenshotOnFailure(page, 'roles-protected', async () => {
      await page.goto(t.baseUrl + '/');
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      await page.keyboard.press('Control+k');
      await page.getByPlaceholder('Find a target or a preset…').fill('billing build');
      await page.locator('[data-entry="t:billing/build"]').waitFor();
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/projects\/billing\?run=build$/);
      const dialog = page.getByRole('dialog');
      await dialog.getByText('is protected. Type its name to confirm.').waitFor();
      const go = dialog.getByRole('button', { name: 'Yes, run it' });
      expect(await go.isDisabled()).toBe(true);
      await dialog.getByRole('textbox', { name: /protected/ }).fill('billin');
      expect(await go.isDisabled()).toBe(true);
      await dialog.getByRole('textbox', { name: /protected/ }).fill('billing');
      await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'screenshot-protected-run.png') });
      await go.click();
      await page.waitForURL(JOB_URL);
      await page.locator('dl [data-protected=billing]').waitFor();
      await page.locator('dl [data-status=success]').waitFor();
    });
    await page.close();
  });

  it('fans out over a protected environment only once its name is typed', async () => {
    const { page } = await pageFor('operator');
    await withScreenshotOnFailure(page, 'roles-fanout', async () => {
      await page.goto(t.baseUrl + '/vms');
      await page.locator('[data-protected=prod]').first().waitFor();
      await page.getByRole('button', { name: 'Run on all of prod…' }).click();
      await page.getByRole('button', { name: 'Run hello on all of prod' }).click();
      const confirm = page.getByRole('dialog').filter({ hasText: 'Type its name to confirm' });
      await confirm.waitFor();
      await confirm.getByRole('textbox').fill('prod');
      await confirm.getByRole('button', { name: 'Yes, run it' }).click();
      await page.waitForURL(JOB_URL);
      await page.locator('dl [data-protected=prod]').waitFor();
      await page.locator('dl [data-status=success]').waitFor({ timeout: 30_000 });
      // What the page showed is what was stored: one group over prod, a child per VM, all green,
      // and the audit entry says the name was typed.
      const groupId = page.url().split('/').pop()!;
      const group = await t.db.pool.query<{ status: string; host: string; command: string }>(
        'select status, host, command from jobs where id = $1',
        [groupId],
      );
      expect(group.rows[0]).toMatchObject({ status: 'success', host: 'prod' });
      const children = await t.db.pool.query<{ status: string }>(
        'select status from jobs where parent_id = $1',
        [groupId],
      );
      expect(children.rows.length).toBeGreaterThan(0);
      expect(new Set(children.rows.map((c) => c.status))).toEqual(new Set(['success']));
      const audit = await t.db.pool.query<{ details: { confirmed?: string } }>(
        "select details from audit_log where target = $1 and action = 'job.fanout'",
        [groupId],
      );
      expect(audit.rows.map((r) => r.details.confirmed)).toEqual(['typed']);
    });
    await page.close();
  });
});
