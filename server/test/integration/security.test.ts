// Users, passwords, personal tokens, the audit log, output visibility, and the boundary's headers,
// rate limit and proxy handling (SPEC §2, §4).
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditPage,
  type ApiToken,
  type AuditEntry,
  type CreatedToken,
  type ManagedUser,
} from '@vmo/protocol';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.js';
import { HttpClient, startTestApp, type TestApp } from '../fixtures/app.js';
import { testLog } from '../fixtures/postgres.js';
import { ENGINE_PROJECT } from '../fixtures/jobs.js';

const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T;

async function signIn(t: TestApp, username: string, password: string): Promise<HttpClient> {
  const client = t.anonymous();
  const res = await client.post('/api/auth/login', { username, password });
  expect(res.status).toBe(200);
  return client;
}

const bearer = (t: TestApp, token: string, extra: Record<string, string> = {}) =>
  new HttpClient(t.baseUrl, { authorization: `Bearer ${token}`, ...extra });

/** A page with an inline script, as SvelteKit's build writes one. */
function webDirWithInlineScript(): { dir: string; script: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmo-web-'));
  const script = 'window.__boot = 1;';
  writeFileSync(
    path.join(dir, 'index.html'),
    `<!doctype html><html><head><script src="/theme-init.js"></script></head><body><script>${script}</script></body></html>`,
  );
  return { dir, script };
}

describe('users, tokens and the audit log', () => {
  let t: TestApp;
  let admin: HttpClient;
  const web = webDirWithInlineScript();

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
        security: { allowedOrigins: ['http://allowed.example'] },
      },
      webDir: web.dir,
      loginLimits: { perUser: 3, perAddress: 1000, windowMs: 60_000 },
    });
    admin = await t.loginAs('admin');
  });
  afterAll(() => t?.close());

  async function createUser(role: 'viewer' | 'operator' | 'admin', password = 'password-1') {
    const username = `u${Math.random().toString(36).slice(2, 10)}`;
    const res = await admin.post('/api/users', { username, password, role });
    expect(res.status).toBe(201);
    return { ...(await json<ManagedUser>(res)), password };
  }

  describe('user management', () => {
    it('creates users, lists them without secrets, and refuses a taken name', async () => {
      const u = await createUser('operator');
      expect(u).toMatchObject({ role: 'operator', disabled: false });
      const list = await json<ManagedUser[]>(admin.get('/api/users'));
      expect(list.find((x) => x.id === u.id)).toEqual({
        id: u.id,
        username: u.username,
        role: 'operator',
        provider: 'local',
        disabled: false,
        ssoGroups: null,
        createdAt: expect.any(String),
      });
      expect(JSON.stringify(list)).not.toMatch(/argon|hash|password/i);
      const again = await admin.post('/api/users', {
        username: u.username,
        password: 'password-2',
        role: 'viewer',
      });
      expect(again.status).toBe(409);
      expect(await again.json()).toMatchObject({ error: { code: 'CONFLICT' } });
    });

    it.each([
      [{ username: 'x', password: 'short', role: 'viewer' }],
      [{ username: 'a b', password: 'long-enough', role: 'viewer' }],
      [{ username: 'ok', password: 'long-enough', role: 'root' }],
      [{ username: 'ok', password: 'long-enough', role: 'viewer', extra: 1 }],
    ])('refuses %j with 400 VALIDATION', async (body) => {
      const res = await admin.post('/api/users', body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'VALIDATION' } });
    });

    it('answers 404 USER_NOT_FOUND and 400 for an empty change', async () => {
      const missing = await admin.request(
        'PATCH',
        '/api/users/00000000-0000-0000-0000-000000000000',
        {
          role: 'viewer',
        },
      );
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error: { code: 'USER_NOT_FOUND' } });
      expect((await admin.request('DELETE', '/api/users/nope')).status).toBe(404);
      const u = await createUser('viewer');
      expect((await admin.request('PATCH', `/api/users/${u.id}`, {})).status).toBe(400);
    });

    it('never removes the last admin who can sign in, nor lets an admin delete or disable themself', async () => {
      // Leave exactly one active admin: disable every other one first.
      const me = (await json<{ user: { id: string } }>(admin.get('/api/auth/me'))).user;
      for (const u of await json<ManagedUser[]>(admin.get('/api/users')))
        if (u.role === 'admin' && u.id !== me.id && !u.disabled)
          await admin.request('PATCH', `/api/users/${u.id}`, { disabled: true });
      for (const change of [{ role: 'operator' }, { disabled: true }]) {
        const res = await admin.request('PATCH', `/api/users/${me.id}`, change);
        expect(res.status).toBe(409);
        expect(await res.json()).toMatchObject({ error: { code: 'CONFLICT' } });
      }
      const self = await admin.request('DELETE', `/api/users/${me.id}`);
      expect(self.status).toBe(409);
      // With a second admin, either may step down, but not both at once (the service holds a lock);
      // neither may disable (nor delete) themself: that is another admin's call.
      const second = await createUser('admin');
      const disableSelf = await admin.request('PATCH', `/api/users/${me.id}`, { disabled: true });
      expect(disableSelf.status).toBe(409);
      expect(await disableSelf.json()).toMatchObject({
        error: { code: 'CONFLICT', message: 'you cannot disable yourself; another admin can' },
      });
      const actor = {
        id: me.id,
        username: 'test',
        role: 'admin' as const,
        provider: 'local' as const,
        createdAt: '',
      };
      const results = await Promise.allSettled(
        [me.id, second.id].map((id) =>
          t.services.accounts.update(id, { role: 'viewer' }, actor, null),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const admins = (await t.users.list()).filter((u) => u.role === 'admin' && !u.disabled);
      expect(admins).toHaveLength(1);
      if (admins[0]!.id === second.id) admin = await signIn(t, second.username, second.password);
    });

    it('disabling a user ends their sessions, sockets and tokens at once', async () => {
      const u = await createUser('operator');
      const client = await signIn(t, u.username, u.password);
      const { token } = await json<CreatedToken>(client.post('/api/tokens', { name: 'ci' }));
      const socket = await client.socket();
      const gone = new Promise((resolve) => socket.once('disconnect', resolve));
      const res = await admin.request('PATCH', `/api/users/${u.id}`, { disabled: true });
      expect(await res.json()).toMatchObject({ disabled: true });
      await gone;
      expect((await client.get('/api/auth/me')).status).toBe(401);
      expect((await bearer(t, token).get('/api/auth/me')).status).toBe(401);
      expect(
        (
          await t
            .anonymous()
            .post('/api/auth/login', { username: u.username, password: u.password })
        ).status,
      ).toBe(401);
      // Enabled again: the password still works; the token too (it was never revoked).
      await admin.request('PATCH', `/api/users/${u.id}`, { disabled: false });
      await signIn(t, u.username, u.password);
      expect((await bearer(t, token).get('/api/auth/me')).status).toBe(200);
    });

    it('a role change applies at once, to sessions, tokens and open sockets', async () => {
      const u = await createUser('viewer');
      const client = await signIn(t, u.username, u.password);
      const { token } = await json<CreatedToken>(client.post('/api/tokens', { name: 'ci' }));
      const socket = await client.socket();
      const run = () => socket.emitWithAck('execute-command', { alias: 'engine', target: 'hello' });
      expect(await run()).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      await admin.request('PATCH', `/api/users/${u.id}`, { role: 'operator' });
      // At once: a socket re-reads its caller before it starts anything, so no wait is needed
      // (a waitFor here timed out on a loaded machine, where one start took over its 1 s).
      expect(await run()).toMatchObject({ ok: true });
      const viaToken = await bearer(t, token).post('/api/jobs/stream', {
        alias: 'engine',
        target: 'hello',
      });
      expect(viaToken.status).toBe(201);
      socket.close();
    });

    it('an admin resets a password: the old one and every session stop working', async () => {
      const u = await createUser('viewer');
      const client = await signIn(t, u.username, u.password);
      await admin.request('PATCH', `/api/users/${u.id}`, { password: 'brand-new-password' });
      expect((await client.get('/api/auth/me')).status).toBe(401);
      expect(
        (
          await t
            .anonymous()
            .post('/api/auth/login', { username: u.username, password: u.password })
        ).status,
      ).toBe(401);
      await signIn(t, u.username, 'brand-new-password');
    });

    it('deletes a user, who can no longer sign in', async () => {
      const u = await createUser('viewer');
      const client = await signIn(t, u.username, u.password);
      expect((await admin.request('DELETE', `/api/users/${u.id}`)).status).toBe(204);
      expect((await client.get('/api/auth/me')).status).toBe(401);
      expect(
        (
          await t
            .anonymous()
            .post('/api/auth/login', { username: u.username, password: u.password })
        ).status,
      ).toBe(401);
    });
  });

  it("signing out ends that session's sockets, and only those", async () => {
    const u = await createUser('viewer');
    const a = await signIn(t, u.username, u.password);
    const b = await signIn(t, u.username, u.password);
    const [sa, sb] = [await a.socket(), await b.socket()];
    const gone = new Promise((resolve) => sa.once('disconnect', resolve));
    expect((await a.post('/api/auth/logout')).status).toBe(204);
    await gone;
    expect(sb.connected).toBe(true);
    expect((await b.get('/api/auth/me')).status).toBe(200);
    sb.close();
  });

  it('re-reads the caller before a socket starts or stops anything (a change made by another instance)', async () => {
    const u = await createUser('operator');
    const client = await signIn(t, u.username, u.password);
    const { token, id } = await json<CreatedToken>(client.post('/api/tokens', { name: 'ci' }));
    const viaCookie = await client.socket();
    const viaToken = await new HttpClient(t.baseUrl, {}).socket({ origin: null, auth: { token } });
    const run = (s: typeof viaCookie) =>
      s.emitWithAck('execute-command', { alias: 'engine', target: 'hello' });
    // Straight in the database: no in-process event tells the sockets.
    await t.db.db.updateTable('users').set({ role: 'viewer' }).where('id', '=', u.id).execute();
    expect(await run(viaCookie)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    await t.db.db.deleteFrom('tokens').where('id', '=', id).execute();
    const gone = new Promise((resolve) => viaToken.once('disconnect', resolve));
    expect(await run(viaToken)).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    await gone;
    viaCookie.close();
  });

  describe('your own password', () => {
    it('needs the current one, keeps this session and ends the others', async () => {
      const u = await createUser('viewer');
      const here = await signIn(t, u.username, u.password);
      const elsewhere = await signIn(t, u.username, u.password);
      const wrong = await here.post('/api/auth/password', {
        currentPassword: 'not-it',
        newPassword: 'another-password',
      });
      expect(wrong.status).toBe(403);
      const ok = await here.post('/api/auth/password', {
        currentPassword: u.password,
        newPassword: 'another-password',
      });
      expect(ok.status).toBe(204);
      expect((await here.get('/api/auth/me')).status).toBe(200);
      expect((await elsewhere.get('/api/auth/me')).status).toBe(401);
      await signIn(t, u.username, 'another-password');
      const tooShort = await here.post('/api/auth/password', {
        currentPassword: 'another-password',
        newPassword: 'short',
      });
      expect(tooShort.status).toBe(400);
    });
  });

  describe('personal API tokens', () => {
    it('shows the value once, stores only its sha256, and lists it without the value', async () => {
      const u = await createUser('viewer');
      const client = await signIn(t, u.username, u.password);
      const res = await client.post('/api/tokens', { name: 'laptop' });
      expect(res.status).toBe(201);
      const created = await json<CreatedToken>(res);
      expect(created.token).toMatch(/^vmo_[A-Za-z0-9_-]{43}$/);
      const row = await t.db.db
        .selectFrom('tokens')
        .selectAll()
        .where('id', '=', created.id)
        .executeTakeFirstOrThrow();
      expect(row.token_hash).toBe(createHash('sha256').update(created.token).digest('hex'));
      const list = await json<ApiToken[]>(client.get('/api/tokens'));
      expect(list).toEqual([
        {
          id: created.id,
          name: 'laptop',
          createdAt: expect.any(String),
          expiresAt: null,
          lastUsedAt: null,
        },
      ]);
      expect(JSON.stringify(list)).not.toContain(created.token);
      // It works as a Bearer token, carries the user's role, and records its use.
      const me = await json<{ user: { username: string; role: string } }>(
        bearer(t, created.token).get('/api/auth/me'),
      );
      expect(me.user).toMatchObject({ username: u.username, role: 'viewer' });
      expect((await json<ApiToken[]>(client.get('/api/tokens')))[0]!.lastUsedAt).not.toBeNull();
      expect(
        (
          await bearer(t, created.token).post('/api/jobs/stream', {
            alias: 'engine',
            target: 'hello',
          })
        ).status,
      ).toBe(403);
    });

    it('is exempt from the Origin check, and a bad one is 401 even beside a valid cookie', async () => {
      const { token } = await json<CreatedToken>(admin.post('/api/tokens', { name: 'script' }));
      const foreign = bearer(t, token, { origin: 'http://evil.example' });
      expect((await foreign.post('/api/tokens', { name: 'from a script' })).status).toBe(201);
      // The same request riding on the session cookie is a cross-site request forgery.
      const csrf = await admin.post(
        '/api/tokens',
        { name: 'csrf' },
        { origin: 'http://evil.example' },
      );
      expect(csrf.status).toBe(403);
      expect(await csrf.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
      const mixed = new HttpClient(t.baseUrl, { authorization: 'Bearer vmo_nope' });
      mixed.cookie = admin.cookie;
      const res = await mixed.get('/api/auth/me');
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
      expect(
        (await new HttpClient(t.baseUrl, { authorization: 'Basic abc' }).get('/api/jobs')).status,
      ).toBe(401);
    });

    it('expires, refuses a past expiry, and stops working once revoked (sockets too)', async () => {
      const past = await admin.post('/api/tokens', {
        name: 'old',
        expiresAt: '2001-01-01T00:00:00Z',
      });
      expect(past.status).toBe(400);
      const soon = await json<CreatedToken>(
        admin.post('/api/tokens', {
          name: 'soon',
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
        }),
      );
      expect(soon.expiresAt).not.toBeNull();
      expect((await bearer(t, soon.token).get('/api/auth/me')).status).toBe(200);
      await t.db.db
        .updateTable('tokens')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', soon.id)
        .execute();
      expect((await bearer(t, soon.token).get('/api/auth/me')).status).toBe(401);

      const live = await json<CreatedToken>(admin.post('/api/tokens', { name: 'live' }));
      const viaHeader = await bearer(t, live.token).socket({ origin: null });
      const viaAuth = await new HttpClient(t.baseUrl, {}).socket({
        origin: null,
        auth: { token: live.token },
      });
      expect(viaAuth.hello.user.username).toBe(viaHeader.hello.user.username);
      const closed = Promise.all(
        [viaHeader, viaAuth].map((s) => new Promise((r) => s.once('disconnect', r))),
      );
      expect((await admin.request('DELETE', `/api/tokens/${live.id}`)).status).toBe(204);
      await closed;
      expect((await bearer(t, live.token).get('/api/auth/me')).status).toBe(401);
      await expect(
        new HttpClient(t.baseUrl, {}).socket({ origin: null, auth: { token: live.token } }),
      ).rejects.toThrow('UNAUTHENTICATED');
      expect((await admin.request('DELETE', `/api/tokens/${live.id}`)).status).toBe(404);
    });

    it("cannot revoke someone else's token", async () => {
      const { id } = await json<CreatedToken>(admin.post('/api/tokens', { name: 'mine' }));
      const other = await t.loginAs('admin');
      const res = await other.request('DELETE', `/api/tokens/${id}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'TOKEN_NOT_FOUND' } });
    });

    it('refuses a cookie socket from a foreign Origin, and a token socket from one too', async () => {
      const { token } = await json<CreatedToken>(admin.post('/api/tokens', { name: 'x' }));
      await expect(admin.socket({ origin: 'http://evil.example' })).rejects.toThrow();
      await expect(
        new HttpClient(t.baseUrl, {}).socket({ origin: 'http://evil.example', auth: { token } }),
      ).rejects.toThrow();
      const allowed = await new HttpClient(t.baseUrl, {}).socket({
        origin: 'http://allowed.example',
        auth: { token },
      });
      allowed.close();
    });
  });

  describe('output visibility', () => {
    it("shows a terminal's output to its owner and admins only; others cannot cancel it", async () => {
      const owner = await t.loginAs('operator');
      const started = await owner.post('/api/jobs/terminal', { alias: 'engine', target: 'ask' });
      const { jobId } = await json<{ jobId: string }>(started);
      const other = await t.loginAs('operator');
      const viewer = await t.loginAs('viewer');
      for (const who of [other, viewer]) {
        expect((await who.get(`/api/jobs/${jobId}/events`)).status).toBe(403);
        expect((await who.get(`/api/jobs/${jobId}/log`)).status).toBe(403);
        // The job itself (its command, status) stays in the history.
        expect((await who.get(`/api/jobs/${jobId}`)).status).toBe(200);
        const socket = await who.socket();
        expect(await socket.emitWithAck('join-job', { jobId })).toMatchObject({
          ok: false,
          error: { code: 'FORBIDDEN' },
        });
        socket.close();
      }
      expect((await other.post('/api/jobs/cancel', { jobId })).status).toBe(403);
      for (const who of [owner, admin]) {
        expect((await who.get(`/api/jobs/${jobId}/events`)).status).toBe(200);
        expect((await who.get(`/api/jobs/${jobId}/log`)).status).toBe(200);
      }
      expect((await owner.post('/api/jobs/cancel', { jobId })).status).toBe(202);
    });
  });

  describe('the audit log', () => {
    it('records each action with who, when, from where and on what, newest first, paged', async () => {
      const u = await createUser('operator');
      await t.anonymous().post('/api/auth/login', { username: u.username, password: 'wrong-one' });
      const client = await signIn(t, u.username, u.password);
      const run = await json<{ jobId: string }>(
        client.post('/api/jobs/stream', { alias: 'engine', target: 'slow' }),
      );
      await client.post('/api/jobs/cancel', { jobId: run.jobId });
      const term = await json<{ jobId: string }>(
        client.post('/api/jobs/terminal', { alias: 'engine', target: 'shell' }),
      );
      const tok = await json<CreatedToken>(client.post('/api/tokens', { name: 'ci' }));
      await client.request('DELETE', `/api/tokens/${tok.id}`);
      await client.post('/api/auth/password', {
        currentPassword: u.password,
        newPassword: 'pw-number-2',
      });
      await admin.request('PATCH', `/api/users/${u.id}`, { role: 'viewer' });
      await client.post('/api/auth/logout');

      const mine = await json<AuditPage>(admin.get(`/api/audit?user=${u.username}&limit=500`));
      const byAction = new Map(mine.items.map((e) => [e.action, e]));
      expect([...byAction.keys()].sort()).toEqual(
        [
          'job.cancel',
          'job.run',
          'login',
          'login.failed',
          'logout',
          'password.change',
          'terminal.open',
          'token.create',
          'token.revoke',
        ].sort(),
      );
      for (const e of mine.items) {
        expect(e.source).toMatch(/127\.0\.0\.1/);
        expect(Number.isNaN(Date.parse(e.ts))).toBe(false);
        expect(e.user.username).toBe(u.username);
      }
      expect(byAction.get('job.run')!.target).toBe(run.jobId);
      expect(byAction.get('job.cancel')!.target).toBe(run.jobId);
      expect(byAction.get('terminal.open')!.target).toBe(term.jobId);
      expect(byAction.get('token.create')!.target).toBe(tok.id);
      // Newest first.
      const ids = mine.items.map((e) => Number(e.id));
      expect(ids).toEqual([...ids].sort((a, b) => b - a));

      const change = await json<AuditPage>(admin.get('/api/audit?action=user.update&limit=500'));
      const entry = change.items.find((e: AuditEntry) => e.target === u.username)!;
      expect(entry.details).toEqual({ role: { from: 'operator', to: 'viewer' } });
      const created = await json<AuditPage>(admin.get('/api/audit?action=user.create&limit=500'));
      expect(created.items.some((e) => e.target === u.username)).toBe(true);

      // Paging: two at a time, no overlap, the same rows in the same order.
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = `/api/audit?user=${u.username}&limit=2${cursor ? `&before=${cursor}` : ''}`;
        const page: AuditPage = await json<AuditPage>(admin.get(q));
        seen.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(mine.items.map((e) => e.id));
      // Ids and cursors are strings, as AuditEntry and AuditPage say (the column is a bigserial).
      expect(AuditPage.parse(mine)).toEqual(mine);
      expect((await admin.get('/api/audit?before=abc')).status).toBe(400);
      expect((await admin.get('/api/audit?limit=501')).status).toBe(400);
      expect(JSON.stringify(mine)).not.toMatch(/pw-number-2|argon2/);
    });
  });

  describe('the boundary', () => {
    it('sends helmet headers and a CSP that allows only our scripts and the inline bootstrap', async () => {
      const hash = `'sha256-${createHash('sha256').update(web.script).digest('base64')}'`;
      for (const p of ['/', '/jobs/1', '/api/health']) {
        const res = await t.anonymous().get(p);
        const csp = res.headers.get('content-security-policy') ?? '';
        expect(csp).toContain(`script-src 'self' ${hash}`);
        expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
        for (const d of [
          "default-src 'self'",
          "connect-src 'self' http: https: ws: wss:",
          "img-src 'self' data:",
          "frame-ancestors 'none'",
          "object-src 'none'",
          "base-uri 'self'",
        ])
          expect(csp).toContain(d);
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('x-frame-options')).toBe('DENY');
        expect(res.headers.get('x-powered-by')).toBeNull();
      }
    });

    it('limits failed sign-ins per address and user with 429 RATE_LIMITED and Retry-After', async () => {
      const u = await createUser('viewer');
      const attempt = (password: string, username = u.username) =>
        t.anonymous().post('/api/auth/login', { username, password });
      for (let i = 0; i < 3; i++) expect((await attempt('wrong')).status).toBe(401);
      const limited = await attempt('wrong');
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await limited.json()).toEqual({
        error: { code: 'RATE_LIMITED', message: expect.any(String) },
      });
      // Even the right password waits now; another user does not.
      expect((await attempt(u.password)).status).toBe(429);
      const other = await createUser('viewer');
      expect((await attempt(other.password, other.username)).status).toBe(200);
      // Counted in the database: a restart or another instance on it forgets nothing.
      const rows = await t.db.db
        .selectFrom('login_limits')
        .select(['key', 'hits'])
        .where('key', 'like', `user:%|${u.username}`)
        .execute();
      expect(rows.map((r) => r.hits)).toEqual([5]); // 3 failures and the 2 attempts refused since
      const another = createApp({
        config: {
          security: { allowedOrigins: [], publicUrl: null, trustProxy: false, allowAdHoc: false },
        },
        db: t.db,
        log: testLog,
        services: t.services,
        sessionSecret: 'another instance',
        version: 'test',
        loginLimits: { perUser: 3, perAddress: 1000, windowMs: 60_000 },
      });
      await new Promise<void>((resolve) => another.server.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(another.server.address() as AddressInfo).port}`;
        const res = await new HttpClient(url).post('/api/auth/login', {
          username: u.username,
          password: u.password,
        });
        expect(res.status).toBe(429);
      } finally {
        await another.close();
      }
    });

    it('answers 413 PAYLOAD_TOO_LARGE to an oversized body once signed in', async () => {
      const res = await admin.post('/api/users', {
        username: 'big',
        password: 'x'.repeat(100_000),
        role: 'viewer',
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    });
  });
});

describe.each([
  [false, /127\.0\.0\.1/],
  [true, /^203\.0\.113\.7$/],
])('security.trustProxy %s', (trustProxy, source) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ config: { security: { trustProxy } } });
  });
  afterAll(() => t?.close());

  it('decides whether X-Forwarded-For is the audited source address', async () => {
    const client = t.anonymous();
    await client.post(
      '/api/auth/login',
      { username: 'nobody', password: 'x' },
      { 'x-forwarded-for': '203.0.113.7' },
    );
    const row = await t.db.db
      .selectFrom('audit_log')
      .select('source')
      .where('action', '=', 'login.failed')
      .executeTakeFirstOrThrow();
    expect(row.source).toMatch(source);
  });
});
