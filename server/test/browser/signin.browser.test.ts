// The foundation as a person sees it, in Debian's Chromium: sign in, the shell, the demo project, the socket.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  builtWebDir,
  launchBrowser,
  TEST_RESULTS_DIR,
  withScreenshotOnFailure,
  type BrowserFixture,
} from '../fixtures/browser.js';
import { startTestApp, type TestApp } from '../fixtures/app.js';
import path from 'node:path';

const demoDir = fileURLToPath(new URL('../../../examples/demo', import.meta.url));

describe('signing in with Chromium', () => {
  let t: TestApp;
  let browser: BrowserFixture;

  beforeAll(async () => {
    t = await startTestApp({
      webDir: builtWebDir(),
      config: { projects: [{ alias: 'demo', dir: demoDir }] },
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('signs in with a password and shows the shell, the demo project and a live connection', async () => {
    await t.users.createIfMissing({
      username: 'dana',
      role: 'operator',
      password_hash: await t.auth.hashPassword('open sesame'),
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await withScreenshotOnFailure(page, 'signin', async () => {
      await page.goto(t.baseUrl + '/projects');
      await page.waitForURL(/\/login\?next=%2Fprojects/);
      await page.getByLabel('Username').fill('dana');
      await page.getByLabel('Password').fill('wrong');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('wrong username or password').waitFor();

      await page.getByLabel('Password').fill('open sesame');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(t.baseUrl + '/projects');
      await page.getByRole('cell', { name: 'demo', exact: true }).waitFor();
      await page.getByText('Connected', { exact: true }).waitFor();
      for (const name of ['Dashboard', 'Projects', 'VMs', 'Jobs']) {
        expect(await page.getByRole('link', { name, exact: true }).count()).toBeGreaterThan(0);
      }
      await page.screenshot({ path: path.join(TEST_RESULTS_DIR, 'projects.png') });
    });
    // The hashed CSP lets the SPA boot with no inline-script violation.
    expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });

  it('signs in with the one-time link and lands on the dashboard', async () => {
    const admin = await t.auth.ensureAdmin(null);
    const token = await t.auth.createLoginLink(admin.id);
    const page = await browser.newPage();
    await withScreenshotOnFailure(page, 'signin-link', async () => {
      await page.goto(`${t.baseUrl}/auth/link/${token}`);
      await page.waitForURL(t.baseUrl + '/');
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      await page.getByText('admin').first().waitFor();

      // Used once; the second visit ends on the login page with a notice.
      await page.goto(`${t.baseUrl}/auth/link/${token}`);
      await page.waitForURL(/\/login\?link=invalid/);
    });
  });

  it('points a user without a password to the Account page, where one is set without a current one', async () => {
    // As the bootstrap admin on a first start without VMO_ADMIN_PASSWORD: no password, a link.
    await t.users.createIfMissing({ username: 'owner', role: 'admin', password_hash: null });
    const owner = (await t.users.findByUsername('owner'))!;
    const token = await t.auth.createLoginLink(owner.id);
    const page = await browser.newPage();
    await withScreenshotOnFailure(page, 'signin-set-password', async () => {
      await page.goto(`${t.baseUrl}/auth/link/${token}`);
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      const notice = page.getByTestId('set-password');
      await notice.getByRole('link', { name: 'Set a password on your Account page' }).click();
      await page.waitForURL(t.baseUrl + '/account');
      await page.getByText('You have no password yet: set one').waitFor();
      expect(await page.getByLabel('Current password').count()).toBe(0);
      await page.getByLabel('New password', { exact: true }).fill('a fine password');
      await page.getByLabel('New password again').fill('a fine password');
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByText('Your password is saved.').waitFor();
      // From now on the password proves it is you, and it signs in.
      await page.getByLabel('Current password').waitFor();
      await page.goto(t.baseUrl + '/');
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      expect(await page.getByTestId('set-password').count()).toBe(0);
      const login = await t
        .anonymous()
        .post('/api/auth/login', { username: 'owner', password: 'a fine password' });
      expect(login.status).toBe(200);
    });
    await page.close();
  });

  it('serves the SPA shell for client-side routes and the API 404 for unknown API paths', async () => {
    const res = await fetch(t.baseUrl + '/jobs/123');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    expect(html).toContain('<div');
    expect((await fetch(t.baseUrl + '/api/nope')).status).toBe(401);
    // Its scripts are named by their content: kept for good, never asked for again.
    const script = /\/_app\/immutable\/[^"]+\.js/.exec(html)![0];
    const asset = await fetch(t.baseUrl + script);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(t.baseUrl + '/favicon.svg')).headers.get('cache-control')).toBe(
      'public, max-age=3600',
    );
  });
});
