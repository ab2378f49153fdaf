// Triggers (issue 24) used as CI uses them: with curl, a Bearer secret and a JSON body, with and
// without `wait`; against a real server and database.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditPage, CreatedTrigger, Job, Trigger } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
import { ENGINE_PROJECT } from '../fixtures/jobs.js';

const run = promisify(execFile);

describe('triggers', { timeout: 60_000 }, () => {
  let t: TestApp;
  let admin: HttpClient;

  beforeAll(async () => {
    t = await startTestApp({
      config: { projects: [{ alias: 'engine', dir: ENGINE_PROJECT }], jobs: { graceSeconds: 1 } },
    });
    admin = await t.loginAs('admin');
  });
  afterAll(() => t?.close());

  const make = async (target: string, name = target) => {
    const res = await admin.post('/api/triggers', {
      name,
      run: { kind: 'stream', request: { alias: 'engine', target } },
    });
    expect(res.status).toBe(201);
    return (await res.json()) as CreatedTrigger;
  };

  /** `curl` as a CI step would call it: the status line's code and the JSON answer. */
  async function curl(url: string, secret: string, body?: unknown) {
    const { stdout } = await run('curl', [
      '-sS',
      '-X',
      'POST',
      '-H',
      `Authorization: Bearer ${secret}`,
      ...(body === undefined
        ? []
        : ['-H', 'Content-Type: application/json', '-d', JSON.stringify(body)]),
      '-w',
      '\n%{http_code}',
      url,
    ]);
    const lines = stdout.trimEnd().split('\n');
    const status = Number(lines.pop());
    return { status, body: JSON.parse(lines.join('\n')) as Record<string, unknown> };
  }
  const urlOf = (tr: Trigger, query = '') =>
    t.baseUrl + new URL(tr.url, t.baseUrl).pathname + query;

  it('starts its run with the args given, as its owner, and tells what started the job', async () => {
    const tr = await make('hello', 'greet from CI');
    expect(tr.secret).toMatch(/^vmo_trg_/);
    expect(tr.command).toBe('engine: make hello');
    const listed = (await (await admin.get('/api/triggers')).json()) as Trigger[];
    expect(listed.find((x) => x.id === tr.id)).not.toHaveProperty('secret');

    const started = await curl(urlOf(tr), tr.secret, { args: { NAME: 'pipeline' } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const jobId = started.body.jobId as string;
    const job = (await (await admin.get(`/api/jobs/${jobId}`)).json()) as Job;
    expect(job.trigger).toEqual({ kind: 'trigger', id: tr.id, name: 'greet from CI' });
    expect(job.args).toEqual({ NAME: 'pipeline' });
    expect(job.requestedBy?.username).toBe(tr.owner?.username);

    // wait=1: the answer comes when the job has ended, with how.
    const waited = await curl(urlOf(tr, '?wait=1'), tr.secret);
    expect(waited).toMatchObject({ status: 200, body: { status: 'success', exitCode: 0 } });
    const log = await (await admin.get(`/api/jobs/${waited.body.jobId as string}/log`)).text();
    expect(log).toContain('hello');
    const audit = (await (await admin.get('/api/audit?action=trigger.use')).json()) as AuditPage;
    expect(audit.items.filter((e) => e.target === tr.id)).toHaveLength(2);
  });

  it('waits for a failure too, and answers 202 when the time-out comes first', async () => {
    const fail = await make('fail');
    expect(await curl(urlOf(fail, '?wait=1'), fail.secret)).toMatchObject({
      status: 200,
      body: { status: 'failed', exitCode: 2 }, // make's code for a failed recipe
    });
    const slow = await make('slow');
    const still = await curl(urlOf(slow, '?wait=1&timeout=1'), slow.secret);
    expect(still).toMatchObject({ status: 202, body: { status: 'running', exitCode: null } });
    await admin.post('/api/jobs/cancel', { jobId: still.body.jobId });
  });

  it('refuses a wrong or revoked secret, bad args, and too many uses', async () => {
    const tr = await make('hello');
    expect((await curl(urlOf(tr), `${tr.secret}x`)).status).toBe(401);
    expect((await curl(urlOf(tr), 'vmo_not-a-trigger')).status).toBe(401);
    const bad = await curl(urlOf(tr), tr.secret, { args: { '1 BAD': 'x' } });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'BAD_ARGS' } } });
    // 30 uses a minute; the 31st is refused.
    let last = 0;
    for (let i = 0; i < 31; i++) last = (await curl(urlOf(tr), tr.secret)).status;
    expect(last).toBe(429);
    expect((await admin.request('DELETE', `/api/triggers/${tr.id}`)).status).toBe(204);
    expect((await curl(urlOf(tr), tr.secret)).status).toBe(401);
  });

  it('is made by admins only, checked as a start by hand would be', async () => {
    const operator = await t.loginAs('operator');
    const body = {
      name: 'x',
      run: { kind: 'stream', request: { alias: 'engine', target: 'hello' } },
    };
    expect((await operator.post('/api/triggers', body)).status).toBe(403);
    const res = await admin.post('/api/triggers', {
      name: 'x',
      run: { kind: 'stream', request: { alias: 'engine', target: 'nope' } },
    });
    expect(res.status).toBe(404);
  });
});
