// Property tests (fast-check): random and malformed payloads at every REST body and socket event.
// Each gets an error answer in SPEC §2's shape, the server stays up, and no job or user appears.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  CancelJob,
  ChangePassword,
  CreateToken,
  CreateUser,
  ERROR_STATUS,
  JoinJob,
  LoginRequest,
  StartFanout,
  StartSsh,
  StartStream,
  StartTerminal,
  TerminalInput,
  TerminalResize,
  UpdateUser,
} from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp, type TestSocket } from '../fixtures/app.js';
import { ENGINE_PROJECT } from '../fixtures/jobs.js';

const RUNS = 40;
const CODES = new Set(Object.keys(ERROR_STATUS));

/** What the server receives of a value: its JSON round trip (boxed strings unboxed, undefined gone). */
const wire = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? null)) as unknown;

/** Values of every JSON shape, plus ones that look like the real payloads with wrong parts. */
function payloads(keys: string[]): fc.Arbitrary<unknown> {
  const near = fc.dictionary(
    fc.constantFrom(...keys, '__proto__', 'constructor', 'x'),
    fc.jsonValue(),
    {
      maxKeys: keys.length + 2,
    },
  );
  return fc
    .oneof(
      fc.jsonValue(),
      near,
      fc.anything({ withNullPrototype: true, withObjectString: true }),
      fc
        .string({ unit: 'binary', maxLength: 300 })
        .map((s) => ({ jobId: s, data: s, alias: s, target: s })),
    )
    .map(wire);
}

/** Text bodies that are not JSON, or barely are. */
const rawBodies = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('{', '[', '{"a":', 'null', '"', '{"__proto__":{"x":1}}', '1e999', '\u0000'),
);

interface Target {
  method: string;
  path: string;
  schema: z.ZodType;
  keys: string[];
}

const ZERO = '00000000-0000-0000-0000-000000000000';
const REST: Target[] = [
  { method: 'POST', path: '/api/auth/login', schema: LoginRequest, keys: ['username', 'password'] },
  {
    method: 'POST',
    path: '/api/auth/password',
    schema: ChangePassword,
    keys: ['currentPassword', 'newPassword'],
  },
  {
    method: 'POST',
    path: '/api/jobs/stream',
    schema: StartStream,
    keys: ['alias', 'target', 'args', 'force', 'hostAlias'],
  },
  {
    method: 'POST',
    path: '/api/jobs/ssh-logs',
    schema: StartSsh,
    keys: ['hostAlias', 'preset', 'params', 'command'],
  },
  {
    method: 'POST',
    path: '/api/jobs/terminal',
    schema: StartTerminal,
    keys: ['alias', 'target', 'hostAlias', 'mode', 'cols'],
  },
  {
    method: 'POST',
    path: '/api/jobs/fanout',
    schema: StartFanout,
    keys: ['environment', 'hostAliases', 'preset', 'alias', 'target'],
  },
  { method: 'POST', path: '/api/jobs/cancel', schema: CancelJob, keys: ['jobId'] },
  {
    method: 'POST',
    path: '/api/users',
    schema: CreateUser,
    keys: ['username', 'password', 'role'],
  },
  {
    method: 'PATCH',
    path: `/api/users/${ZERO}`,
    schema: UpdateUser,
    keys: ['role', 'disabled', 'password'],
  },
  { method: 'POST', path: '/api/tokens', schema: CreateToken, keys: ['name', 'expiresAt'] },
];

const EVENTS: { event: string; schema: z.ZodType; keys: string[] }[] = [
  {
    event: 'execute-command',
    schema: StartStream.omit({ force: true }),
    keys: ['alias', 'target', 'args', 'hostAlias'],
  },
  { event: 'join-job', schema: JoinJob, keys: ['jobId', 'afterSeq'] },
  { event: 'leave-job', schema: CancelJob, keys: ['jobId'] },
  { event: 'cancel-job', schema: CancelJob, keys: ['jobId'] },
  { event: 'terminal:input', schema: TerminalInput, keys: ['jobId', 'data'] },
  { event: 'terminal:resize', schema: TerminalResize, keys: ['jobId', 'cols', 'rows'] },
];

describe('random and malformed payloads', () => {
  let t: TestApp;
  let admin: HttpClient;
  let socket: TestSocket;

  const counts = async () => {
    const [jobs, users] = await Promise.all(
      (['jobs', 'users'] as const).map((table) =>
        t.db.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow(),
      ),
    );
    return { jobs: Number(jobs!.n), users: Number(users!.n) };
  };

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
        security: { allowAdHoc: true },
      },
      // The sign-in route is fuzzed too; these runs are not an attack to slow down.
      loginLimits: { perUser: 1_000_000, perAddress: 1_000_000, windowMs: 60_000 },
    });
    admin = await t.loginAs('admin');
    socket = await admin.socket();
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  it.each(REST)(
    '$method $path answers every invalid body with an error',
    async ({ method, path, schema, keys }) => {
      const before = await counts();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            payloads(keys)
              .filter((v) => !schema.safeParse(v).success)
              .map((v) => ({ raw: false, body: v })),
            rawBodies.map((v) => ({ raw: true, body: v })),
          ),
          async ({ raw, body }) => {
            const text = raw ? (body as string) : JSON.stringify(body);
            const res = await admin.request(method, path, text);
            expect(res.status).toBeGreaterThanOrEqual(400);
            expect(res.status).toBeLessThan(500);
            const answer = (await res.json()) as { error: { code: string; message: string } };
            expect(CODES.has(answer.error.code)).toBe(true);
            expect(typeof answer.error.message).toBe('string');
          },
        ),
        { numRuns: RUNS },
      );
      expect(await counts()).toEqual(before);
      expect((await admin.get('/api/health')).status).toBe(200);
    },
  );

  it.each(EVENTS)(
    '$event acks every invalid payload with an error',
    async ({ event, schema, keys }) => {
      const before = await counts();
      await fc.assert(
        fc.asyncProperty(
          payloads(keys).filter((v) => !schema.safeParse(v).success),
          async (payload) => {
            const ack = (await socket
              .timeout(5000)
              .emitWithAck(event as 'leave-job', payload as { jobId: string })) as {
              ok: boolean;
              error?: { code: string; message: string };
            };
            expect(ack.ok).toBe(false);
            expect(CODES.has(ack.error!.code)).toBe(true);
          },
        ),
        { numRuns: RUNS },
      );
      expect(await counts()).toEqual(before);
      expect(socket.connected).toBe(true);
    },
  );

  it('survives events without an ack, with extra arguments, and unknown events', async () => {
    const before = await counts();
    for (const { event } of EVENTS) {
      socket.emit(event as 'leave-job', undefined as never, 'not a function' as never);
      (socket.emit as (...a: unknown[]) => void)(event, { jobId: ZERO }, 1, 2, () => {});
      (socket.emit as (...a: unknown[]) => void)(event);
    }
    (socket.emit as (...a: unknown[]) => void)('no-such-event', { x: 1 }, () => {});
    // Still connected and answering.
    expect(await socket.timeout(5000).emitWithAck('leave-job', { jobId: ZERO })).toEqual({
      ok: true,
    });
    expect(await counts()).toEqual(before);
  });
});
