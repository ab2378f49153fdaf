import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, startTestApp, type TestApp } from '../fixtures/app.js';

describe('sign-in and the boundary (SPEC §4)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      config: {
        projects: [{ alias: 'demo', dir: '/nonexistent/demo' }],
        security: {
          allowedOrigins: ['http://allowed.example'],
          publicUrl: 'https://vmo.example.com',
        },
      },
    });
  });
  afterAll(() => t?.close());

  // Every route that exists or will exist in the public contract, except the public ones.
  const protectedRoutes: [string, string][] = [
    ['GET', '/api/auth/me'],
    ['POST', '/api/auth/logout'],
    ['GET', '/api/projects'],
    ['GET', '/api/projects/demo/targets'],
    ['POST', '/api/catalog/refresh'],
    ['GET', '/api/vms'],
    ['GET', '/api/hosts'],
    ['GET', '/api/hosts/web1/containers'],
    ['GET', '/api/presets'],
    ['GET', '/api/jobs'],
    ['GET', '/api/jobs/00000000-0000-0000-0000-000000000000'],
    ['GET', '/api/jobs/00000000-0000-0000-0000-000000000000/events'],
    ['GET', '/api/jobs/00000000-0000-0000-0000-000000000000/log'],
    ['GET', '/api/jobs/00000000-0000-0000-0000-000000000000/tail'],
    ['POST', '/api/jobs/stream'],
    ['POST', '/api/jobs/ssh-logs'],
    ['POST', '/api/jobs/terminal'],
    ['POST', '/api/jobs/fanout'],
    ['POST', '/api/jobs/00000000-0000-0000-0000-000000000000/rerun'],
    ['POST', '/api/jobs/cancel'],
    ['GET', '/api/users'],
    ['POST', '/api/users'],
    ['PATCH', '/api/users/x'],
    ['DELETE', '/api/users/x'],
    ['GET', '/api/tokens'],
    ['POST', '/api/tokens'],
    ['DELETE', '/api/tokens/x'],
    ['GET', '/api/audit'],
    ['GET', '/api/no-such-route'],
  ];

  it.each(protectedRoutes)(
    '%s %s is 401 UNAUTHENTICATED when anonymous, before the body is read',
    async (method, path) => {
      const body =
        method === 'GET'
          ? undefined
          : '{"this is": not json, and far too large: ' + 'x'.repeat(200_000);
      const res = await t.anonymous().request(method, path, body);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: { code: 'UNAUTHENTICATED', message: 'sign in first' },
      });
    },
  );

  it('serves health, the API description and login without a session', async () => {
    expect((await t.anonymous().get('/api/health')).status).toBe(200);
    expect((await t.anonymous().get('/api/openapi.json')).status).toBe(200);
    expect(
      (await t.anonymous().post('/api/auth/login', { username: 'nobody', password: 'x' })).status,
    ).toBe(401);
  });

  it.each(['evil.example', 'evil.example:3000', '127.0.0.1.evil.example', 'vmo.example.com:8443'])(
    'answers 421 MISDIRECTED to Host %j (DNS rebinding)',
    async (host) => {
      const res = await t.anonymous().raw('GET', '/api/health', { host });
      expect(res.status).toBe(421);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'MISDIRECTED' } });
    },
  );

  it('answers a socket.io request with a foreign Host 421 too, polling or not', async () => {
    const res = await t
      .anonymous()
      .raw('GET', '/socket.io/?EIO=4&transport=polling', { host: 'evil.example' });
    expect(res.status).toBe(421);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'MISDIRECTED' } });
    const ok = await t.anonymous().raw('GET', '/socket.io/?EIO=4&transport=polling', {});
    expect(ok.status).toBe(200);
  });

  it.each(['localhost:1234', '127.0.0.1', 'LOCALHOST', 'vmo.example.com'])(
    'accepts Host %j',
    async (host) => {
      expect((await t.anonymous().raw('GET', '/api/health', { host })).status).toBe(200);
    },
  );

  it('signs in with a password, answers me, and signs out', async () => {
    const { users, auth } = t;
    await users.createIfMissing({
      username: 'alice',
      role: 'operator',
      password_hash: await auth.hashPassword('correct horse'),
    });
    const client = t.anonymous();
    const res = await client.post('/api/auth/login', {
      username: 'alice',
      password: 'correct horse',
    });
    expect(res.status).toBe(200);
    const { user } = (await res.json()) as { user: { username: string; role: string } };
    expect(user).toMatchObject({ username: 'alice', role: 'operator' });
    expect(JSON.stringify(user)).not.toMatch(/hash|argon/i);
    const setCookie = res.headers.getSetCookie().join(';');
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);

    expect(await (await client.get('/api/auth/me')).json()).toMatchObject({
      user: { username: 'alice' },
    });
    expect((await client.post('/api/auth/logout')).status).toBe(204);
    expect((await client.get('/api/auth/me')).status).toBe(401);
  });

  it('invalidates the session server-side on logout, so a copied cookie stops working', async () => {
    const client = await t.loginAs('viewer');
    const stolen = client.cookie;
    expect((await client.post('/api/auth/logout')).status).toBe(204);
    const res = await t.anonymous().get('/api/auth/me', { cookie: stolen! });
    expect(res.status).toBe(401);
  });

  it('moves the session expiry on use, at most once a minute per session', async () => {
    const client = await t.loginAs('viewer');
    const sid = /vmo\.sid=s:([^.;]+)/.exec(decodeURIComponent(client.cookie!))![1]!;
    const expiry = async () =>
      (await t.db.pool.query<{ e: Date }>('select expire e from sessions where sid = $1', [sid]))
        .rows[0]!.e;
    const setExpiry = (days: number) =>
      t.db.pool.query(
        `update sessions set expire = now() + interval '${days} days' where sid = $1`,
        [sid],
      );
    const days = (d: Date) => (d.getTime() - Date.now()) / 86_400_000;

    // The touch finishes before the response ends: read the whole body.
    const use = async () => expect(await (await client.get('/api/auth/me')).json()).toBeTruthy();
    await setExpiry(1);
    await use(); // the first use touches
    expect(days(await expiry())).toBeGreaterThan(29);
    await setExpiry(1);
    await use(); // within the minute: not again
    expect(days(await expiry())).toBeLessThan(2);
  });

  it('gives a new session id at sign-in (no session fixation)', async () => {
    await t.users.createIfMissing({
      username: 'bob',
      role: 'viewer',
      password_hash: await t.auth.hashPassword('pw-bob'),
    });
    const client = t.anonymous();
    client.cookie = 'vmo.sid=s%3Aplanted.signature';
    await client.post('/api/auth/login', { username: 'bob', password: 'pw-bob' });
    expect(client.cookie).not.toContain('planted');
    expect((await client.get('/api/auth/me')).status).toBe(200);
  });

  it.each([
    [{ username: 'alice', password: 'wrong' }, 401, 'UNAUTHENTICATED'],
    [{ username: 'ghost', password: 'x' }, 401, 'UNAUTHENTICATED'],
    [{ username: 'alice' }, 400, 'VALIDATION'],
    [{ username: 'alice', password: 'x', extra: 1 }, 400, 'VALIDATION'],
    [{ username: 'a b', password: 'x' }, 400, 'VALIDATION'],
    ['{not json', 400, 'VALIDATION'],
    [{ username: 'alice', password: 'x'.repeat(20_000) }, 413, 'PAYLOAD_TOO_LARGE'],
  ])('refuses login %j with %i %s', async (body, status, code) => {
    const res = await t.anonymous().post('/api/auth/login', body);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error: { code } });
  });

  it('gives the same answer for an unknown user and a wrong password', async () => {
    const a = await (
      await t.anonymous().post('/api/auth/login', { username: 'alice', password: 'wrong' })
    ).json();
    const b = await (
      await t.anonymous().post('/api/auth/login', { username: 'ghost', password: 'wrong' })
    ).json();
    expect(a).toEqual(b);
  });

  it('refuses a disabled user', async () => {
    await t.users.createIfMissing({
      username: 'carol',
      role: 'viewer',
      password_hash: await t.auth.hashPassword('pw'),
    });
    await t.db.db
      .updateTable('users')
      .set({ disabled: true })
      .where('username', '=', 'carol')
      .execute();
    expect(
      (await t.anonymous().post('/api/auth/login', { username: 'carol', password: 'pw' })).status,
    ).toBe(401);
  });

  it('refuses a cookie-authenticated POST from a foreign Origin, or with none', async () => {
    const client = await t.loginAs('admin');
    const foreign = await client.post('/api/auth/logout', undefined, {
      origin: 'http://evil.example',
    });
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const none = new HttpClient(t.baseUrl, {});
    none.cookie = client.cookie;
    expect((await none.post('/api/auth/logout')).status).toBe(403);
    // Same host and port, another scheme: another origin (this server speaks plain http).
    const https = await client.post('/api/auth/logout', undefined, {
      origin: t.baseUrl.replace('http:', 'https:'),
    });
    expect(https.status).toBe(403);
    // Still signed in: neither request changed anything.
    expect((await client.get('/api/auth/me')).status).toBe(200);
    expect(
      (await client.post('/api/auth/logout', undefined, { origin: 'http://allowed.example' }))
        .status,
    ).toBe(204);
  });

  it('refuses a login posted from a foreign page (login CSRF)', async () => {
    const res = await t
      .anonymous()
      .post(
        '/api/auth/login',
        { username: 'alice', password: 'correct horse' },
        { origin: 'http://evil.example' },
      );
    expect(res.status).toBe(403);
  });

  it('signs in once with a one-time link, which then stops working', async () => {
    const admin = await t.auth.ensureAdmin(null);
    const token = await t.auth.createLoginLink(admin.id);
    const client = t.anonymous();
    const first = await client.get(`/auth/link/${token}`);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/');
    expect(await (await client.get('/api/auth/me')).json()).toMatchObject({
      user: { username: 'admin', role: 'admin' },
    });

    const again = await t.anonymous().get(`/auth/link/${token}`);
    expect(again.headers.get('location')).toBe('/login?link=invalid');
    expect((await t.anonymous().get('/auth/link/garbage')).headers.get('location')).toBe(
      '/login?link=invalid',
    );
  });

  it('lets a session a one-time link opened set a password without the current one, once', async () => {
    await t.users.createIfMissing({
      username: 'linda',
      role: 'operator',
      password_hash: await t.auth.hashPassword('old password'),
    });
    const linda = (await t.users.findByUsername('linda'))!;
    const client = t.anonymous();
    await client.get(`/auth/link/${await t.auth.createLoginLink(linda.id)}`);
    const passwordState = async () =>
      ((await (await client.get('/api/auth/me')).json()) as { password: unknown }).password;
    expect(await passwordState()).toEqual({ set: true, currentRequired: false });
    expect(
      (await client.post('/api/auth/password', { newPassword: 'new password 1' })).status,
    ).toBe(204);
    // Spent: the next change wants the password just set.
    expect(await passwordState()).toEqual({ set: true, currentRequired: true });
    const again = await client.post('/api/auth/password', { newPassword: 'new password 2' });
    expect(again.status).toBe(403);
    expect(await again.json()).toEqual({
      error: { code: 'FORBIDDEN', message: 'give your current password' },
    });
    expect(
      (
        await client.post('/api/auth/password', {
          currentPassword: 'new password 1',
          newPassword: 'new password 2',
        })
      ).status,
    ).toBe(204);
    const proofs = await t.db.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'password.change')
      .where('username', '=', 'linda')
      .orderBy('id')
      .execute();
    expect(proofs.map((r) => r.details)).toEqual([
      { ok: true, proof: 'one-time link' },
      { ok: false },
      { ok: true, proof: 'current password' },
    ]);
    // A password sign-in has no such grace.
    const other = t.anonymous();
    await other.post('/api/auth/login', { username: 'linda', password: 'new password 2' });
    expect((await other.post('/api/auth/password', { newPassword: 'new password 3' })).status).toBe(
      403,
    );
  });

  it('lets a user without a password (the bootstrap admin) set one without a current one', async () => {
    await t.users.createIfMissing({ username: 'nopass', role: 'admin', password_hash: null });
    const nopass = (await t.users.findByUsername('nopass'))!;
    const client = t.anonymous();
    await client.get(`/auth/link/${await t.auth.createLoginLink(nopass.id)}`);
    expect(await (await client.get('/api/auth/me')).json()).toMatchObject({
      password: { set: false, currentRequired: false },
    });
    expect((await client.post('/api/auth/password', { newPassword: 'finally one' })).status).toBe(
      204,
    );
    const fresh = t.anonymous();
    const login = await fresh.post('/api/auth/login', {
      username: 'nopass',
      password: 'finally one',
    });
    expect(login.status).toBe(200);
    expect(await login.json()).toMatchObject({ password: { set: true, currentRequired: true } });
  });

  it('sets the admin password only when it creates the admin', async () => {
    const { auth } = t;
    const db = t.db.db;
    await db.deleteFrom('users').where('username', '=', 'admin').execute();
    await Promise.all([auth.ensureAdmin('first'), auth.ensureAdmin('second')]);
    await auth.ensureAdmin('third');
    const rows = await db
      .selectFrom('users')
      .select('username')
      .where('username', '=', 'admin')
      .execute();
    expect(rows).toHaveLength(1);
    const logins = await Promise.all(
      ['first', 'second', 'third'].map(
        async (password) =>
          (await t.anonymous().post('/api/auth/login', { username: 'admin', password })).status,
      ),
    );
    expect(logins.filter((s) => s === 200)).toHaveLength(1);
    expect(logins[2]).toBe(401);
  });

  it('audits logins, failed logins, logouts and password changes with the source address', async () => {
    const rows = await t.db.db
      .selectFrom('audit_log')
      .select(['action', 'username', 'source'])
      .execute();
    const actions = new Set(rows.map((r) => r.action));
    expect(actions).toEqual(new Set(['login', 'login.failed', 'logout', 'password.change']));
    expect(rows.every((r) => r.source && /127\.0\.0\.1/.test(r.source))).toBe(true);
  });

  it('lists projects for a signed-in viewer', async () => {
    const viewer = await t.loginAs('viewer');
    expect(await (await viewer.get('/api/projects')).json()).toEqual([
      {
        alias: 'demo',
        dir: '/nonexistent/demo',
        source: 'config',
        available: false,
        error: 'directory /nonexistent/demo does not exist',
      },
    ]);
  });

  it('answers unknown API routes with 404 NOT_FOUND once signed in', async () => {
    const viewer = await t.loginAs('viewer');
    const res = await viewer.get('/api/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  describe('the /jobs socket handshake', () => {
    it('greets a signed-in user', async () => {
      const client = await t.loginAs('operator');
      const socket = await client.socket();
      socket.close();
      expect(socket.hello).toMatchObject({ user: { role: 'operator' }, version: 'test' });
    });

    it('refuses an anonymous socket', async () => {
      await expect(t.anonymous().socket()).rejects.toThrow('UNAUTHENTICATED');
    });

    it('refuses a foreign Origin even with a valid session', async () => {
      const client = await t.loginAs('admin');
      await expect(client.socket({ origin: 'http://evil.example' })).rejects.toThrow();
      await expect(client.socket({ origin: null })).rejects.toThrow();
      const ok = await client.socket({ origin: 'http://allowed.example' });
      ok.close();
    });

    it('refuses a foreign Host', async () => {
      const client = await t.loginAs('admin');
      const { io } = await import('socket.io-client');
      const socket = io(t.baseUrl + '/jobs', {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        extraHeaders: {
          host: 'evil.example',
          origin: 'http://evil.example',
          cookie: client.cookie!,
        },
      });
      const err = await new Promise<Error>((resolve) => socket.once('connect_error', resolve));
      socket.close();
      expect(err).toBeInstanceOf(Error);
    });
  });
});
