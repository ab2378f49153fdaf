// Every bad input of SPEC §2 gets its code, and nothing starts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type HttpClient, type TestApp, type TestSocket } from '../fixtures/app.js';
import { ENGINE_PROJECT } from '../fixtures/jobs.js';

describe('bad requests to run a job', () => {
  let t: TestApp;
  let operator: HttpClient;
  let socket: TestSocket;

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        projects: [
          { alias: 'engine', dir: ENGINE_PROJECT },
          { alias: 'gone', dir: '/nonexistent/x' },
        ],
      },
    });
    operator = await t.loginAs('operator');
    socket = await operator.socket();
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  const jobCount = async () =>
    (
      await t.db.db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n;

  const cases: [string, unknown, number, string][] = [
    ['an unknown project', { alias: 'nope', target: 'hello' }, 404, 'UNKNOWN_PROJECT'],
    ['an unavailable project', { alias: 'gone', target: 'hello' }, 404, 'UNKNOWN_PROJECT'],
    ['an unknown target', { alias: 'engine', target: 'nope' }, 404, 'UNKNOWN_TARGET'],
    [
      'a target starting with -',
      { alias: 'engine', target: '-f/etc/passwd' },
      404,
      'UNKNOWN_TARGET',
    ],
    [
      'a target that is an option',
      { alias: 'engine', target: '--eval=all:;@id' },
      404,
      'UNKNOWN_TARGET',
    ],
    ['a special target', { alias: 'engine', target: '.PHONY' }, 404, 'UNKNOWN_TARGET'],
    [
      'SHELL as a variable',
      { alias: 'engine', target: 'hello', args: { SHELL: '/bin/bash' } },
      400,
      'BAD_ARGS',
    ],
    [
      'MAKEFLAGS as a variable',
      { alias: 'engine', target: 'hello', args: { MAKEFLAGS: 'x' } },
      400,
      'BAD_ARGS',
    ],
    [
      'MAKEFILES as a variable',
      { alias: 'engine', target: 'hello', args: { MAKEFILES: 'x' } },
      400,
      'BAD_ARGS',
    ],
    [
      'MFLAGS as a variable',
      { alias: 'engine', target: 'hello', args: { MFLAGS: '-k' } },
      400,
      'BAD_ARGS',
    ],
    [
      '__proto__ as a variable (a JSON body, not an object literal, can carry it)',
      JSON.parse('{"alias":"engine","target":"hello","args":{"__proto__":"x"}}') as object,
      400,
      'BAD_ARGS',
    ],
    [
      'GNUMAKEFLAGS as a variable',
      { alias: 'engine', target: 'hello', args: { GNUMAKEFLAGS: 'x' } },
      400,
      'BAD_ARGS',
    ],
    [
      'VPATH as a variable',
      { alias: 'engine', target: 'hello', args: { VPATH: 'x' } },
      400,
      'BAD_ARGS',
    ],
    [
      '.SHELLFLAGS as a variable',
      { alias: 'engine', target: 'hello', args: { '.SHELLFLAGS': '-c' } },
      400,
      'BAD_ARGS',
    ],
    [
      'a name with a space',
      { alias: 'engine', target: 'hello', args: { 'A B': 'x' } },
      400,
      'BAD_ARGS',
    ],
    [
      'a name starting with a digit',
      { alias: 'engine', target: 'hello', args: { '1X': 'x' } },
      400,
      'BAD_ARGS',
    ],
    ['a name with =', { alias: 'engine', target: 'hello', args: { 'A=B': 'x' } }, 400, 'BAD_ARGS'],
    [
      '$(shell …) in a value',
      { alias: 'engine', target: 'hello', args: { NAME: '$(shell touch /tmp/pwned)' } },
      400,
      'BAD_ARGS',
    ],
    [
      'backticks in a value',
      { alias: 'engine', target: 'hello', args: { NAME: '`id`' } },
      400,
      'BAD_ARGS',
    ],
    [
      'a ; in a value',
      { alias: 'engine', target: 'hello', args: { NAME: 'a;id' } },
      400,
      'BAD_ARGS',
    ],
    [
      'a space in a value',
      { alias: 'engine', target: 'hello', args: { NAME: 'a b' } },
      400,
      'BAD_ARGS',
    ],
    [
      'a newline in a value',
      { alias: 'engine', target: 'hello', args: { NAME: 'a\nb' } },
      400,
      'BAD_ARGS',
    ],
    [
      'a quote in a value',
      { alias: 'engine', target: 'hello', args: { NAME: "a'b" } },
      400,
      'BAD_ARGS',
    ],
    [
      'a leading - in a value',
      { alias: 'engine', target: 'hello', args: { NAME: '-n' } },
      400,
      'BAD_ARGS',
    ],
    [
      'a value over 256 characters',
      { alias: 'engine', target: 'hello', args: { NAME: 'x'.repeat(257) } },
      400,
      'BAD_ARGS',
    ],
    [
      'an interactive target without force',
      { alias: 'engine', target: 'shell' },
      400,
      'INTERACTIVE_TARGET',
    ],
    ['a missing target', { alias: 'engine' }, 400, 'VALIDATION'],
    [
      'a non-string value',
      { alias: 'engine', target: 'hello', args: { NAME: 1 } },
      400,
      'VALIDATION',
    ],
    ['args as a list', { alias: 'engine', target: 'hello', args: ['NAME=x'] }, 400, 'VALIDATION'],
    ['an unknown field', { alias: 'engine', target: 'hello', shell: true }, 400, 'VALIDATION'],
    ['malformed JSON', '{"alias": "engine", "target": ', 400, 'VALIDATION'],
    [
      'an oversized payload',
      { alias: 'engine', target: 'hello', args: { NAME: 'x'.repeat(100_000) } },
      413,
      'PAYLOAD_TOO_LARGE',
    ],
  ];

  it.each(cases)('refuses %s over REST, and starts nothing', async (_what, body, status, code) => {
    const before = await jobCount();
    const res = await operator.post('/api/jobs/stream', body);
    expect(res.status).toBe(status);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe(code);
    expect(json.error.message.length).toBeGreaterThan(5);
    expect(await jobCount()).toBe(before);
  });

  it.each(cases.filter(([, body, status]) => typeof body === 'object' && status !== 413))(
    'refuses %s over the socket too',
    async (_what, body, _status, code) => {
      const before = await jobCount();
      const { force: _force, ...payload } = body as Record<string, unknown>;
      const ack = await socket.emitWithAck('execute-command', payload as never);
      expect(ack).toMatchObject({ ok: false, error: { code } });
      expect(await jobCount()).toBe(before);
    },
  );

  it('names the rule a value breaks: its length, or its characters', async () => {
    const message = async (NAME: string) =>
      (
        (await (
          await operator.post('/api/jobs/stream', {
            alias: 'engine',
            target: 'hello',
            args: { NAME },
          })
        ).json()) as { error: { message: string } }
      ).error.message;
    expect(await message('x'.repeat(257))).toBe(
      'the value of NAME is 257 characters long; at most 256',
    );
    expect(await message('a;b')).toBe(
      'the value of NAME may hold only letters, digits and _ . / : @ % + , = -',
    );
  });

  it('runs an interactive target as a stream when forced', async () => {
    const res = await operator.post('/api/jobs/stream', {
      alias: 'engine',
      target: 'shell',
      force: true,
    });
    expect(res.status).toBe(201);
  });

  it('never created the file a $(shell) value would have', async () => {
    const { existsSync } = await import('node:fs');
    expect(existsSync('/tmp/pwned')).toBe(false);
  });

  it('keeps viewers from running or cancelling, and lets them read', async () => {
    const viewer = await t.loginAs('viewer');
    const run = await viewer.post('/api/jobs/stream', { alias: 'engine', target: 'hello' });
    expect(run.status).toBe(403);
    expect(await run.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const cancel = await viewer.post('/api/jobs/cancel', {
      jobId: '00000000-0000-0000-0000-000000000000',
    });
    expect(cancel.status).toBe(403);
    expect((await viewer.get('/api/jobs')).status).toBe(200);
    const vs = await viewer.socket();
    expect(
      await vs.emitWithAck('execute-command', { alias: 'engine', target: 'hello' }),
    ).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await vs.emitWithAck('cancel-job', { jobId: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    vs.close();
  });

  it.each([
    ['GET', '/api/jobs/not-a-uuid', 404, 'JOB_NOT_FOUND'],
    ['GET', '/api/jobs/00000000-0000-0000-0000-000000000000', 404, 'JOB_NOT_FOUND'],
    ['GET', '/api/jobs/00000000-0000-0000-0000-000000000000/events', 404, 'JOB_NOT_FOUND'],
    ['GET', '/api/jobs/00000000-0000-0000-0000-000000000000/log', 404, 'JOB_NOT_FOUND'],
    ['POST', '/api/jobs/00000000-0000-0000-0000-000000000000/rerun', 404, 'JOB_NOT_FOUND'],
    ['GET', '/api/jobs?limit=0', 400, 'VALIDATION'],
    ['GET', '/api/jobs?limit=501', 400, 'VALIDATION'],
    ['GET', '/api/jobs?status=bogus', 400, 'VALIDATION'],
    ['GET', '/api/jobs?before=garbage', 400, 'VALIDATION'],
    ['GET', '/api/jobs?colour=red', 400, 'VALIDATION'],
    ['GET', '/api/jobs/00000000-0000-0000-0000-000000000000/events?after=-1', 400, 'VALIDATION'],
  ])('answers %s %s with %i %s', async (method, path, status, code) => {
    const res = await operator.request(method, path);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error: { code } });
  });

  it.each([
    [{ jobId: 'nope' }, 404, 'JOB_NOT_FOUND'],
    [{ jobId: '00000000-0000-0000-0000-000000000000' }, 404, 'JOB_NOT_FOUND'],
    [{}, 400, 'VALIDATION'],
  ])('answers cancel %j with %i %s', async (body, status, code) => {
    const res = await operator.post('/api/jobs/cancel', body);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error: { code } });
  });

  it('refuses join-job for an unknown job and bad payloads', async () => {
    expect(await socket.emitWithAck('join-job', { jobId: 'nope' })).toMatchObject({
      ok: false,
      error: { code: 'JOB_NOT_FOUND' },
    });
    expect(await socket.emitWithAck('join-job', { jobId: 'x', afterSeq: -1 })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION' },
    });
    expect(await socket.emitWithAck('join-job', 'garbage' as never)).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION' },
    });
    expect(await socket.emitWithAck('leave-job', { jobId: 'x' })).toEqual({ ok: true });
  });
});
