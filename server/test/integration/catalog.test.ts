// The catalog over HTTP with real make: projects, targets (cached by mtime), annotations enforced by the server.
import { chmodSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, ProjectInfo, TargetInfo } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp, type TestSocket } from '../fixtures/app.js';
import { follow, textOf } from '../fixtures/jobs.js';

const root = mkdtempSync(path.join(tmpdir(), 'vmo-catalog-'));
const dir = (name: string, files: Record<string, string>) => {
  const d = path.join(root, name);
  mkdirSync(d, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(d, f), text);
  return d;
};

const app = dir('app', {
  Makefile: `.PHONY: deploy hold console
deploy: ## Deploy @param ENV=staging|prod @param TAG @confirm
\t@echo "deploy $(ENV) $(TAG)"
hold: ## One at a time @exclusive
\t@sleep 1; echo held
console: ## A console @interactive
\t@echo console
`,
});
const broken = dir('broken', { Makefile: 'x:\n\techo\nendif\n' });
const bin = path.join(root, 'bin');
mkdirSync(bin);
const tool = dir('tooled', {});
writeFileSync(
  path.join(bin, 'tooled'),
  '#!/bin/sh\nif [ "$1" = --list-targets ]; then printf "up\\ndown\\n"; else echo "tooled $*"; fi\n',
);
chmodSync(path.join(bin, 'tooled'), 0o755);
writeFileSync(path.join(tool, 'Makefile'), 'never: ## not read\n\t@false\n');
const registry = path.join(root, 'registry');
writeFileSync(
  registry,
  `# registry\nbroken = ${broken}\ntooled=${tool}\n../../etc=/etc\nrel=../x\ngone=${root}/gone\n`,
);

describe('the catalog over HTTP', () => {
  let t: TestApp;
  let operator: HttpClient;
  let socket: TestSocket;

  beforeAll(async () => {
    t = await startTestApp({
      config: { projects: [{ alias: 'app', dir: app }], mkcli: { registry } },
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    operator = await t.loginAs('operator');
    socket = await operator.socket();
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  const targets = async (alias: string) =>
    (await (await operator.get(`/api/projects/${alias}/targets`)).json()) as TargetInfo[];

  it('lists projects from config and registry, malformed registry lines left out, missing dirs unavailable', async () => {
    const projects = (await (await operator.get('/api/projects')).json()) as ProjectInfo[];
    expect(projects.map((p) => [p.alias, p.source, p.available, p.listing?.mode])).toEqual([
      ['app', 'config', true, 'isolated'],
      ['broken', 'mkcli', false, undefined],
      ['gone', 'mkcli', false, undefined],
      ['tooled', 'mkcli', true, 'isolated'],
    ]);
    // A Makefile make cannot read is a state of the project, with make's message.
    expect(projects[1]).toMatchObject({
      errorCode: 'MAKEFILE_ERROR',
      error: expect.stringMatching(
        /^make cannot read the Makefile: .*extraneous 'endif'/,
      ) as unknown,
    });
    expect(projects[2]).toMatchObject({ error: `directory ${root}/gone does not exist` });
    const rows = await t.db.db
      .selectFrom('projects')
      .select(['alias', 'source'])
      .orderBy('alias')
      .execute();
    expect(rows.map((r) => r.alias)).toEqual(['app', 'broken', 'gone', 'tooled']);
  });

  it('answers targets with descriptions, params, confirm, exclusive and interactive', async () => {
    const plain = { section: null, more: false };
    expect(await targets('app')).toEqual([
      {
        name: 'deploy',
        phony: true,
        description: 'Deploy',
        interactive: false,
        confirm: true,
        params: [
          { name: 'ENV', choices: ['staging', 'prod'], default: 'staging', required: false },
          { name: 'TAG', required: true },
        ],
        ...plain,
      },
      {
        name: 'hold',
        phony: true,
        description: 'One at a time',
        interactive: false,
        exclusive: true,
        ...plain,
      },
      { name: 'console', phony: true, description: 'A console', interactive: true, ...plain },
    ]);
  });

  it('takes an mkcli alias’s own list, and runs its targets through it', async () => {
    expect((await targets('tooled')).map((x) => x.name)).toEqual(['down', 'up']);
    const { jobId } = (await (
      await operator.post('/api/jobs/stream', { alias: 'tooled', target: 'up', args: { N: '1' } })
    ).json()) as { jobId: string };
    const { events } = await follow(socket, jobId);
    expect(textOf(events, 'stdout')).toBe('tooled up N=1\n');
  });

  it('shows a broken Makefile’s error for that project only', async () => {
    const res = await operator.get('/api/projects/broken/targets');
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('MAKEFILE_ERROR');
    expect(body.error.message).toMatch(
      /make cannot read the Makefile of "broken": .*extraneous 'endif'/,
    );
    expect((await operator.get('/api/projects/app/targets')).status).toBe(200);
  });

  it('answers 400 VALIDATION for an alias with a NUL in it', async () => {
    const res = await operator.get('/api/projects/app%00/targets');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'VALIDATION' } });
  });

  it.each(['..%2F..%2Fetc', '..', '%2Fetc%2Fpasswd', 'gone'])(
    'answers 404 for the alias %s',
    async (alias) => {
      const res = await operator.get(`/api/projects/${alias}/targets`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({
        error: { code: expect.stringMatching(/UNKNOWN_PROJECT|NOT_FOUND/) as unknown },
      });
    },
  );

  it.each([
    ['an empty host', 'host='],
    ['two hosts', 'host=a&host=b'],
    ['an unknown parameter', 'other=1'],
    ['a host too long', `host=${'h'.repeat(257)}`],
  ])('answers 400 VALIDATION to a targets query with %s', async (_what, query) => {
    const res = await operator.get(`/api/projects/app/targets?${query}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'VALIDATION' } });
  });

  it('answers 404 UNKNOWN_HOST for targets on a host the project is not set up on', async () => {
    const res = await operator.get('/api/projects/app/targets?host=elsewhere');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'UNKNOWN_HOST' } });
  });

  it('re-reads targets when the Makefile changes, and not otherwise', async () => {
    const d = dir('changing', { Makefile: 'one: ## One\n\t@true\n' });
    writeFileSync(registry, `changing=${d}\n`, { flag: 'a' });
    expect((await operator.post('/api/catalog/refresh')).status).toBe(200);
    const first = await operator.get('/api/projects/changing/targets');
    expect(await first.text()).toContain('"one"');
    writeFileSync(path.join(d, 'Makefile'), 'one: ## One\n\t@true\ntwo: ## Two\n\t@true\n');
    const later = new Date(Date.now() + 5_000);
    utimesSync(path.join(d, 'Makefile'), later, later);
    expect((await targets('changing')).map((x) => x.name)).toEqual(['one', 'two']);
  });

  it.each([
    [{ args: { ENV: 'prod', TAG: 'v1' } }, 400, 'CONFIRM_REQUIRED', 'asks for confirmation'],
    [
      { args: { ENV: 'qa', TAG: 'v1' }, confirm: true },
      400,
      'BAD_ARGS',
      'ENV must be one of staging, prod',
    ],
    [{ args: { ENV: 'prod' }, confirm: true }, 400, 'BAD_ARGS', 'deploy needs TAG'],
    [
      { args: { TAG: 'v1', OTHER: 'x' }, confirm: true },
      400,
      'BAD_ARGS',
      'deploy takes ENV, TAG; not OTHER',
    ],
  ])('enforces the declared params and confirmation: %j', async (extra, status, code, message) => {
    const res = await operator.post('/api/jobs/stream', {
      alias: 'app',
      target: 'deploy',
      ...extra,
    });
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message).toContain(message);
  });

  it('runs a confirmed deploy with valid params', async () => {
    const res = await operator.post('/api/jobs/stream', {
      alias: 'app',
      target: 'deploy',
      args: { ENV: 'prod', TAG: 'v1.2' },
      confirm: true,
    });
    expect(res.status).toBe(201);
    const { events } = await follow(socket, ((await res.json()) as { jobId: string }).jobId);
    expect(textOf(events, 'stdout')).toBe('deploy prod v1.2\n');
  });

  it('queues a second run of an @exclusive target until the first ends, whoever starts it', async () => {
    const other = await t.loginAs('operator');
    const a = (
      (await (
        await operator.post('/api/jobs/stream', { alias: 'app', target: 'hold' })
      ).json()) as { jobId: string }
    ).jobId;
    const b = (
      (await (await other.post('/api/jobs/stream', { alias: 'app', target: 'hold' })).json()) as {
        jobId: string;
      }
    ).jobId;
    const job = async (id: string) => (await (await operator.get(`/api/jobs/${id}`)).json()) as Job;
    await expect.poll(async () => (await job(a)).status).toBe('running');
    expect((await job(b)).status).toBe('queued');
    await follow(socket, a);
    const second = await follow(socket, b);
    expect(second.done.status).toBe('success');
    const [ja, jb] = [await job(a), await job(b)];
    expect(new Date(jb.startedAt!).getTime()).toBeGreaterThanOrEqual(
      new Date(ja.finishedAt!).getTime(),
    );
  });
});

describe('hosts, VMs and presets over HTTP', () => {
  let t: TestApp;
  let viewer: HttpClient;
  const sshDir = dir('ssh', {
    config: `Host web1 web2
  HostName 10.0.0.1
  User deploy
  Port 2222
  IdentityFile ~/.ssh/secret_key
Host *.internal !bastion ?x
  User nobody
Match host db*
  User dbadmin
Include ${root}/ssh/conf.d/*.conf
Host printer
  HostName %l.lan
`,
  });
  mkdirSync(path.join(sshDir, 'conf.d'));
  writeFileSync(path.join(sshDir, 'conf.d', 'extra.conf'), 'Host db1\n  HostName 10.0.0.9\n');
  const envs = dir('environments', {});
  mkdirSync(path.join(envs, 'staging'));
  writeFileSync(
    path.join(envs, 'staging', 'config.yml'),
    'template: ubuntu\nvms:\n  web1: { host: 10.0.0.1, ansible_user: deploy }\n  app: { host: 10.0.0.5 }\n  printer: { host: 10.0.9.9 }\n',
  );
  mkdirSync(path.join(envs, 'broken'));
  writeFileSync(path.join(envs, 'broken', 'config.yml'), 'vms: [unclosed\n');

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        ssh: { config: path.join(sshDir, 'config') },
        vmConfig: { dir: envs },
        presets: [{ name: 'disk', command: 'df -h {mount}', params: { mount: '^/[a-z/]*$' } }],
      },
    });
    viewer = await t.loginAs('viewer');
  });
  afterAll(() => t?.close());

  it('lists concrete ssh hosts resolved by ssh -G, never a key path', async () => {
    const res = await viewer.get('/api/hosts');
    const text = await res.text();
    expect(JSON.parse(text)).toEqual([
      { alias: 'web1', hostname: '10.0.0.1', user: 'deploy', port: 2222 },
      { alias: 'web2', hostname: '10.0.0.1', user: 'deploy', port: 2222 },
      { alias: 'db1', hostname: '10.0.0.9', user: 'dbadmin', port: 22 },
      // ssh -G rejects it: listed, with ssh's reason.
      {
        alias: 'printer',
        hostname: 'printer',
        user: null,
        port: 22,
        error: 'vdollar_percent_expand: unknown key %l',
      },
    ]);
    expect(text).not.toContain('secret_key');
  });

  it('lists the VMs of good environments, matched to ssh hosts, and skips the broken one', async () => {
    expect(await (await viewer.get('/api/vms')).json()).toEqual([
      {
        id: 'staging/app',
        name: 'app',
        environment: 'staging',
        host: '10.0.0.5',
        user: null,
        sshAlias: null,
      },
      {
        id: 'staging/printer',
        name: 'printer',
        environment: 'staging',
        host: '10.0.9.9',
        user: null,
        sshAlias: 'printer',
        sshError: 'vdollar_percent_expand: unknown key %l',
      },
      {
        id: 'staging/web1',
        name: 'web1',
        environment: 'staging',
        host: '10.0.0.1',
        user: 'deploy',
        sshAlias: 'web1',
      },
    ]);
    const rows = await t.db.db.selectFrom('vms').select('id').orderBy('id').execute();
    expect(rows.map((r) => r.id)).toEqual(['staging/app', 'staging/printer', 'staging/web1']);
  });

  it('lists the configured presets instead of the built-in ones', async () => {
    expect(await (await viewer.get('/api/presets')).json()).toEqual([
      { name: 'disk', params: { mount: '^/[a-z/]*$' }, follow: false },
    ]);
  });

  it('keeps viewers from refreshing the catalog, and tells operators what was found', async () => {
    expect((await viewer.post('/api/catalog/refresh')).status).toBe(403);
    const operator = await t.loginAs('operator');
    const res = await operator.post('/api/catalog/refresh');
    expect(await res.json()).toMatchObject({
      projects: 0,
      hosts: 4,
      vms: 3,
      problems: [{ environment: 'broken' }],
    });
  });
});
