// The cockpit's pages as a signed-in operator sees them, in Debian's Chromium against the real
// server, make and sshd: dashboard, projects (run, form, confirmation, running state, stars),
// VMs and their presets, settings (the backend-URL override), the Ctrl-K palette; axe on every
// page, light and dark, and the README's screenshots when UPDATE_SCREENSHOTS=1.
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
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
import { sshEntry, startSshd, type SshdFixture } from '../fixtures/sshd.js';

const DOCS = SCREENSHOTS_DIR;
const JOB_URL = /\/jobs\/[0-9a-f-]{36}$/;

const root = mkdtempSync(path.join(tmpdir(), 'vmo-pages-'));
const demo = path.join(root, 'demo');
mkdirSync(demo);
writeFileSync(
  path.join(demo, 'Makefile'),
  `.PHONY: build test deploy wait console broken
build: ## Compile the app
\t@echo "compiling"; sleep 0.3; echo "built ok"
test: ## Run the test suite
\t@echo "12 passed"
deploy: ## Deploy to an environment @param ENV=staging|prod @confirm
\t@echo "deploying to $(ENV)"
wait: ## Wait until canceled
\t@for i in $$(seq 1 120); do echo "waiting $$i"; sleep 1; done
console: ## A shell in the app @interactive
\t@echo console
broken: ## Fails on purpose
\t@echo "cannot reach the registry" >&2; exit 1
`,
);

// Each test visits several pages and runs axe twice on each: more than the default 30 s on a busy machine.
describe('the cockpit pages in Chromium', { timeout: 90_000 }, () => {
  let sshd: SshdFixture;
  let t: TestApp;
  let operator: HttpClient;
  let browser: BrowserFixture;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    sshd = await startSshd();
    const envs = path.join(root, 'environments');
    mkdirSync(path.join(envs, 'lab'), { recursive: true });
    writeFileSync(
      path.join(envs, 'lab', 'config.yml'),
      'vms:\n  vmo-test: { host: 127.0.0.1 }\n  vmo-test2: { host: 127.0.0.1 }\n',
    );
    // Two hosts ssh -G rejects (%l has no meaning in a HostName); one of them reaches a VM.
    appendFileSync(sshd.configFile, 'Host printer old-nas\n  HostName %l.lan\n');
    mkdirSync(path.join(envs, 'office'));
    writeFileSync(path.join(envs, 'office', 'config.yml'), 'vms:\n  printer: { host: 10.0.9.9 }\n');
    // A DMZ VM behind a jump host: its entry goes through vmo-test.
    appendFileSync(sshd.configFile, sshEntry(sshd, 'jumped', ['  ProxyJump vmo-test']));
    mkdirSync(path.join(envs, 'dmz'));
    writeFileSync(path.join(envs, 'dmz', 'config.yml'), 'vms:\n  jumped: { host: 10.0.8.8 }\n');
    t = await startTestApp({
      webDir: builtWebDir(),
      config: {
        ssh: { config: sshd.configFile },
        vmConfig: { dir: envs },
        projects: [{ alias: 'demo', dir: demo }],
        presets: [
          { name: 'hello', command: 'echo hello from the vm' },
          { name: 'greet', command: 'echo hi {who}', params: { who: '^[a-z]+$' } },
          {
            name: 'docker-logs',
            command: 'docker logs -f --tail 200 {container}',
            follow: true,
            params: { container: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' },
          },
        ],
      },
    });
    await t.users.createIfMissing({
      username: 'olga',
      role: 'operator',
      password_hash: await t.auth.hashPassword('run it all'),
    });
    operator = await t.loginAs('operator');
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(15_000);
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    await signIn(page, t.baseUrl, 'olga', 'run it all');
    mkdirSync(DOCS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await sshd?.stop();
  });

  /** axe finds nothing serious, in light and in dark; screenshots of both when named. */
  async function checkPage(shot: string | null) {
    await page.waitForTimeout(350); // past the delayed skeletons and the dialogs' animations
    expect(await seriousA11yViolations(page)).toEqual([]);
    if (shot) await page.screenshot({ path: path.join(DOCS, `screenshot-${shot}.png`) });
    await switchTheme(page, 'dark');
    await page.waitForTimeout(100);
    expect(await seriousA11yViolations(page)).toEqual([]);
    if (shot) await page.screenshot({ path: path.join(DOCS, `screenshot-${shot}-dark.png`) });
    await switchTheme(page, 'light');
  }

  const runButton = (name: string) =>
    page.getByRole('button', { name: `Run ${name}`, exact: true });

  it('runs a target from its project page: live output, green, then its run strip', async () => {
    await withScreenshotOnFailure(page, 'pages-run', async () => {
      await page.goto(t.baseUrl + '/projects');
      await page.getByRole('link', { name: 'demo' }).waitFor();
      await checkPage('projects');

      await page.getByRole('link', { name: 'demo' }).click();
      await page.getByRole('cell', { name: 'Compile the app' }).waitFor();
      await runButton('build').click();
      await page.waitForURL(JOB_URL);
      await page.getByTestId('log-viewport').getByText('compiling', { exact: true }).waitFor();
      await page.getByTestId('log-viewport').getByText('built ok', { exact: true }).waitFor();
      await page.locator('dl [data-status=success]').waitFor();
      await checkPage(null);

      await page.goto(t.baseUrl + '/projects/demo');
      const strip = page.locator('tr[data-target=build] [data-testid=run-strip]');
      await strip.waitFor();
      expect(await strip.textContent()).toContain('Last 1 run: 1 succeeded');
      expect(await page.locator('tr[data-target=test]').textContent()).toContain('never run');
    });
  });

  it('asks for a parameterised target’s values and its confirmation before running it', async () => {
    await withScreenshotOnFailure(page, 'pages-form', async () => {
      await page.goto(t.baseUrl + '/projects/demo');
      await runButton('deploy').click();
      const dialog = page.getByRole('dialog');
      await dialog.getByText('This target asks for confirmation before it runs.').waitFor();
      expect(await dialog.getByLabel('ENV').inputValue()).toBe('staging');
      await dialog.getByLabel('ENV').selectOption('prod');
      // It declares its parameters: no free variables to type, which the server would refuse.
      expect(await dialog.getByLabel(/Variables/).count()).toBe(0);
      await checkPage('run-form');
      await dialog.getByRole('button', { name: 'Yes, run it' }).click();
      await page.waitForURL(JOB_URL);
      await page.getByRole('heading', { name: 'make deploy ENV=prod' }).waitFor();
      await page.getByTestId('log-viewport').getByText('deploying to prod').waitFor();
      await page.locator('dl [data-status=success]').waitFor();
    });
  });

  it('shows a target as running and disables only its buttons until its job ends', async () => {
    await withScreenshotOnFailure(page, 'pages-running', async () => {
      await page.goto(t.baseUrl + '/projects/demo');
      await page.getByRole('cell', { name: 'Wait until canceled' }).waitFor();
      const res = await operator.post('/api/jobs/stream', { alias: 'demo', target: 'wait' });
      const { jobId } = (await res.json()) as { jobId: string };
      const row = page.locator('tr[data-target=wait]');
      await row.getByRole('link', { name: /Running/ }).waitFor();
      expect(await runButton('wait').isDisabled()).toBe(true);
      expect(await runButton('test').isEnabled()).toBe(true);

      // The dashboard lists it, counting.
      await page.goto(t.baseUrl + '/');
      await page.locator(`tr[data-job="${jobId}"]`).waitFor();
      await checkPage(null);

      await page.goto(t.baseUrl + '/projects/demo');
      await row.getByRole('link', { name: /Running/ }).waitFor();
      expect((await operator.post('/api/jobs/cancel', { jobId })).status).toBe(202);
      await row.getByRole('link', { name: /Running/ }).waitFor({ state: 'detached' });
      expect(await runButton('wait').isEnabled()).toBe(true);
      await row.locator('[data-testid=run-strip] [data-status=canceled]').waitFor();
      await checkPage('project');
    });
  });

  it('puts a starred target on the dashboard, and runs it from there', async () => {
    await withScreenshotOnFailure(page, 'pages-favourites', async () => {
      await page.goto(t.baseUrl + '/projects/demo');
      const star = page.getByRole('button', { name: 'Favourite test' });
      await star.click();
      expect(await star.getAttribute('aria-pressed')).toBe('true');
      await page.reload();
      expect(
        await page.getByRole('button', { name: 'Favourite test' }).getAttribute('aria-pressed'),
      ).toBe('true');
      const res = await operator.post('/api/jobs/stream', { alias: 'demo', target: 'broken' });
      const { jobId } = (await res.json()) as { jobId: string };
      await page.goto(t.baseUrl + '/');
      await page.locator(`tr[data-job="${jobId}"][data-status=failed]`).waitFor();
      await page.getByTestId('nothing-running').waitFor();
      await checkPage('dashboard');
      await page.getByRole('button', { name: 'Run test in demo' }).click();
      await page.waitForURL(JOB_URL);
      await page.getByTestId('log-viewport').getByText('12 passed').waitFor();
      await page.locator('dl [data-status=success]').waitFor();
    });
  });

  it('finds and runs a target from the Ctrl-K palette, and opens the form for one with parameters', async () => {
    await withScreenshotOnFailure(page, 'pages-palette', async () => {
      await page.goto(t.baseUrl + '/');
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      await page.keyboard.press('Control+k');
      const input = page.getByPlaceholder('Find a target or a preset…');
      await input.waitFor();
      await page.locator('[data-entry="t:demo/build"]').waitFor();
      await input.fill('hello vmo-test2');
      await page.locator('[data-entry="p:hello@vm:lab/vmo-test2"]').waitFor();
      expect(await page.locator('[data-entry="t:demo/build"]').count()).toBe(0);
      await input.fill('');
      await checkPage('palette');

      await input.fill('deploy');
      await page.locator('[data-entry="t:demo/deploy"]').waitFor();
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/projects\/demo\?run=deploy$/);
      await page.getByRole('dialog').getByText('This target asks for confirmation').waitFor();
      await page.keyboard.press('Escape');

      await page.keyboard.press('Control+k');
      await input.fill('make build');
      await page.locator('[data-entry="t:demo/build"]').waitFor();
      await page.keyboard.press('Enter');
      await page.waitForURL(JOB_URL);
      await page.getByRole('heading', { name: 'make build' }).waitFor();
      await page.locator('dl [data-status=success]').waitFor();
    });
  });

  it('lists VMs by environment and runs a VM’s preset to green', async () => {
    await withScreenshotOnFailure(page, 'pages-vms', async () => {
      await page.goto(t.baseUrl + '/vms');
      await page.getByRole('heading', { name: 'lab' }).waitFor();
      await page.locator('tr[data-vm="lab/vmo-test2"]').waitFor();
      await checkPage('vms');

      await page.getByRole('link', { name: 'vmo-test', exact: true }).click();
      await page.waitForURL(/\/vms\/lab\/vmo-test$/);
      for (const name of ['hello', 'greet', 'docker-logs']) {
        await page.locator(`[data-preset="${name}"]`).waitFor();
      }
      // No docker on the test host: the picker says so and leaves a text field.
      await page.getByText('Cannot list the containers').waitFor();
      await checkPage('vm');

      await page.locator('[data-preset=greet]').getByLabel('who').fill('Bad Value');
      await page.getByRole('button', { name: 'Run greet on this VM' }).click();
      await page
        .locator('[data-preset=greet]')
        .getByRole('alert')
        .getByText('who must match')
        .waitFor();

      await page.getByRole('button', { name: 'Run hello on this VM' }).click();
      await page.waitForURL(JOB_URL);
      await page.getByTestId('log-viewport').getByText('hello from the vm').waitFor();
      await page.locator('dl [data-status=success]').waitFor();

      await page.goto(t.baseUrl + '/vms/lab/vmo-test');
      await page.getByRole('button', { name: 'Run hello on all of lab' }).click();
      await page.waitForURL(JOB_URL);
      await page.locator('dl [data-status=success]').waitFor({ timeout: 30_000 });

      // The same from the VMs page, with a parameter: one group, a child per VM.
      await page.goto(t.baseUrl + '/vms');
      await page.getByRole('button', { name: 'Run on all of lab…' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Preset').selectOption('greet');
      await dialog.getByLabel('who').fill('dana');
      await checkPage('fanout');
      await dialog.getByRole('button', { name: 'Run greet on all of lab' }).click();
      await page.waitForURL(JOB_URL);
      await page.getByRole('heading', { name: "fanout lab -- echo hi 'dana'" }).waitFor();
      await page.locator('dl [data-status=success]').waitFor({ timeout: 30_000 });
    });
  });

  it('shows the route to a VM behind a jump host, checks it on demand, and lists its last jobs', async () => {
    await withScreenshotOnFailure(page, 'pages-vm-route', async () => {
      await page.goto(t.baseUrl + '/vms/dmz/jumped');
      const route = page.getByTestId('vm-route');
      await route.waitFor();
      expect(await route.locator('[data-hop]').allTextContents()).toEqual(['vmo-test']);
      expect((await route.getByTestId('route-end').textContent())?.trim()).toBe(
        `${sshd.user}@127.0.0.1:${sshd.port}`,
      );
      // Never a key path.
      expect(await page.locator('body').textContent()).not.toContain(sshd.clientKey);
      await route.getByText('Nothing has run on this VM yet.').waitFor();
      expect(await route.getByTestId('reachability').textContent()).toContain('not checked yet');

      await route.getByRole('button', { name: 'Check now' }).click();
      await route
        .getByTestId('reachability')
        .getByText(/reachable in \d+ ms/)
        .waitFor();
      expect(await route.locator('[data-reachable]').getAttribute('data-reachable')).toBe('true');
      await checkPage('vm-route');

      // The VMs page shows the check as a dot on the VM's row.
      await page.goto(t.baseUrl + '/vms');
      const dot = page.locator('tr[data-vm="dmz/jumped"] [data-reachable]');
      await dot.waitFor();
      await expect.poll(() => dot.getAttribute('data-reachable')).toBe('true');

      // A preset run there names the VM, and its page lists the job.
      await page.goto(t.baseUrl + '/vms/dmz/jumped');
      await page.getByRole('button', { name: 'Run hello on this VM' }).click();
      await page.waitForURL(JOB_URL);
      await page.getByRole('heading', { name: 'echo hello from the vm @ dmz/jumped' }).waitFor();
      await page.locator('dl [data-status=success]').waitFor();
      expect(await page.getByTestId('job-vm').textContent()).toBe('dmz/jumped');
      await page.getByTestId('job-vm').click();
      await page.waitForURL(/\/vms\/dmz\/jumped$/);
      const last = page.getByTestId('vm-route').getByRole('table');
      await last.waitFor();
      expect(await last.textContent()).toContain('echo hello from the vm @ dmz/jumped');
    });
  });

  it('shows a host and a VM that ssh rejects as unusable, with ssh’s reason, their controls disabled', async () => {
    await withScreenshotOnFailure(page, 'pages-vms-unusable', async () => {
      const reason = 'vdollar_percent_expand: unknown key %l';
      await page.goto(t.baseUrl + '/vms');
      const vmRow = page.locator('tr[data-vm="office/printer"]');
      await vmRow.getByText('unusable').waitFor();
      await vmRow.getByText(reason).waitFor();
      const hostRow = page.locator('tr[data-host="old-nas"][data-unusable]');
      await hostRow.getByText(reason).waitFor();
      // A shell on a host is an ad-hoc command: an operator is not offered one (SPEC §4).
      expect(await hostRow.getByRole('button', { name: 'Terminal on old-nas' }).count()).toBe(0);

      await page.goto(t.baseUrl + '/vms/office/printer');
      await page.getByTestId('ssh-error').getByText(reason).waitFor();
      await page.locator('[data-preset=hello]').waitFor();
      expect(await page.getByRole('button', { name: 'Terminal', exact: true }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Run hello on this VM' }).isDisabled()).toBe(
        true,
      );
      expect(await page.locator('[data-preset=hello] span[title]').getAttribute('title')).toBe(
        `Unavailable: ssh rejects “printer”: ${reason}`,
      );
      // The environment's other VMs may be fine: the fan-out stays.
      expect(
        await page.getByRole('button', { name: 'Run hello on all of office' }).isEnabled(),
      ).toBe(true);
      await checkPage(null);
    });
  });

  it('keeps a backend-URL override across reloads, and clearing it returns to this server', async () => {
    await withScreenshotOnFailure(page, 'pages-settings', async () => {
      await page.goto(t.baseUrl + '/');
      await page.getByRole('button', { name: 'Settings' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByTestId('backend-status').getByText('the server that served it').waitFor();
      await checkPage('settings');

      await dialog.getByLabel('Backend URL').fill('ftp://elsewhere');
      await dialog.getByLabel('API token').fill('vmo_secret');
      await dialog.getByRole('button', { name: 'Save and reload' }).click();
      await dialog.getByRole('alert').getByText('must start with http:// or https://').waitFor();

      // Another origin (localhost, not 127.0.0.1) that does not list this one: it cannot be used.
      const other = t.baseUrl.replace('127.0.0.1', 'localhost');
      await dialog.getByLabel('Backend URL').fill(other + '/');
      await dialog.getByRole('button', { name: 'Save and reload' }).click();
      const notice = page.getByTestId('backend-override');
      await notice.getByText(other).waitFor();
      expect(await page.evaluate(() => localStorage.getItem('vmo.backend'))).toBe(
        JSON.stringify({ url: other, token: 'vmo_secret' }),
      );
      await page.reload();
      await notice.getByText(other).waitFor();

      await page.getByRole('button', { name: 'Use this server instead' }).click();
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      expect(await page.evaluate(() => localStorage.getItem('vmo.backend'))).toBeNull();
      await page.getByRole('button', { name: 'Settings' }).click();
      await page.getByTestId('backend-status').getByText('the server that served it').waitFor();

      // Desktop notifications the browser refuses (headless Chromium grants none unasked): the
      // box goes back at once and says why.
      const desktop = page.getByRole('checkbox', { name: /Desktop notifications/ });
      await desktop.click();
      await page.getByRole('alert').getByText('does not allow notifications').waitFor();
      expect(await desktop.isChecked()).toBe(false);
      await page.keyboard.press('Escape');
    });
    expect(consoleErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });
});
