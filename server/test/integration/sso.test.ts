// Single sign-on (issue 27) against a real OpenID Provider on loopback (oidc-provider over https):
// the code flow with PKCE, state and nonce; groups mapped to roles and derived again at each
// sign-in; a user who lost every group loses sessions, sockets and tokens; a tampered state, a
// wrong nonce, a replayed or expired code, the provider down; local sign-in turned off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditPage, CreatedToken, ManagedUser, Me } from '@vmo/protocol';
import { freePort, HttpClient, startTestApp, type TestApp } from '../fixtures/app.js';
import { FlowBrowser, startTestProvider, type TestProvider } from '../fixtures/oidc.js';

const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T;
const SECRET_ENV = 'VMO_TEST_OIDC_SECRET';

async function ssoApp(op: TestProvider, port: number, extra: Record<string, unknown> = {}) {
  return startTestApp({
    port,
    config: {
      security: { publicUrl: `http://127.0.0.1:${port}` },
      auth: {
        oidc: {
          name: 'Test SSO',
          issuer: op.issuer,
          clientId: op.clientId,
          clientSecretEnv: SECRET_ENV,
          roles: { 'platform-admins': 'admin', deployers: 'operator', engineers: 'viewer' },
        },
        ...extra,
      },
    },
    env: { ...process.env, [SECRET_ENV]: op.clientSecret },
  });
}

/** Where the app sends a browser that starts a sign-in (`/login?error=` when it cannot). */
async function start(b: FlowBrowser, t: TestApp, returnTo?: string): Promise<string> {
  const q = returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`;
  const res = await b.request(`${t.baseUrl}/api/auth/oidc/login${q}`);
  expect(res.status).toBe(302);
  return res.headers.get('location')!;
}

/** The app's redirect URI with the provider's answer, as the browser arrives there. */
async function toCallback(b: FlowBrowser, t: TestApp, account: string, returnTo?: string) {
  return b.signInAtProvider(await start(b, t, returnTo), account, t.baseUrl);
}

/** Delivers the provider's answer; where the app sends the browser then. */
async function callback(b: FlowBrowser, url: string): Promise<string> {
  const res = await b.request(url);
  expect(res.status).toBe(302);
  return res.headers.get('location')!;
}

/** A full sign-in; the signed-in API client and where the browser landed. */
async function signIn(t: TestApp, account: string, returnTo?: string) {
  const b = new FlowBrowser();
  const landed = await callback(b, await toCallback(b, t, account, returnTo));
  const client = new HttpClient(t.baseUrl);
  const sid = b.cookie(t.baseUrl, 'vmo.sid');
  if (sid) client.cookie = `vmo.sid=${sid}`;
  return { b, client, landed };
}

async function lastAudit(admin: HttpClient, action: string) {
  const page = await json<AuditPage>(admin.get(`/api/audit?action=${action}&limit=1`));
  return page.items[0]!;
}

describe('single sign-on with an OpenID provider', () => {
  let op: TestProvider;
  let t: TestApp;
  let admin: HttpClient;
  let ttl = 60;

  beforeAll(async () => {
    const port = await freePort();
    op = await startTestProvider({ publicUrl: `http://127.0.0.1:${port}`, codeTtl: () => ttl });
    t = await ssoApp(op, port);
    admin = await t.loginAs('admin');
  });
  afterAll(async () => {
    await t?.close();
    await op?.stop();
  });

  it('offers the provider on the sign-in page', async () => {
    expect(await json(t.anonymous().get('/api/auth/providers'))).toEqual({
      local: true,
      oidc: { name: 'Test SSO' },
    });
  });

  it('signs a user in with PKCE, state and nonce; the groups give the role; audited', async () => {
    op.accounts.set('alice-sub', { username: 'alice', groups: ['deployers', 'engineers'] });
    const first = await start(new FlowBrowser(), t);
    const authorize = new URL(first);
    expect(authorize.origin).toBe(op.issuer);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    for (const p of ['state', 'nonce', 'code_challenge'])
      expect(authorize.searchParams.get(p)).toMatch(/^[\w-]{32,}$/);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${t.baseUrl}/api/auth/oidc/callback`);

    const { client, landed } = await signIn(t, 'alice-sub', '/jobs?status=failed');
    expect(landed).toBe('/jobs?status=failed');
    const me = await json<Me>(client.get('/api/auth/me'));
    expect(me.user).toMatchObject({ username: 'alice', role: 'operator', provider: 'oidc' });
    expect(me.permissions['job.run']).toBe(true);
    const entry = await lastAudit(admin, 'login');
    expect(entry).toMatchObject({
      user: { username: 'alice' },
      details: { via: 'oidc', provider: 'Test SSO', role: 'operator', groups: ['deployers'] },
    });
    const users = await json<ManagedUser[]>(admin.get('/api/users'));
    expect(users.find((u) => u.username === 'alice')).toMatchObject({
      provider: 'oidc',
      ssoGroups: ['deployers', 'engineers'],
    });
  });

  it('lands only on a path of this site', async () => {
    op.accounts.set('carol-sub', { username: 'carol', groups: ['engineers'] });
    for (const elsewhere of ['https://evil.example/x', '//evil.example/x', '/\\evil.example'])
      expect((await signIn(t, 'carol-sub', elsewhere)).landed).toBe('/');
  });

  it('the highest role among the groups wins, derived again at every sign-in', async () => {
    op.accounts.set('dave-sub', { username: 'dave', groups: ['engineers'] });
    const before = await signIn(t, 'dave-sub');
    expect((await json<Me>(before.client.get('/api/auth/me'))).user.role).toBe('viewer');
    op.accounts.get('dave-sub')!.groups = ['engineers', 'platform-admins', 'deployers'];
    const after = await signIn(t, 'dave-sub');
    expect((await json<Me>(after.client.get('/api/auth/me'))).user.role).toBe('admin');
    // The earlier session follows at once: the role is read per request.
    expect((await json<Me>(before.client.get('/api/auth/me'))).user.role).toBe('admin');
    expect((await lastAudit(admin, 'login')).details).toMatchObject({
      role: 'admin',
      roleFrom: 'viewer',
      groups: ['platform-admins'],
    });
  });

  it('a user who lost every mapped group is refused, and its sessions, sockets and tokens end', async () => {
    op.accounts.set('erin-sub', { username: 'erin', groups: ['deployers'] });
    const { client } = await signIn(t, 'erin-sub');
    const { token } = await json<CreatedToken>(client.post('/api/tokens', { name: 'ci' }));
    const viaToken = new HttpClient(t.baseUrl, { authorization: `Bearer ${token}` });
    expect((await viaToken.get('/api/auth/me')).status).toBe(200);
    const socket = await client.socket();
    const gone = new Promise((resolve) => socket.once('disconnect', resolve));

    op.accounts.get('erin-sub')!.groups = ['marketing'];
    const b = new FlowBrowser();
    expect(await callback(b, await toCallback(b, t, 'erin-sub'))).toBe('/login?error=SSO_NO_ROLE');
    expect(b.cookie(t.baseUrl, 'vmo.sid')).toBeUndefined();
    await gone;
    expect((await client.get('/api/auth/me')).status).toBe(401);
    expect((await viaToken.get('/api/auth/me')).status).toBe(401);
    expect(await lastAudit(admin, 'login.failed')).toMatchObject({
      user: { username: 'erin' },
      details: { via: 'oidc', provider: 'Test SSO', code: 'SSO_NO_ROLE', groups: ['marketing'] },
    });

    op.accounts.get('erin-sub')!.groups = ['engineers'];
    const back = await signIn(t, 'erin-sub');
    expect((await json<Me>(back.client.get('/api/auth/me'))).user.role).toBe('viewer');
  });

  it('asks the provider again between sign-ins: a changed role applies, no role ends everything', async () => {
    op.accounts.set('ivan-sub', { username: 'ivan', groups: ['deployers'] });
    const { client } = await signIn(t, 'ivan-sub');
    const { token } = await json<CreatedToken>(client.post('/api/tokens', { name: 'ci' }));
    const viaToken = new HttpClient(t.baseUrl, { authorization: `Bearer ${token}` });
    const oidc = t.services.signIn.oidc!;

    op.accounts.get('ivan-sub')!.groups = ['platform-admins'];
    await oidc.check(0);
    expect((await json<Me>(client.get('/api/auth/me'))).user.role).toBe('admin');
    expect(await lastAudit(admin, 'sso.check')).toMatchObject({
      user: { username: 'ivan' },
      details: { outcome: 'role', role: 'admin', roleFrom: 'operator' },
    });

    // The provider down: nothing changes, it is asked again next time.
    await op.stop();
    try {
      await oidc.check(0);
    } finally {
      await op.start();
    }
    expect((await client.get('/api/auth/me')).status).toBe(200);

    const socket = await client.socket();
    const gone = new Promise((resolve) => socket.once('disconnect', resolve));
    op.accounts.get('ivan-sub')!.groups = ['marketing'];
    await oidc.check(0);
    await gone;
    expect((await client.get('/api/auth/me')).status).toBe(401);
    expect((await viaToken.get('/api/auth/me')).status).toBe(401);
    expect((await lastAudit(admin, 'sso.check')).details).toMatchObject({
      outcome: 'ended',
      code: 'SSO_NO_ROLE',
      groups: ['marketing'],
    });
  });

  it('ends a session the provider no longer honours', async () => {
    op.accounts.set('judy-sub', { username: 'judy', groups: ['engineers'] });
    const { client } = await signIn(t, 'judy-sub');
    op.accounts.delete('judy-sub'); // gone at the provider: its refresh token is refused
    await t.services.signIn.oidc!.check(0);
    expect((await client.get('/api/auth/me')).status).toBe(401);
    expect((await lastAudit(admin, 'sso.check')).details).toMatchObject({
      outcome: 'session ended',
    });
  });

  it('refuses a tampered state', async () => {
    op.accounts.set('frank-sub', { username: 'frank', groups: ['engineers'] });
    const b = new FlowBrowser();
    const url = new URL(await toCallback(b, t, 'frank-sub'));
    url.searchParams.set('state', 'x'.repeat(43));
    expect(await callback(b, url.href)).toBe('/login?error=SSO_INVALID');
    expect((await lastAudit(admin, 'login.failed')).details).toMatchObject({ code: 'SSO_INVALID' });
  });

  it('refuses an ID token with another nonce than the one this browser was given', async () => {
    const b = new FlowBrowser();
    const authorize = new URL(await start(b, t));
    authorize.searchParams.set('nonce', 'n'.repeat(43)); // the provider now signs this nonce
    const back = await b.signInAtProvider(authorize.href, 'frank-sub', t.baseUrl);
    expect(await callback(b, back)).toBe('/login?error=SSO_INVALID');
    expect(String((await lastAudit(admin, 'login.failed')).details?.reason)).toMatch(/nonce/);
  });

  it('refuses a replayed code, even with the cookie the browser had', async () => {
    const b = new FlowBrowser();
    const back = await toCallback(b, t, 'frank-sub');
    const pending = b.cookie(t.baseUrl, 'vmo.sso')!;
    expect(await callback(b, back)).toBe('/');
    b.setCookie(t.baseUrl, 'vmo.sso', pending);
    expect(await callback(b, back)).toBe('/login?error=SSO_INVALID');
    expect(String((await lastAudit(admin, 'login.failed')).details?.reason)).toMatch(
      /invalid_grant/,
    );
  });

  it('refuses an expired code', async () => {
    ttl = 1;
    try {
      const b = new FlowBrowser();
      const back = await toCallback(b, t, 'frank-sub');
      await new Promise((r) => setTimeout(r, 2_100));
      expect(await callback(b, back)).toBe('/login?error=SSO_INVALID');
      expect(String((await lastAudit(admin, 'login.failed')).details?.reason)).toMatch(
        /invalid_grant/,
      );
    } finally {
      ttl = 60;
    }
  });

  it('refuses a sign-in that was never started in this browser', async () => {
    const started = new FlowBrowser();
    const back = await toCallback(started, t, 'frank-sub');
    expect(await callback(new FlowBrowser(), back)).toBe('/login?error=SSO_INVALID');
  });

  it('says the provider is unavailable when it goes down between the redirect and the answer', async () => {
    const b = new FlowBrowser();
    const back = await toCallback(b, t, 'frank-sub');
    await op.stop();
    try {
      expect(await callback(b, back)).toBe('/login?error=SSO_PROVIDER_UNAVAILABLE');
    } finally {
      await op.start();
    }
    expect((await signIn(t, 'frank-sub')).landed).toBe('/');
  });

  it('never takes over a local account of the same name', async () => {
    const local = await t.loginAs('viewer');
    const { user } = await json<Me>(local.get('/api/auth/me'));
    op.accounts.set('mallory-sub', { username: user.username, groups: ['platform-admins'] });
    const b = new FlowBrowser();
    expect(await callback(b, await toCallback(b, t, 'mallory-sub'))).toBe(
      '/login?error=SSO_CONFLICT',
    );
    expect((await json<Me>(local.get('/api/auth/me'))).user).toMatchObject({
      role: 'viewer',
      provider: 'local',
    });
  });

  it('a disabled SSO user stays out; an SSO user has no local password', async () => {
    op.accounts.set('gina-sub', { username: 'gina', groups: ['engineers'] });
    const { client } = await signIn(t, 'gina-sub');
    const { user } = await json<Me>(client.get('/api/auth/me'));
    const reset = await admin.patch(`/api/users/${user.id}`, { password: 'a-new-password' });
    expect(reset.status).toBe(400);
    expect(await reset.text()).toMatch(/single sign-on/);
    const own = await client.post('/api/auth/password', { newPassword: 'a-new-password' });
    expect(own.status).toBe(400);
    expect((await admin.patch(`/api/users/${user.id}`, { disabled: true })).status).toBe(200);
    expect((await client.get('/api/auth/me')).status).toBe(401);
    const b = new FlowBrowser();
    expect(await callback(b, await toCallback(b, t, 'gina-sub'))).toBe('/login?error=SSO_DISABLED');
  });

  it('signing out also signs out at the provider (RP-initiated logout)', async () => {
    const { client } = await signIn(t, 'frank-sub');
    const res = await client.post('/api/auth/logout');
    expect(res.status).toBe(200);
    const { redirect } = await json<{ redirect: string }>(res);
    const end = new URL(redirect);
    expect(end.origin).toBe(op.issuer);
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${t.baseUrl}/login`);
    expect(end.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect((await client.get('/api/auth/me')).status).toBe(401);
    // The provider accepts it: its confirmation page, not an error.
    const page = await fetch(redirect);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<form/);
    // A local user's sign-out stays a plain 204.
    const local = await t.loginAs('viewer');
    expect((await local.post('/api/auth/logout')).status).toBe(204);
  });
});

describe('single sign-on when the provider is down at the start', () => {
  it('says so on the sign-in page, and discovers again once the provider is back', async () => {
    const port = await freePort();
    const op = await startTestProvider({ publicUrl: `http://127.0.0.1:${port}` });
    await op.stop();
    const t = await ssoApp(op, port);
    try {
      const b = new FlowBrowser();
      expect(await start(b, t)).toBe('/login?error=SSO_PROVIDER_UNAVAILABLE');
      await op.start();
      op.accounts.set('hana-sub', { username: 'hana', groups: ['deployers'] });
      expect((await signIn(t, 'hana-sub')).landed).toBe('/');
    } finally {
      await t.close();
      await op.stop();
    }
  });
});

describe('password sign-in turned off (auth.local: false)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ config: { auth: { local: false } } });
  });
  afterAll(() => t?.close());

  it('refuses passwords but keeps the one-time link for an admin', async () => {
    expect(await json(t.anonymous().get('/api/auth/providers'))).toEqual({
      local: false,
      oidc: null,
    });
    const admin = await t.auth.ensureAdmin('a-password-nobody-may-use');
    const refused = await t
      .anonymous()
      .post('/api/auth/login', { username: 'admin', password: 'a-password-nobody-may-use' });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/auth\.local: false/);
    const link = await t.auth.createLoginLink(admin.id);
    const browser = t.anonymous();
    const res = await browser.get(`/auth/link/${link}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    expect((await browser.get('/api/auth/me')).status).toBe(200);
    // Without a provider, its routes say single sign-on is off.
    const sso = await browser.get('/api/auth/oidc/login');
    expect(sso.headers.get('location')).toBe('/login?error=SSO_DISABLED');
  });
});
