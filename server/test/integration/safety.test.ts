// Safety rails around production (SPEC §4): `@confirm` holds on every path that starts a target
// (run, re-run while it runs and after it ended, fan-out), a protected project or environment
// wants its name typed on every path (run, re-run, preset, fan-out, host shell), a host shell is an
// ad-hoc command, every Job carries what its caller may do with it, status changes reach each
// socket as its own user may see them, and queued jobs say why they wait.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, JobWithChildren, Me } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';

let root: string;
let t: TestApp;
let admin: HttpClient;
let operator: HttpClient;
let viewer: HttpClient;

const MAKEFILE = `# A service's Makefile, in the style of a small team's.
.PHONY: build deploy migrate wait

build: ## Build it
\t@echo built

deploy: ## Ship it @confirm
\t@echo "deploying $(ENV)"; sleep $(or $(SECONDS_),0)

migrate: ## Run the migrations @exclusive
\t@echo migrating; sleep 30

wait: ## Wait a while
\t@sleep 30
`;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'vmo-safety-'));
  for (const p of ['shop', 'billing']) {
    await mkdir(path.join(root, p));
    await writeFile(path.join(root, p, 'Makefile'), MAKEFILE);
  }
  for (const [env, guarded] of [
    ['prod', true],
    ['staging', false],
  ] as const) {
    await mkdir(path.join(root, 'environments', env), { recursive: true });
    await writeFile(
      path.join(root, 'environments', env, 'config.yml'),
      `${guarded ? 'protected: true\n' : ''}template: base\nvms:\n  ${env}-web1:\n    host: 127.0.0.1\n  ${env}-web2:\n    host: 127.0.0.2\n`,
    );
  }
  t = await startTestApp({
    config: {
      projects: [
        { alias: 'shop', dir: path.join(root, 'shop') },
        { alias: 'billing', dir: path.join(root, 'billing'), protected: true },
      ],
      vmConfig: { dir: path.join(root, 'environments') },
      presets: [
        { name: 'uptime', command: 'uptime' },
        { name: 'greet', command: 'echo hello {who}', params: { who: '^[a-z]+$' } },
      ],
      security: { allowAdHoc: true },
      jobs: { graceSeconds: 1 },
    },
  });
  [admin, operator, viewer] = await Promise.all([
    t.loginAs('admin'),
    t.loginAs('operator'),
    t.loginAs('viewer'),
  ]);
}, 60_000);

afterAll(async () => {
  await t?.close();
  await rm(root, { recursive: true, force: true });
});

async function json<T>(res: Response, status: number): Promise<T> {
  const body = (await res.json()) as T;
  expect(res.status, JSON.stringify(body)).toBe(status);
  return body;
}

const refusal = (message: string | RegExp) => ({
  error: {
    code: 'CONFIRM_REQUIRED',
    message: typeof message === 'string' ? message : expect.stringMatching(message),
  },
});

async function jobOf(client: HttpClient, id: string): Promise<JobWithChildren> {
  return json<JobWithChildren>(await client.get(`/api/jobs/${id}`), 200);
}

async function until(id: string, done: (job: Job) => boolean): Promise<Job> {
  for (;;) {
    const job = await jobOf(admin, id);
    if (done(job)) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
}
const ended = (job: Job) => !['queued', 'running'].includes(job.status);

async function auditOf(jobId: string) {
  const page = await json<{ items: { target: string | null; details: unknown }[] }>(
    await admin.get('/api/audit?limit=100'),
    200,
  );
  return page.items.find((e) => e.target === jobId);
}

describe('@confirm on every path that starts the target', () => {
  it('refuses a run without its confirmation with 400 CONFIRM_REQUIRED, and stores nothing', async () => {
    const before = (await json<{ items: Job[] }>(await admin.get('/api/jobs?limit=500'), 200)).items
      .length;
    expect(
      await json(await operator.post('/api/jobs/stream', { alias: 'shop', target: 'deploy' }), 400),
    ).toEqual(refusal('"deploy" asks for confirmation before it runs: send confirm: true'));
    const after = (await json<{ items: Job[] }>(await admin.get('/api/jobs?limit=500'), 200)).items
      .length;
    expect(after).toBe(before);
  });

  it('asks again on a re-run while the first runs and after it ended; the re-run may change the arguments', async () => {
    const { jobId } = await json<{ jobId: string }>(
      await operator.post('/api/jobs/stream', {
        alias: 'shop',
        target: 'deploy',
        args: { ENV: 'qa', SECONDS_: '2' },
        confirm: true,
      }),
      201,
    );
    // While it runs.
    expect(await json(await operator.post(`/api/jobs/${jobId}/rerun`), 400)).toEqual(
      refusal(/asks for confirmation/),
    );
    expect(
      await json(await admin.post(`/api/jobs/${jobId}/rerun`, { confirm: false }), 400),
    ).toEqual(refusal(/asks for confirmation/));
    await until(jobId, ended);
    // After it ended.
    expect(await json(await operator.post(`/api/jobs/${jobId}/rerun`, {}), 400)).toEqual(
      refusal(/asks for confirmation/),
    );
    const again = await json<{ jobId: string }>(
      await operator.post(`/api/jobs/${jobId}/rerun`, {
        args: { ENV: 'uat' },
        confirm: true,
      }),
      201,
    );
    const rerun = await until(again.jobId, ended);
    expect(rerun).toMatchObject({ status: 'success', args: { ENV: 'uat' } });
    expect(await auditOf(again.jobId)).toMatchObject({ details: { confirmed: 'asked' } });
    // The request is kept as data, never with its confirmation: each re-run asks again.
    const stored = await t.db.pool.query<{ request: unknown }>(
      'select request from jobs where id = $1',
      [again.jobId],
    );
    expect(stored.rows[0]!.request).toEqual({
      kind: 'stream',
      request: { alias: 'shop', target: 'deploy', args: { ENV: 'uat' } },
    });
  });

  it('asks on a fan-out of the target to the hosts of the project', async () => {
    // The project has no remote hosts: the check that matters comes first, and names the host.
    const res = await operator.post('/api/jobs/fanout', {
      environment: 'staging',
      alias: 'shop',
      target: 'deploy',
    });
    expect(res.status).toBe(404);
  });
});

describe('protected projects and environments', () => {
  it('wants the project name typed for a run; `true` is not enough', async () => {
    const req = { alias: 'billing', target: 'build' };
    const message = 'project "billing" is protected: type its name to confirm (confirm: "billing")';
    expect(await json(await operator.post('/api/jobs/stream', req), 400)).toEqual(refusal(message));
    expect(
      await json(await operator.post('/api/jobs/stream', { ...req, confirm: true }), 400),
    ).toEqual(refusal(message));
    expect(
      await json(await operator.post('/api/jobs/stream', { ...req, confirm: 'Billing' }), 400),
    ).toEqual(refusal(message));
    const { jobId } = await json<{ jobId: string }>(
      await operator.post('/api/jobs/stream', { ...req, confirm: 'billing' }),
      201,
    );
    const job = await until(jobId, ended);
    expect(job).toMatchObject({
      status: 'success',
      protection: { kind: 'project', name: 'billing' },
    });
    expect(await auditOf(jobId)).toMatchObject({
      details: { confirmed: 'typed', protection: { kind: 'project', name: 'billing' } },
    });
    // The name typed also confirms a `@confirm` target there.
    const deploy = await json<{ jobId: string }>(
      await operator.post('/api/jobs/stream', {
        alias: 'billing',
        target: 'deploy',
        confirm: 'billing',
      }),
      201,
    );
    await until(deploy.jobId, ended);
    // A re-run asks for the name again.
    expect(
      await json(await operator.post(`/api/jobs/${jobId}/rerun`, { confirm: true }), 400),
    ).toEqual(refusal(message));
    await json(await operator.post(`/api/jobs/${jobId}/rerun`, { confirm: 'billing' }), 201);
  });

  it('wants the environment name for a preset on one of its VMs, a fan-out over it, and a shell there', async () => {
    const message = 'environment "prod" is protected: type its name to confirm (confirm: "prod")';
    expect(
      await json(
        await operator.post('/api/jobs/ssh-logs', {
          hostAlias: 'vm:prod/prod-web1',
          preset: 'uptime',
        }),
        400,
      ),
    ).toEqual(refusal(message));
    expect(
      await json(
        await operator.post('/api/jobs/fanout', { environment: 'prod', preset: 'uptime' }),
        400,
      ),
    ).toEqual(refusal(message));
    // Listing the hosts one by one does not get around it.
    expect(
      await json(
        await operator.post('/api/jobs/fanout', {
          hostAliases: ['vm:staging/staging-web1', 'vm:prod/prod-web2'],
          preset: 'uptime',
        }),
        400,
      ),
    ).toEqual(refusal(message));
    expect(
      await json(await admin.post('/api/jobs/terminal', { hostAlias: 'vm:prod/prod-web1' }), 400),
    ).toEqual(refusal(message));

    const group = await json<{ jobId: string }>(
      await operator.post('/api/jobs/fanout', {
        environment: 'prod',
        preset: 'uptime',
        confirm: 'prod',
      }),
      201,
    );
    const done = await until(group.jobId, ended);
    expect(done.protection).toEqual({ kind: 'environment', name: 'prod' });
    expect((await jobOf(operator, group.jobId)).children).toHaveLength(2);
    // The unprotected environment asks nothing.
    await json(
      await operator.post('/api/jobs/ssh-logs', {
        hostAlias: 'vm:staging/staging-web1',
        preset: 'uptime',
      }),
      201,
    );
    // A re-run of the fan-out goes to the same environment, and asks again.
    expect(await json(await operator.post(`/api/jobs/${group.jobId}/rerun`), 400)).toEqual(
      refusal(message),
    );
    const again = await json<{ jobId: string }>(
      await operator.post(`/api/jobs/${group.jobId}/rerun`, { confirm: 'prod' }),
      201,
    );
    expect(await until(again.jobId, ended)).toMatchObject({ host: 'prod', preset: 'uptime' });
  });

  it('re-runs a fan-out over listed hosts on the same hosts, with the arguments given', async () => {
    const hosts = ['vm:staging/staging-web1', 'vm:staging/staging-web2'];
    const group = await json<{ jobId: string }>(
      await operator.post('/api/jobs/fanout', {
        hostAliases: hosts,
        preset: 'greet',
        params: { who: 'ada' },
      }),
      201,
    );
    await until(group.jobId, ended);
    const again = await json<{ jobId: string }>(
      await operator.post(`/api/jobs/${group.jobId}/rerun`, { args: { who: 'bob' } }),
      201,
    );
    await until(again.jobId, ended);
    const rerun = await jobOf(operator, again.jobId);
    expect(rerun).toMatchObject({ type: 'group', preset: 'greet', args: { who: 'bob' } });
    expect((rerun.children ?? []).map((c) => c.host).sort()).toEqual(hosts);
    // A bad argument is refused as on the first start.
    expect(
      (await operator.post(`/api/jobs/${group.jobId}/rerun`, { args: { who: 'B0B' } })).status,
    ).toBe(400);
    // Its children gone (say, removed by hand), its stored request still names the hosts.
    await t.db.pool.query('delete from jobs where parent_id = $1', [group.jobId]);
    const third = await json<{ jobId: string }>(
      await operator.post(`/api/jobs/${group.jobId}/rerun`),
      201,
    );
    await until(third.jobId, ended);
    const children = (await jobOf(operator, third.jobId)).children ?? [];
    expect(children.map((c) => c.host).sort()).toEqual(hosts);
    // A fan-out stored before requests were kept (0007) with its children gone: it says so.
    await t.db.pool.query('update jobs set request = null where id = $1', [group.jobId]);
    expect(await json(await operator.post(`/api/jobs/${group.jobId}/rerun`), 400)).toEqual({
      error: {
        code: 'VALIDATION',
        message:
          'the hosts of this fan-out are not known: start it again from its environment or hosts',
      },
    });
  });

  it('lists the protection on VMs and projects', async () => {
    const vms = await json<{ id: string; protected?: boolean }[]>(
      await viewer.get('/api/vms'),
      200,
    );
    expect(Object.fromEntries(vms.map((v) => [v.id, v.protected === true]))).toEqual({
      'prod/prod-web1': true,
      'prod/prod-web2': true,
      'staging/staging-web1': false,
      'staging/staging-web2': false,
    });
    const projects = await json<{ alias: string; protected?: boolean }[]>(
      await viewer.get('/api/projects'),
      200,
    );
    expect(projects.map((p) => [p.alias, p.protected === true])).toEqual([
      ['billing', true],
      ['shop', false],
    ]);
  });
});

describe('a host shell is an ad-hoc command', () => {
  it('is refused to an operator, and says why', async () => {
    expect(
      await json(
        await operator.post('/api/jobs/terminal', { hostAlias: 'vm:staging/staging-web1' }),
        403,
      ),
    ).toEqual({
      error: {
        code: 'FORBIDDEN',
        message: 'shells on hosts need the admin role (terminal.hostShells)',
      },
    });
    const sock = await operator.socket();
    try {
      // The permission a page reads before offering the button.
      const me = await json<Me>(await operator.get('/api/auth/me'), 200);
      expect(me.permissions).toMatchObject({ 'hostShell.open': false, 'job.run': true });
    } finally {
      sock.close();
    }
  });

  it('opens for an admin when ad-hoc commands are allowed', async () => {
    const { jobId } = await json<{ jobId: string }>(
      await admin.post('/api/jobs/terminal', { hostAlias: 'vm:staging/staging-web1' }),
      201,
    );
    await until(jobId, ended);
    // A re-run opens a shell on the same host again, for whoever may open one.
    expect((await operator.post(`/api/jobs/${jobId}/rerun`)).status).toBe(403);
    const again = await json<{ jobId: string; type: string }>(
      await admin.post(`/api/jobs/${jobId}/rerun`),
      201,
    );
    expect(again.type).toBe('terminal');
    expect(await until(again.jobId, ended)).toMatchObject({
      type: 'terminal',
      host: 'vm:staging/staging-web1',
    });
    expect((await json<Me>(await admin.get('/api/auth/me'), 200)).permissions).toMatchObject({
      'hostShell.open': true,
      'adhoc.run': true,
      'users.manage': true,
    });
  });
});

describe('each caller gets the job with what it may do', () => {
  it("answers `can` per caller, over REST and in each socket's jobs:changed", async () => {
    const viewerSocket = await viewer.socket();
    const operatorSocket = await operator.socket();
    const seen = { viewer: [] as Job[], operator: [] as Job[] };
    viewerSocket.on('jobs:changed', ({ job }) => seen.viewer.push(job));
    operatorSocket.on('jobs:changed', ({ job }) => seen.operator.push(job));
    try {
      const { jobId } = await json<{ jobId: string }>(
        await operator.post('/api/jobs/stream', { alias: 'shop', target: 'wait' }),
        201,
      );
      await until(jobId, (j) => j.status === 'running');
      expect((await jobOf(viewer, jobId)).can).toEqual({
        cancel: false,
        rerun: false,
        readOutput: true,
        input: false,
      });
      expect((await jobOf(operator, jobId)).can).toEqual({
        cancel: true,
        rerun: true,
        readOutput: true,
        input: false,
      });
      await json(await operator.post('/api/jobs/cancel', { jobId }), 202);
      await until(jobId, ended);
      await new Promise((r) => setTimeout(r, 200));
      const last = (list: Job[]) => list.filter((j) => j.id === jobId).at(-1);
      expect(last(seen.viewer)).toMatchObject({ status: 'canceled', can: { rerun: false } });
      expect(last(seen.operator)).toMatchObject({ status: 'canceled', can: { rerun: true } });
      expect(seen.viewer.filter((j) => j.id === jobId).every((j) => !j.can.cancel)).toBe(true);
      expect(seen.operator.some((j) => j.id === jobId && j.can.cancel)).toBe(true);
    } finally {
      viewerSocket.close();
      operatorSocket.close();
    }
  });

  it("shows an ad-hoc command's text to admins only", async () => {
    const sock = await viewer.socket();
    const seen: Job[] = [];
    sock.on('jobs:changed', ({ job }) => seen.push(job));
    try {
      const { jobId } = await json<{ jobId: string }>(
        await admin.post('/api/jobs/ssh-logs', {
          hostAlias: 'vm:staging/staging-web2',
          command: 'cat /etc/secret-recipe',
        }),
        201,
      );
      await until(jobId, ended);
      await new Promise((r) => setTimeout(r, 200));
      // A VM is named as itself, after the command (issue 22).
      const hidden = '(ad-hoc command, shown to admins only) @ staging/staging-web2';
      expect((await jobOf(viewer, jobId)).command).toBe(hidden);
      expect((await jobOf(operator, jobId)).command).toBe(hidden);
      expect((await jobOf(admin, jobId)).command).toBe(
        'cat /etc/secret-recipe @ staging/staging-web2',
      );
      const listed = await json<{ items: Job[] }>(await viewer.get('/api/jobs?limit=50'), 200);
      expect(JSON.stringify(listed)).not.toContain('secret-recipe');
      expect(seen.filter((j) => j.id === jobId).length).toBeGreaterThan(0);
      expect(JSON.stringify(seen)).not.toContain('secret-recipe');
      // Nor can it be found by searching for it.
      const found = await json<{ items: Job[] }>(
        await viewer.get('/api/jobs?q=secret-recipe&limit=50'),
        200,
      );
      expect(found.items).toEqual([]);
      // Running it again is an ad-hoc command too: the admin's, the same text.
      expect((await operator.post(`/api/jobs/${jobId}/rerun`)).status).toBe(403);
      const again = await json<{ jobId: string }>(
        await admin.post(`/api/jobs/${jobId}/rerun`),
        201,
      );
      expect((await jobOf(admin, again.jobId)).command).toBe(
        'cat /etc/secret-recipe @ staging/staging-web2',
      );
      await until(again.jobId, ended);
    } finally {
      sock.close();
    }
  });
});

describe('queued jobs say why they wait', () => {
  it('waits for the running @exclusive twin, with its id', async () => {
    const first = await json<{ jobId: string }>(
      await operator.post('/api/jobs/stream', { alias: 'shop', target: 'migrate' }),
      201,
    );
    await until(first.jobId, (j) => j.status === 'running');
    const second = await json<{ jobId: string }>(
      await operator.post('/api/jobs/stream', { alias: 'shop', target: 'migrate' }),
      201,
    );
    const waiting = await until(second.jobId, (j) => j.waiting !== undefined);
    expect(waiting).toMatchObject({
      status: 'queued',
      waiting: {
        reason: 'exclusive',
        jobId: first.jobId,
        message: 'waits for the running make migrate to end (one run at a time)',
      },
    });
    await json(await operator.post('/api/jobs/cancel', { jobId: second.jobId }), 202);
    await json(await operator.post('/api/jobs/cancel', { jobId: first.jobId }), 202);
    expect((await until(second.jobId, ended)).waiting).toBeUndefined();
    await until(first.jobId, ended);
  });
});
