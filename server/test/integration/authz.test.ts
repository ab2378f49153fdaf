// SPEC §4's role rules, route by route and event by event: every REST route the Express app has
// and every socket event the server listens to is called anonymously, with each role's session and
// with each role's personal token. A route or event without an entry in these tables fails the test.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Role } from '@vmo/protocol';
import { HttpClient, startTestApp, type TestApp, type TestSocket } from '../fixtures/app.js';
import { ENGINE_PROJECT } from '../fixtures/jobs.js';
import { expressRoutes } from '../fixtures/routes.js';
import { tableRoutes } from '../../src/http/route-table.js';

type Caller = 'viewer' | 'operator' | 'admin';
const ROLES: Caller[] = ['viewer', 'operator', 'admin'];
const AS = ROLES.flatMap((role) => [
  { role, via: 'session' as const },
  { role, via: 'token' as const },
]);

interface Signed {
  client: HttpClient;
  username: string;
  password: string;
}

/** What each role gets: a status code, or per authentication a different one. */
type Expect = Record<Caller, number> & { token?: Partial<Record<Caller, number>> };

interface Row {
  /** The path with example parameters, and a body. */
  call: (ctx: Ctx) => Promise<{ path: string; body?: unknown }> | { path: string; body?: unknown };
  expect: Expect;
  /** A fresh signed-in user for each call (the call ends or changes the caller's session). */
  fresh?: boolean;
}

interface Ctx {
  t: TestApp;
  streamJob: string;
  finishedJob: string;
  caller: Signed;
  admin: HttpClient;
}

const only = (viewer: number, operator: number, admin: number): Expect => ({
  viewer,
  operator,
  admin,
});
const all = (status: number): Expect => only(status, status, status);
const uid = () => randomBytes(4).toString('hex');

async function newUser(t: TestApp, admin: HttpClient, role: Role = 'viewer') {
  const res = await admin.post('/api/users', {
    username: `u-${uid()}`,
    password: 'a-long-enough-password',
    role,
  });
  return (await res.json()) as { id: string; username: string };
}

const SCHEDULE = {
  cron: '0 6 * * *',
  run: { kind: 'stream', request: { alias: 'engine', target: 'hello' } },
};
/** A paused schedule of the caller's own, or (a viewer has none) of the admin's. */
async function ownSchedule({ caller, admin }: Pick<Ctx, 'caller' | 'admin'>): Promise<string> {
  for (const client of [caller.client, admin]) {
    const res = await client.post('/api/schedules', { ...SCHEDULE, enabled: false });
    if (res.status === 201) return ((await res.json()) as { id: string }).id;
  }
  throw new Error('no schedule could be created');
}

/** A trigger of the admin's. */
async function adminTrigger(admin: HttpClient): Promise<string> {
  const res = await admin.post('/api/triggers', { name: 'authz', run: SCHEDULE.run });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** A channel of the admin's (a Slack-style URL nothing answers: nothing is sent here). */
async function adminChannel(admin: HttpClient): Promise<string> {
  const res = await admin.post('/api/notifications/channels', {
    name: `authz ${randomUUID()}`,
    kind: 'slack',
    url: 'http://127.0.0.1:1/services/authz',
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** A "my jobs" rule of the caller's, on an admin's channel. */
async function ownRule({ caller, admin }: Pick<Ctx, 'caller' | 'admin'>): Promise<string> {
  const channelId = await adminChannel(admin);
  const res = await caller.client.post('/api/notifications/rules', {
    channelId,
    on: ['failed'],
    match: { mine: true },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Every route of the API, keyed `METHOD /path` as Express has it. Public routes expect no 401. */
const REST: Record<string, Row> = {
  'GET /api/health': { call: () => ({ path: '/api/health' }), expect: all(200) },
  'GET /api/openapi.json': { call: () => ({ path: '/api/openapi.json' }), expect: all(200) },
  'POST /api/auth/login': {
    call: ({ caller }) => ({
      path: '/api/auth/login',
      body: { username: caller.username, password: caller.password },
    }),
    expect: all(200),
  },
  'POST /api/auth/logout': {
    call: () => ({ path: '/api/auth/logout' }),
    expect: { ...all(204), token: { viewer: 400, operator: 400, admin: 400 } },
    fresh: true,
  },
  'GET /api/auth/me': { call: () => ({ path: '/api/auth/me' }), expect: all(200) },
  'GET /api/auth/providers': { call: () => ({ path: '/api/auth/providers' }), expect: all(200) },
  // Browser navigations: without a provider configured, back to the sign-in page (SSO_DISABLED).
  'GET /api/auth/oidc/login': { call: () => ({ path: '/api/auth/oidc/login' }), expect: all(302) },
  'GET /api/auth/oidc/callback': {
    call: () => ({ path: '/api/auth/oidc/callback?code=x&state=y' }),
    expect: all(302),
  },
  'POST /api/auth/password': {
    call: ({ caller }) => ({
      path: '/api/auth/password',
      body: { currentPassword: caller.password, newPassword: caller.password + '!' },
    }),
    expect: all(204),
    fresh: true,
  },
  'GET /api/projects': { call: () => ({ path: '/api/projects' }), expect: all(200) },
  'GET /api/projects/:alias/targets': {
    call: () => ({ path: '/api/projects/engine/targets' }),
    expect: all(200),
  },
  'GET /api/projects/:alias/stats': {
    call: () => ({ path: '/api/projects/engine/stats' }),
    expect: all(200),
  },
  'GET /api/hosts': { call: () => ({ path: '/api/hosts' }), expect: all(200) },
  'GET /api/hosts/:alias/containers': {
    call: () => ({ path: '/api/hosts/nohost/containers' }),
    expect: all(404),
  },
  'POST /api/hosts/:alias/check': {
    call: () => ({ path: '/api/hosts/nohost/check' }),
    expect: only(403, 404, 404),
  },
  'GET /api/hosts/checks': { call: () => ({ path: '/api/hosts/checks' }), expect: all(200) },
  'GET /api/vms': { call: () => ({ path: '/api/vms' }), expect: all(200) },
  'GET /api/presets': { call: () => ({ path: '/api/presets' }), expect: all(200) },
  'POST /api/catalog/refresh': {
    call: () => ({ path: '/api/catalog/refresh' }),
    expect: only(403, 200, 200),
  },
  'GET /api/jobs': { call: () => ({ path: '/api/jobs?user=me' }), expect: all(200) },
  'POST /api/jobs/stream': {
    call: () => ({ path: '/api/jobs/stream', body: { alias: 'engine', target: 'hello' } }),
    expect: only(403, 201, 201),
  },
  'POST /api/jobs/ssh-logs': {
    call: () => ({
      path: '/api/jobs/ssh-logs',
      body: { hostAlias: 'nohost', preset: 'docker-ps' },
    }),
    expect: only(403, 404, 404),
  },
  'POST /api/jobs/terminal': {
    call: () => ({ path: '/api/jobs/terminal', body: { alias: 'engine', target: 'shell' } }),
    expect: only(403, 201, 201),
  },
  'POST /api/jobs/fanout': {
    call: () => ({
      path: '/api/jobs/fanout',
      body: { hostAliases: ['nohost'], preset: 'docker-ps' },
    }),
    expect: only(403, 404, 404),
  },
  'POST /api/jobs/cancel': {
    call: ({ finishedJob }) => ({ path: '/api/jobs/cancel', body: { jobId: finishedJob } }),
    expect: only(403, 409, 409),
  },
  'GET /api/jobs/:id': {
    call: ({ streamJob }) => ({ path: `/api/jobs/${streamJob}` }),
    expect: all(200),
  },
  'GET /api/jobs/:id/events': {
    call: ({ streamJob }) => ({ path: `/api/jobs/${streamJob}/events` }),
    expect: all(200),
  },
  'GET /api/jobs/:id/tail': {
    call: ({ streamJob }) => ({ path: `/api/jobs/${streamJob}/tail` }),
    expect: all(200),
  },
  'POST /api/jobs/:id/rerun': {
    call: ({ streamJob }) => ({ path: `/api/jobs/${streamJob}/rerun` }),
    expect: only(403, 201, 201),
  },
  'GET /api/jobs/:id/log': {
    call: ({ streamJob }) => ({ path: `/api/jobs/${streamJob}/log` }),
    expect: all(200),
  },
  'GET /api/users': { call: () => ({ path: '/api/users' }), expect: only(403, 403, 200) },
  'POST /api/users': {
    call: () => ({
      path: '/api/users',
      body: { username: `new-${uid()}`, password: 'a-long-enough-password', role: 'viewer' },
    }),
    expect: only(403, 403, 201),
  },
  'PATCH /api/users/:id': {
    call: async ({ t, admin }) => ({
      path: `/api/users/${(await newUser(t, admin)).id}`,
      body: { role: 'operator' },
    }),
    expect: only(403, 403, 200),
  },
  'DELETE /api/users/:id': {
    call: async ({ t, admin }) => ({ path: `/api/users/${(await newUser(t, admin)).id}` }),
    expect: only(403, 403, 204),
  },
  'GET /api/tokens': { call: () => ({ path: '/api/tokens' }), expect: all(200) },
  'POST /api/tokens': {
    call: () => ({ path: '/api/tokens', body: { name: 'ci' } }),
    expect: all(201),
  },
  'DELETE /api/tokens/:id': {
    call: async ({ caller }) => {
      const res = await caller.client.post('/api/tokens', { name: 'to revoke' });
      return { path: `/api/tokens/${((await res.json()) as { id: string }).id}` };
    },
    expect: all(204),
  },
  'GET /api/search': { call: () => ({ path: '/api/search?q=hello' }), expect: all(200) },
  'GET /api/audit': { call: () => ({ path: '/api/audit' }), expect: only(403, 403, 200) },
  'GET /api/audit/verify': {
    call: () => ({ path: '/api/audit/verify' }),
    expect: only(403, 403, 200),
  },
  'GET /api/audit/export': {
    call: () => ({ path: '/api/audit/export?format=csv' }),
    expect: only(403, 403, 200),
  },
  'GET /api/notifications/unseen': {
    call: () => ({ path: '/api/notifications/unseen' }),
    expect: all(200),
  },
  'POST /api/notifications/unseen/seen': {
    call: ({ streamJob }) => ({
      path: '/api/notifications/unseen/seen',
      body: { jobIds: [streamJob] },
    }),
    expect: all(204),
  },
  'GET /api/notifications/channels': {
    call: () => ({ path: '/api/notifications/channels' }),
    expect: all(200),
  },
  'POST /api/notifications/channels': {
    call: () => ({
      path: '/api/notifications/channels',
      body: { name: `authz ${randomUUID()}`, kind: 'slack', url: 'http://127.0.0.1:1/x' },
    }),
    expect: only(403, 403, 201),
  },
  'PATCH /api/notifications/channels/:id': {
    call: async ({ admin }) => ({
      path: `/api/notifications/channels/${await adminChannel(admin)}`,
      body: { url: 'http://127.0.0.1:1/y' },
    }),
    expect: only(403, 403, 200),
  },
  'DELETE /api/notifications/channels/:id': {
    call: async ({ admin }) => ({
      path: `/api/notifications/channels/${await adminChannel(admin)}`,
    }),
    expect: only(403, 403, 204),
  },
  'POST /api/notifications/channels/:id/test': {
    call: async ({ admin }) => ({
      path: `/api/notifications/channels/${await adminChannel(admin)}/test`,
    }),
    expect: only(403, 403, 200),
  },
  'GET /api/notifications/rules': {
    call: () => ({ path: '/api/notifications/rules' }),
    expect: all(200),
  },
  'POST /api/notifications/rules': {
    call: async ({ admin }) => ({
      path: '/api/notifications/rules',
      body: { channelId: await adminChannel(admin), on: ['failed'], match: { mine: true } },
    }),
    expect: all(201),
  },
  'PATCH /api/notifications/rules/:id': {
    call: async (ctx) => ({
      path: `/api/notifications/rules/${await ownRule(ctx)}`,
      body: { enabled: false },
    }),
    expect: all(200),
  },
  'DELETE /api/notifications/rules/:id': {
    call: async (ctx) => ({ path: `/api/notifications/rules/${await ownRule(ctx)}` }),
    expect: all(204),
  },
  'GET /api/notifications/deliveries': {
    call: () => ({ path: '/api/notifications/deliveries' }),
    expect: only(403, 403, 200),
  },
  // No such delivery: the access check comes first, then the admin is told it is not there.
  'POST /api/notifications/deliveries/:id/resend': {
    call: () => ({ path: `/api/notifications/deliveries/${randomUUID()}/resend` }),
    expect: only(403, 403, 404),
  },
  'GET /api/triggers': { call: () => ({ path: '/api/triggers' }), expect: only(403, 403, 200) },
  'POST /api/triggers': {
    call: () => ({ path: '/api/triggers', body: { name: 'authz', run: SCHEDULE.run } }),
    expect: only(403, 403, 201),
  },
  'DELETE /api/triggers/:id': {
    call: async ({ admin }) => ({ path: `/api/triggers/${await adminTrigger(admin)}` }),
    expect: only(403, 403, 204),
  },
  // Public: its secret is the credential, and a session or a personal token is not it.
  'POST /api/triggers/:id': {
    call: async ({ admin }) => ({ path: `/api/triggers/${await adminTrigger(admin)}` }),
    expect: all(401),
  },
  'GET /api/schedules': { call: () => ({ path: '/api/schedules' }), expect: all(200) },
  'POST /api/schedules': {
    call: () => ({ path: '/api/schedules', body: { ...SCHEDULE, enabled: false } }),
    expect: only(403, 201, 201),
  },
  // The caller's own schedule (another operator's is refused: schedules.test.ts).
  'GET /api/schedules/:id': {
    call: async (c) => ({ path: `/api/schedules/${await ownSchedule(c)}` }),
    expect: all(200),
  },
  'PATCH /api/schedules/:id': {
    call: async (c) => ({
      path: `/api/schedules/${await ownSchedule(c)}`,
      body: { name: 'renamed' },
    }),
    expect: only(403, 200, 200),
  },
  'DELETE /api/schedules/:id': {
    call: async (c) => ({ path: `/api/schedules/${await ownSchedule(c)}` }),
    expect: only(403, 204, 204),
  },
  'POST /api/schedules/:id/run': {
    call: async (c) => ({ path: `/api/schedules/${await ownSchedule(c)}/run` }),
    expect: only(403, 201, 201),
  },
  'GET /api/schedules/:id/next': {
    call: async (c) => ({ path: `/api/schedules/${await ownSchedule(c)}/next` }),
    expect: all(200),
  },
  // Prometheus' scrape: any signed-in user or token (the figures carry no output or secret).
  'GET /metrics': { call: () => ({ path: '/metrics' }), expect: all(200) },
  'GET /auth/link/:token': {
    call: () => ({ path: '/auth/link/not-a-link' }),
    // A browser navigation: a redirect back to the sign-in page, whoever asks.
    expect: all(303),
  },
};

const PUBLIC = new Set([
  'GET /api/health',
  'GET /api/openapi.json',
  'POST /api/auth/login',
  'GET /api/auth/providers',
  'GET /api/auth/oidc/login',
  'GET /api/auth/oidc/callback',
  'GET /auth/link/:token',
  'POST /api/triggers/:id',
]);

describe('authorization of every route and socket event (SPEC §4)', () => {
  let t: TestApp;
  let admin: HttpClient;
  let ctx: Omit<Ctx, 'caller'>;
  const signed = new Map<string, Signed>();

  /** A user of that role signed in with a session, or holding a personal token. */
  async function signIn(role: Caller, via: 'session' | 'token'): Promise<Signed> {
    const username = `${role}-${via}-${uid()}`;
    const password = `pw-${uid()}-${uid()}`;
    await t.users.createIfMissing({
      username,
      role,
      password_hash: await t.auth.hashPassword(password),
    });
    const session = new HttpClient(t.baseUrl);
    const login = await session.post('/api/auth/login', { username, password });
    expect(login.status).toBe(200);
    if (via === 'session') return { client: session, username, password };
    const created = await session.post('/api/tokens', { name: 'authz test' });
    const { token } = (await created.json()) as { token: string };
    await session.post('/api/auth/logout');
    // No Origin and no cookie: a token is all this client has.
    return {
      client: new HttpClient(t.baseUrl, { authorization: `Bearer ${token}` }),
      username,
      password,
    };
  }

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
        terminal: { maxOpen: 32 },
      },
    });
    admin = await t.loginAs('admin');
    for (const { role, via } of AS) signed.set(`${role}/${via}`, await signIn(role, via));
    const started = await admin.post('/api/jobs/stream', { alias: 'engine', target: 'hello' });
    const streamJob = ((await started.json()) as { jobId: string }).jobId;
    await vi.waitFor(
      async () => {
        const res = await admin.get(`/api/jobs/${streamJob}`);
        expect(((await res.json()) as { status: string }).status).toBe('success');
      },
      { timeout: 20_000, interval: 100 },
    );
    ctx = { t, admin, streamJob, finishedJob: streamJob };
  });
  afterAll(() => t?.close());

  it('has a rule for every route the server has, and a route for every rule', () => {
    expect(expressRoutes(t.app.app).map((r) => r.key)).toEqual(Object.keys(REST).sort());
  });

  it('documents each route (route-table.ts, so GET /api/openapi.json) with the access it has', () => {
    // The lowest role that is not refused, by session (a token only differs for logout).
    const observed = Object.entries(REST).map(([key, row]) => [
      key,
      PUBLIC.has(key) ? 'public' : ROLES.find((role) => row.expect[role] !== 403),
    ]);
    const documented = tableRoutes().map((r) => [`${r.method} ${r.path}`, r.access]);
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(observed));
  });

  describe.each(Object.entries(REST))('%s', (key, row) => {
    const method = key.split(' ')[0]!;

    it.skipIf(PUBLIC.has(key))('is 401 UNAUTHENTICATED anonymously', async () => {
      const caller = signed.get('viewer/session')!;
      const { path, body } = await row.call({ ...ctx, caller });
      const res = await t.anonymous().request(method, path, body);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    });

    it.each(AS)('as $role with a $via', async ({ role, via }) => {
      const caller = row.fresh ? await signIn(role, via) : signed.get(`${role}/${via}`)!;
      const { path, body } = await row.call({ ...ctx, caller });
      // Sign-in itself goes through a client without credentials.
      const client = key === 'POST /api/auth/login' ? t.anonymous() : caller.client;
      const res = await client.request(method, path, body);
      const want = (via === 'token' ? row.expect.token?.[role] : undefined) ?? row.expect[role];
      const text = await res.text();
      expect(res.status, text).toBe(want);
      if (want === 403) expect(JSON.parse(text)).toMatchObject({ error: { code: 'FORBIDDEN' } });
    });
  });

  describe('socket events', () => {
    type Ack = { ok: boolean; error?: { code: string } };
    /** Per event: the payload, and what each role's ack says (ok, or an error code). */
    const EVENTS: Record<
      string,
      { payload: (c: Omit<Ctx, 'caller'>) => unknown; expect: Record<Caller, string> }
    > = {
      'execute-command': {
        payload: () => ({ alias: 'engine', target: 'hello' }),
        expect: { viewer: 'FORBIDDEN', operator: 'ok', admin: 'ok' },
      },
      'join-job': {
        payload: (c) => ({ jobId: c.streamJob }),
        expect: { viewer: 'ok', operator: 'ok', admin: 'ok' },
      },
      'leave-job': {
        payload: (c) => ({ jobId: c.streamJob }),
        expect: { viewer: 'ok', operator: 'ok', admin: 'ok' },
      },
      // A fan-out's output merged: a job that is not one is refused, after the role check.
      'join-group': {
        payload: (c) => ({ jobId: c.streamJob }),
        expect: { viewer: 'VALIDATION', operator: 'VALIDATION', admin: 'VALIDATION' },
      },
      'leave-group': {
        payload: (c) => ({ jobId: c.streamJob }),
        expect: { viewer: 'ok', operator: 'ok', admin: 'ok' },
      },
      'cancel-job': {
        payload: (c) => ({ jobId: c.finishedJob }),
        expect: { viewer: 'FORBIDDEN', operator: 'JOB_FINISHED', admin: 'JOB_FINISHED' },
      },
      'terminal:input': {
        payload: (c) => ({ jobId: c.streamJob, data: 'x' }),
        expect: { viewer: 'JOB_FINISHED', operator: 'JOB_FINISHED', admin: 'JOB_FINISHED' },
      },
      'terminal:resize': {
        payload: (c) => ({ jobId: c.streamJob, cols: 80, rows: 24 }),
        expect: { viewer: 'JOB_FINISHED', operator: 'JOB_FINISHED', admin: 'JOB_FINISHED' },
      },
    };

    it('has a rule for every event the server listens to', async () => {
      const socket = await admin.socket();
      const server = [...t.app.io.of('/jobs').sockets.values()].find((s) => s.id === socket.id)!;
      const reserved = new Set(['disconnect', 'disconnecting', 'error']);
      const names = server.eventNames().filter((n) => !reserved.has(String(n)));
      socket.close();
      expect(names.map(String).sort()).toEqual(Object.keys(EVENTS).sort());
    });

    it('refuses an anonymous handshake', async () => {
      await expect(t.anonymous().socket()).rejects.toThrow('UNAUTHENTICATED');
    });

    it.each(AS)('answers each event as $role with a $via', async ({ role, via }) => {
      const caller = signed.get(`${role}/${via}`)!;
      const socket: TestSocket = await caller.client.socket({
        origin: via === 'token' ? null : undefined,
      });
      try {
        for (const [event, rule] of Object.entries(EVENTS)) {
          const ack = (await socket
            .timeout(10_000)
            .emitWithAck(event as 'leave-job', rule.payload(ctx) as { jobId: string })) as Ack;
          expect({ event, got: ack.ok ? 'ok' : ack.error?.code }).toEqual({
            event,
            got: rule.expect[role],
          });
        }
      } finally {
        socket.close();
      }
    });
  });
});
