// Single sign-on as a person does it, in Chromium, through a real OpenID Provider: the button on the
// sign-in page, the provider's own pages, back where they were heading; the Users page marking SSO
// users; signing out at the provider too; a refused sign-in explained on the sign-in page.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  builtWebDir,
  launchBrowser,
  TEST_RESULTS_DIR,
  withScreenshotOnFailure,
  type BrowserFixture,
} from '../fixtures/browser.js';
import { freePort, startTestApp, type TestApp } from '../fixtures/app.js';
import { startTestProvider, type TestProvider } from '../fixtures/oidc.js';

const SECRET_ENV = 'VMO_TEST_OIDC_SECRET';

describe('single sign-on in Chromium', () => {
  let op: TestProvider;
  let t: TestApp;
  let browser: BrowserFixture;

  beforeAll(async () => {
    const port = await freePort();
    op = await startTestProvider({ publicUrl: `http://127.0.0.1:${port}` });
    t = await startTestApp({
      port,
      webDir: builtWebDir(),
      config: {
        security: { publicUrl: `http://127.0.0.1:${port}` },
        auth: {
          oidc: {
            name: 'Acme SSO',
            issuer: op.issuer,
            clientId: op.clientId,
            clientSecretEnv: SECRET_ENV,
            roles: { 'platform-admins': 'admin', deployers: 'operator' },
          },
        },
      },
      env: { ...process.env, [SECRET_ENV]: op.clientSecret },
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await op?.stop();
  });

  /** A page that trusts the provider's throwaway certificate and never waits on the internet. */
  async function newPage(): Promise<Page> {
    const page = await browser.newPage({
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 800 },
    });
    await page.route(/^https:\/\/fonts\./, (route) => route.abort());
    return page;
  }

  /** At the provider's own pages: sign in as `account`, and consent when it asks (the first time). */
  async function atProvider(page: Page, account: string): Promise<void> {
    await page.waitForURL((u) => u.href.startsWith(op.issuer));
    await page.locator('input[name=login]').fill(account);
    await page.locator('input[name=password]').fill('any');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    const consent = page.getByRole('button', { name: 'Continue' });
    const back = page.waitForURL((u) => u.href.startsWith(t.baseUrl));
    if (
      (await Promise.race([back.then(() => 'back'), consent.waitFor().then(() => 'ask')])) === 'ask'
    )
      await consent.click();
    await back;
  }

  it('signs in with the provider, lands where it was heading, and shows SSO users as such', async () => {
    op.accounts.set('olga-sub', { username: 'olga', groups: ['platform-admins'] });
    const page = await newPage();
    await withScreenshotOnFailure(page, 'sso-signin', async () => {
      await page.goto(`${t.baseUrl}/users`);
      await page.waitForURL(/\/login\?next=%2Fusers/);
      const button = page.getByRole('link', { name: 'Sign in with Acme SSO' });
      await button.waitFor();
      // Password sign-in stays beside it (auth.local is on).
      await page.getByLabel('Username').waitFor();
      await page.screenshot({ path: path.join(TEST_RESULTS_DIR, 'sso-login.png') });
      await button.click();
      await atProvider(page, 'olga-sub');
      await page.waitForURL(`${t.baseUrl}/users`);
      const row = page.locator('tr[data-user=olga]');
      await row.getByText('SSO', { exact: true }).waitFor();
      // No password to reset for an SSO user; a local user keeps the button.
      expect(await row.getByRole('button', { name: /Reset the password/ }).count()).toBe(0);
      await page.goto(`${t.baseUrl}/account`);
      await page.getByTestId('sso-account').waitFor();
    });
  });

  it('signs out at the provider too, and explains a refused sign-in', async () => {
    op.accounts.set('piet-sub', { username: 'piet', groups: ['deployers'] });
    const page = await newPage();
    await withScreenshotOnFailure(page, 'sso-signout', async () => {
      await page.goto(`${t.baseUrl}/login`);
      await page.getByRole('link', { name: 'Sign in with Acme SSO' }).click();
      await atProvider(page, 'piet-sub');
      await page.waitForURL(`${t.baseUrl}/`);
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      // No "set a password" nudge for an SSO user.
      expect(await page.getByTestId('set-password').count()).toBe(0);

      await page.getByRole('button', { name: /sign out/i }).click();
      await page.waitForURL((u) => u.href.startsWith(op.issuer));
      await page.getByRole('button', { name: /yes/i }).click();
      await page.waitForURL(/\/login$/);

      // The provider still knows piet, but no group of his gives a role here any more.
      op.accounts.get('piet-sub')!.groups = ['marketing'];
      await page.getByRole('link', { name: 'Sign in with Acme SSO' }).click();
      await atProvider(page, 'piet-sub');
      await page.waitForURL(/\/login\?error=SSO_NO_ROLE/);
      await page.getByText(/none of your groups at the identity provider/i).waitFor();
      await page.screenshot({ path: path.join(TEST_RESULTS_DIR, 'sso-refused.png') });
    });
  });
});
