// Bytes a fuzzer sends and a database or a decoder chokes on: NUL in a query or a body, invalid
// UTF-8 in a path parameter, a body that says gzip and is not. Each is a 4xx with SPEC §2's error
// shape, never a 500, and the server goes on answering.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
import { reportFault } from '../fixtures/fault-report.js';
import { ENGINE_PROJECT } from '../fixtures/jobs.js';

describe('odd bytes at the boundary', () => {
  let t: TestApp;
  let admin: HttpClient;

  beforeAll(async () => {
    t = await startTestApp({ config: { projects: [{ alias: 'engine', dir: ENGINE_PROJECT }] } });
    admin = await t.loginAs('admin');
  });
  // Every odd request and how the server answered it, for the fault table.
  const answers: number[] = [];
  afterAll(async () => {
    reportFault({
      fault: 'odd bytes: NUL in filters and bodies, invalid UTF-8 in paths, false gzip',
      tries: answers.length,
      crashes: answers.filter((s) => s >= 500).length,
      held: `${answers.filter((s) => s >= 400 && s < 500).length} of ${answers.length} answered 4xx with the error shape; health 200 after`,
    });
    await t?.close();
  });

  const shape = async (res: Response, status: number, code: string) => {
    answers.push(res.status);
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message).toEqual(expect.any(String));
  };

  it.each([
    ['a NUL in a job filter', '/api/jobs?q=a%00b'],
    ['a NUL in the audit filter', '/api/audit?user=%00'],
    ['a NUL in a search', '/api/jobs?project=x%00'],
    ['a lone surrogate in a job id', '/api/jobs/%ED%A0%80/events'],
    ['an invalid byte in an alias', '/api/projects/%FF/targets'],
    ['a cut escape in an alias', '/api/projects/%E2%82/targets'],
  ])('answers 400 VALIDATION to %s', async (_what, url) => {
    await shape(await admin.get(url), 400, 'VALIDATION');
  });

  it('still answers 401 first to anyone not signed in (auth before schema)', async () => {
    const anonymous = await fetch(`${t.baseUrl}/api/jobs?q=a%00b`);
    expect(anonymous.status).toBe(401);
    expect((await fetch(`${t.baseUrl}/api/projects/%FF/targets`)).status).toBe(401);
  });

  it('answers 400 to a NUL inside a JSON body', async () => {
    const res = await admin.post('/api/jobs/stream', {
      alias: 'engine',
      target: 'hello',
      args: { NAME: 'a\u0000b' },
    });
    answers.push(res.status);
    expect(res.status).toBe(400);
    const res2 = await admin.post('/api/users', { username: 'x\u0000y', role: 'viewer' });
    await shape(res2, 400, 'VALIDATION');
  });

  it('answers 400 to a body marked gzip that is not, and takes one that is', async () => {
    const body = JSON.stringify({ alias: 'engine', target: 'nope' });
    await shape(
      await admin.post('/api/jobs/stream', body, { 'content-encoding': 'gzip' }),
      400,
      'VALIDATION',
    );
    const res = await fetch(`${t.baseUrl}/api/jobs/stream`, {
      method: 'POST',
      headers: {
        origin: t.baseUrl,
        cookie: admin.cookie!,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      body: gzipSync(body),
    });
    await shape(res, 404, 'UNKNOWN_TARGET');
    expect((await admin.get('/api/health')).status).toBe(200);
  });
});
