// Users, account and audit as a person sees them in Chromium, under the server's CSP header: an admin
// creates a user, who signs in in a fresh context, makes a token (shown once) and revokes it; the
// admin then finds it all in the audit log. No Content-Security-Policy violation along the way.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WEB_DIR } from '../../src/app.js';
import {
  launchBrowser,
  signIn,
  withScreenshotOnFailure,
  type BrowserFixture,
} from '../fixtures/browser.js';
import { startTestApp, type TestApp } from '../fixtures/app.js';

declare global {
  interface Window {
    __csp: string[];
  }
}

describe('users, account and audit pages in Chromium', () => {
  let t: TestApp;
  let browser: BrowserFixture;

  beforeAll(async () => {
    if (!existsSync(path.join(DEFAULT_WEB_DIR, 'index.html')))
      throw new Error(
        `the web app is not built (${DEFAULT_WEB_DIR}): run npm run build -w @vmo/web`,
      );
    t = await startTestApp({ webDir: DEFAULT_WEB_DIR });
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
      expect(await admin.evaluate(() => window.__csp)).toEqual([]);
    });
    expect(
      [...problems, ...erinProblems].filter((p) => /Content Security Policy/i.test(p)),
    ).toEqual([]);
  });
});
