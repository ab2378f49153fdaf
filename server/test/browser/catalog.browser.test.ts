// The catalog as a person sees it, in Debian's Chromium: a project's targets grouped under its
// `##@` sections in the Makefile's own order, the files make builds folded under "more", and a
// project whose Makefile make cannot read shown as unavailable with make's message.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../fixtures/app.js';
import { seriousA11yViolations } from '../fixtures/axe.js';
import {
  builtWebDir,
  launchBrowser,
  SCREENSHOTS_DIR,
  signIn,
  withScreenshotOnFailure,
  type BrowserFixture,
} from '../fixtures/browser.js';

const root = mkdtempSync(path.join(tmpdir(), 'vmo-catalog-ui-'));
const project = (name: string, makefile: string) => {
  const dir = path.join(root, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'Makefile'), makefile);
  return dir;
};
const shop = project(
  'shop',
  `VERSION := $(shell git describe 2>/dev/null || echo dev; touch .parsed)
.DEFAULT_GOAL := help

##@ Development
.PHONY: up ## Start the stack
up:
\t@echo up
down: ## Stop the stack
\t@echo down

##@ Release
release: check ## Tag and push v$(VERSION)
\t@echo release
check: test lint

.PHONY: test lint help
test:
\t@echo test
lint:
\t@echo lint
help:
\t@awk 'BEGIN {FS = ":.*##"} /^[a-z-]+:.*##/ { printf "  %-10s %s\\n", $$1, $$2 }' $(MAKEFILE_LIST)
bin/shop: main.o cart.o
\tcc -o $@ $^
`,
);
const legacy = project(
  'legacy',
  'ifndef PROJECT_ROOT\n$(error PROJECT_ROOT is not set; run from the repo root)\nendif\nall:\n\t@true\n',
);

describe('the catalog in Chromium', { timeout: 90_000 }, () => {
  let t: TestApp;
  let browser: BrowserFixture;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    t = await startTestApp({
      webDir: builtWebDir(),
      config: {
        projects: [
          { alias: 'shop', dir: shop },
          { alias: 'legacy', dir: legacy },
        ],
      },
    });
    await t.users.createIfMissing({
      username: 'vera',
      role: 'viewer',
      password_hash: await t.auth.hashPassword('just looking'),
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    await signIn(page, t.baseUrl, 'vera', 'just looking');
    // From here on (the sign-in page's own probe answers 401 by design).
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('groups targets under their sections in the Makefile’s order, files folded under more', async () => {
    await withScreenshotOnFailure(page, 'catalog-sections', async () => {
      await page.goto(t.baseUrl + '/projects/shop');
      await page.getByRole('heading', { name: 'Development' }).waitFor();
      const sections = page.locator('section[aria-label]');
      expect(
        await sections.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label'))),
      ).toEqual(['Development', 'Release', 'Other targets']);
      const rows = (label: string) =>
        page
          .locator(`section[aria-label="${label}"] tr[data-target]`)
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-target')));
      expect(await rows('Development')).toEqual(['up', 'down']);
      expect(await rows('Release')).toEqual(['release']);
      expect(await rows('Other targets')).toEqual(['check', 'help', 'lint', 'test']);
      const more = page.locator('details[data-more]');
      expect(await more.getAttribute('open')).toBeNull();
      await more.locator('summary').click();
      await page.locator('details[data-more] tr[data-target="bin/shop"]').waitFor();
      expect(await seriousA11yViolations(page)).toEqual([]);
      if (SCREENSHOTS_DIR.startsWith(path.sep))
        await page.screenshot({
          path: path.join(SCREENSHOTS_DIR, 'screenshot-project-sections.png'),
        });
      expect(existsSync(path.join(shop, '.parsed'))).toBe(false);
    });
  });

  it('shows a Makefile make cannot read as unavailable, with make’s message', async () => {
    await withScreenshotOnFailure(page, 'catalog-broken', async () => {
      await page.goto(t.baseUrl + '/projects');
      const row = page.locator('tr[data-available=false]', { hasText: 'legacy' });
      await row.getByText('Unavailable').waitFor();
      await row.getByText(/PROJECT_ROOT is not set; run from the repo root/).waitFor();
      await page.goto(t.baseUrl + '/projects/legacy');
      const alert = page.locator('[data-unavailable]');
      await alert.getByText('make cannot read this project’s Makefile').waitFor();
      await alert.getByText(/PROJECT_ROOT is not set/).waitFor();
      expect(await page.getByText('MAKEFILE_ERROR').count()).toBe(0);
      expect(await page.getByText('Available', { exact: true }).count()).toBe(0);
      expect(consoleErrors).toEqual([]);
    });
  });
});
