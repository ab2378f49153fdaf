// Users, account and audit as a person sees them in Chromium, under the server's CSP header: an admin
// creates a user, who signs in in a fresh context, makes a token (shown once) and revokes it; the
// admin then finds it all in the audit log. No Content-Security-Policy violation along the way.
// Then the three pages with a realistic team behind them, checked by axe, light and dark, for
// the README's screenshots.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { CreatedToken, Job, ManagedUser } from '@vmo/protocol';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpClient, startTestApp, type TestApp } from '../fixtures/app.js';
import { seriousA11yViolations } from '../fixtures/axe.js';
import {
  builtWebDir,
  launchBrowser,
  SCREENSHOTS_DIR,
  signIn,
  switchTheme,
  withScreenshotOnFailure,
  type BrowserFixture,
} from '../fixtures/browser.js';
import { ENGINE_PROJECT } from '../fixtures/jobs.js';

declare global {
  interface Window {
    __csp: string[];
  }
}

describe('users, account and audit pages in Chromium', () => {
  let t: TestApp;
  let browser: BrowserFixture;

  beforeAll(async () => {
    t = await startTestApp({ webDir: builtWebDir() });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** A page that records every CSP violation and console error. */
  async function watchedPage(): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    await page.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        window.__csp.push(
          `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber} ${e.sample}`,
        ),
      );
    });
    return { page, problems };
  }

  const signInAs = (page: Page, username: string, password: string) =>
    signIn(page, t.baseUrl, username, password);

  it('creates a user who signs in, makes and revokes a token; the audit log shows it', async () => {
    await t.users.createIfMissing({
      username: 'boss',
      role: 'admin',
      password_hash: await t.auth.hashPassword('boss-password'),
    });
    const { page: admin, problems } = await watchedPage();
    await withScreenshotOnFailure(admin, 'users-admin', async () => {
      const res = await admin.goto(t.baseUrl + '/login');
      const csp = res!.headers()['content-security-policy'] ?? '';
      expect(csp).toMatch(/script-src 'self' 'sha256-/);
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      await signInAs(admin, 'boss', 'boss-password');

      await admin.getByRole('link', { name: 'Users' }).click();
      await admin.waitForURL(t.baseUrl + '/users');
      await admin.getByRole('button', { name: 'New user' }).click();
      await admin.getByLabel('Username').fill('erin');
      await admin.getByLabel('Role', { exact: true }).selectOption('operator');
      await admin.getByLabel('Password', { exact: true }).fill('erin-password');
      await admin.getByRole('button', { name: 'Create user' }).click();
      const row = admin.locator('tr[data-user="erin"]');
      await row.waitFor();
      expect(await row.getByLabel('Role of erin').inputValue()).toBe('operator');
      await row.getByLabel('Role of erin').selectOption('viewer');
      await expect.poll(async () => (await t.users.findByUsername('erin'))?.role).toBe('viewer');
      // The last admin demoting itself is refused: the select is back on admin at once.
      const boss = admin.locator('tr[data-user="boss"]').getByLabel('Role of boss');
      await boss.selectOption('viewer');
      await admin.getByText(/boss is the last admin/).waitFor();
      expect(await boss.inputValue()).toBe('admin');
      expect(await admin.evaluate(() => window.__csp)).toEqual([]);
    });

    const { page: erin, problems: erinProblems } = await watchedPage();
    await withScreenshotOnFailure(erin, 'users-erin', async () => {
      await signInAs(erin, 'erin', 'erin-password');
      await erin.getByRole('link', { name: /Your account/ }).click();
      await erin.waitForURL(t.baseUrl + '/account');
      await erin.getByLabel('Name').fill('laptop');
      await erin.getByRole('button', { name: 'Create token' }).click();
      const shown = (await erin.getByTestId('new-token').textContent())?.trim() ?? '';
      expect(shown).toMatch(/^vmo_[A-Za-z0-9_-]{43}$/);
      const me = await fetch(t.baseUrl + '/api/auth/me', {
        headers: { authorization: `Bearer ${shown}` },
      });
      expect(((await me.json()) as { user: { username: string } }).user.username).toBe('erin');
      // Not there after a reload: shown once.
      await erin.reload();
      await erin.locator('tr[data-token="laptop"]').waitFor();
      expect(await erin.getByTestId('new-token').count()).toBe(0);
      await erin.getByRole('button', { name: 'Revoke laptop' }).click();
      await erin.getByRole('button', { name: 'Revoke token' }).click();
      await erin.getByText('You have no tokens.').waitFor();
      expect(
        (await fetch(t.baseUrl + '/api/auth/me', { headers: { authorization: `Bearer ${shown}` } }))
          .status,
      ).toBe(401);
      expect(await erin.evaluate(() => window.__csp)).toEqual([]);
    });

    await withScreenshotOnFailure(admin, 'users-audit', async () => {
      await admin.getByRole('link', { name: 'Audit log' }).click();
      await admin.waitForURL(t.baseUrl + '/audit');
      for (const action of ['user.create', 'user.update', 'token.create', 'token.revoke', 'login'])
        await admin.locator(`tr[data-action="${action}"]`).first().waitFor();
      await admin.getByLabel('Action').selectOption('token.revoke');
      await expect.poll(async () => admin.locator('tbody tr').count()).toBe(1);
      // The chain holds: verified up to the newest entry.
      const newest = await t.db.db
        .selectFrom('audit_log')
        .select('id')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirstOrThrow();
      await admin.getByText(`Verified up to #${newest.id}`).waitFor();
      // An edit straight in the database: the page names the entry.
      await t.db.db
        .updateTable('audit_log')
        .set({ source: '10.9.9.9' })
        .where('id', '=', newest.id - 1)
        .execute();
      await admin.getByRole('button', { name: 'Verify again' }).click();
      await admin.getByText(`its chain breaks at #${newest.id - 1}`).waitFor();
      expect(await admin.evaluate(() => window.__csp)).toEqual([]);
    });
    expect(
      [...problems, ...erinProblems].filter((p) => /Content Security Policy/i.test(p)),
    ).toEqual([]);
  });
});

describe('users, account and audit pages with a team behind them', { timeout: 90_000 }, () => {
  let t: TestApp;
  let browser: BrowserFixture;
  let page: Page;

  /** Signs `username` in over the API (a `login` entry in the audit log). */
  async function apiLogin(username: string, password: string): Promise<HttpClient> {
    const client = t.anonymous();
    const res = await client.post('/api/auth/login', { username, password });
    expect(res.status).toBe(200);
    return client;
  }

  /** Waits for the job's end (vi.waitFor: expect.poll is for tests, this runs in beforeAll). */
  async function finished(client: HttpClient, jobId: string): Promise<void> {
    await vi.waitFor(
      async () => {
        const { status } = (await (await client.get(`/api/jobs/${jobId}`)).json()) as Job;
        expect(status).toMatch(/^(success|failed|canceled)$/);
      },
      { timeout: 15_000, interval: 50 },
    );
  }

  beforeAll(async () => {
    t = await startTestApp({
      webDir: builtWebDir(),
      config: { projects: [{ alias: 'engine', dir: ENGINE_PROJECT }] },
    });

    // The team, made the way an admin makes it: through the API, so the audit log has it all.
    await t.users.createIfMissing({
      username: 'admin',
      role: 'admin',
      password_hash: await t.auth.hashPassword('admin-password'),
    });
    const admin = await apiLogin('admin', 'admin-password');
    const team = [
      ['grace', 'admin'],
      ['olga', 'operator'],
      ['omar', 'operator'],
      ['priya', 'operator'],
      ['vera', 'viewer'],
      ['victor', 'viewer'],
    ] as const;
    const ids = new Map<string, string>();
    for (const [username, role] of team) {
      const res = await admin.post('/api/users', {
        username,
        role,
        password: `${username}-pw-123`,
      });
      expect(res.status).toBe(201);
      ids.set(username, ((await res.json()) as ManagedUser).id);
    }
    // priya moved from operating to watching; victor left.
    for (const [name, patch] of [
      ['priya', { role: 'viewer' }],
      ['victor', { disabled: true }],
    ] as const)
      expect((await admin.request('PATCH', `/api/users/${ids.get(name)}`, patch)).status).toBe(200);

    // A morning's work: runs, a failure, a cancel; and a mistyped password.
    const olga = await apiLogin('olga', 'olga-pw-123');
    const omar = await apiLogin('omar', 'omar-pw-123');
    const run = async (client: HttpClient, target: string, args?: Record<string, string>) => {
      const res = await client.post('/api/jobs/stream', { alias: 'engine', target, args });
      expect(res.status).toBe(201);
      return ((await res.json()) as { jobId: string }).jobId;
    };
    await finished(olga, await run(olga, 'hello', { NAME: 'world' }));
    await finished(omar, await run(omar, 'fail'));
    const slow = await run(olga, 'slow');
    expect((await olga.post('/api/jobs/cancel', { jobId: slow })).status).toBe(202);
    await finished(olga, slow);
    expect(
      (await t.anonymous().post('/api/auth/login', { username: 'vera', password: 'nope' })).status,
    ).toBe(401);
    await apiLogin('vera', 'vera-pw-123');

    // The admin's tokens: one for CI that has been used, one that expires, one revoked.
    const made = new Map<string, CreatedToken>();
    const in90Days = new Date(Date.now() + 90 * 86_400_000).toISOString();
    for (const [name, expiresAt] of [
      ['old laptop', null],
      ['ci pipeline', null],
      ['deploy script', in90Days],
    ] as const) {
      const res = await admin.post('/api/tokens', { name, expiresAt });
      expect(res.status).toBe(201);
      made.set(name, (await res.json()) as CreatedToken);
    }
    const ci = new HttpClient(t.baseUrl, {
      authorization: `Bearer ${made.get('ci pipeline')!.token}`,
    });
    expect((await ci.get('/api/jobs?limit=1')).status).toBe(200);
    const revoked = await admin.request('DELETE', `/api/tokens/${made.get('old laptop')!.id}`);
    expect(revoked.status).toBe(204);

    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(15_000);
    await signIn(page, t.baseUrl, 'admin', 'admin-password');
    mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** axe finds nothing serious, in light and in dark, and both go to screenshot-<name>(-dark).png. */
  async function shoot(name: string) {
    await page.waitForTimeout(350); // past the delayed skeletons
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `screenshot-${name}.png`) });
    await switchTheme(page, 'dark');
    await page.waitForTimeout(100);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `screenshot-${name}-dark.png`) });
    await switchTheme(page, 'light');
  }

  it('lists the users with their roles, the disabled one marked', async () => {
    await withScreenshotOnFailure(page, 'users-page', async () => {
      await page.goto(t.baseUrl + '/users');
      await page.locator('tr[data-user="victor"]').getByText('Disabled').waitFor();
      expect(await page.locator('tbody tr').count()).toBe(7);
      expect(await page.getByLabel('Role of priya').inputValue()).toBe('viewer');
      await shoot('users');
    });
  });

  it('shows the account with its tokens, used, expiring and never expiring', async () => {
    await withScreenshotOnFailure(page, 'account-page', async () => {
      await page.goto(t.baseUrl + '/account');
      await page.locator('tr[data-token="deploy script"]').waitFor();
      expect(await page.locator('tr[data-token="old laptop"]').count()).toBe(0);
      expect(await page.locator('tr[data-token="ci pipeline"]').textContent()).not.toMatch(
        /Never\s*Never/,
      );
      await shoot('account');
    });
  });

  it('shows the audit log of it all, newest first', async () => {
    await withScreenshotOnFailure(page, 'audit-page', async () => {
      await page.goto(t.baseUrl + '/audit');
      for (const action of [
        'login',
        'login.failed',
        'user.create',
        'user.update',
        'job.run',
        'job.cancel',
        'token.create',
        'token.revoke',
      ])
        await page.locator(`tr[data-action="${action}"]`).first().waitFor();
      // Newest first: the rows' times never go up, and they are the API's entries in its order.
      const shown = await page
        .locator('tr[data-action]')
        .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.id!));
      const times = await page
        .locator('tr[data-action]')
        .evaluateAll((rows) => rows.map((r) => Date.parse((r as HTMLElement).dataset.ts!)));
      expect(times.length).toBeGreaterThanOrEqual(8);
      expect(times).toEqual([...times].sort((x, y) => y - x));
      // (Signing the API client in adds entries on top: compare the page's rows only.)
      const client = await t.loginAs('admin');
      const api = (await (await client.get(`/api/audit?limit=${shown.length + 20}`)).json()) as {
        items: { id: string }[];
      };
      expect(api.items.map((e) => e.id).filter((id) => shown.includes(id))).toEqual(shown);
      await shoot('audit');
    });
  });
});
