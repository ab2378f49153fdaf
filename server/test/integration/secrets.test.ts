// SPEC §4: no secret in any response or log line. A realistic session (sign-in, users, a password
// change, tokens, jobs, their output over REST and the socket, notification channels and their
// deliveries, the audit log) is recorded whole, and no password, token, hash, session secret, key
// path, channel secret or scrubbed environment value appears in it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CreatedToken, Job, ManagedUser } from '@vmo/protocol';
import { createLogger } from '../../src/logger.js';
import { HttpClient, startTestApp, type TestApp } from '../fixtures/app.js';
import { ENGINE_PROJECT } from '../fixtures/jobs.js';
import { startWebhookReceiver, type WebhookReceiver } from '../fixtures/receivers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vmo-secrets-'));
const KEY_PATH = path.join(dir, 'id_ed25519_very_secret_key');
const SSH_CONFIG = path.join(dir, 'ssh_config');
writeFileSync(
  SSH_CONFIG,
  `Host web1\n  HostName 127.0.0.1\n  Port 1\n  User deploy\n  IdentityFile ${KEY_PATH}\n`,
);

const ADMIN_PASSWORD = 'admin-Pa55word-for-the-grep';
const USER_PASSWORD = 'user-Pa55word-for-the-grep';
const NEW_PASSWORD = 'changed-Pa55word-for-the-grep';
const WRONG_PASSWORD = 'wrong-Pa55word-for-the-grep';
const ENV_SECRET = 'env-secret-value-for-the-grep';
const WEBHOOK_SECRET = 'webhook-secret-for-the-grep';
const SMTP_PASSWORD = 'smtp-Pa55word-for-the-grep';
const SLACK_PATH = '/services/T0/B0/slack-path-secret-for-the-grep';

describe('no secret in any response or log line', () => {
  let t: TestApp;
  let slack: WebhookReceiver;
  let stopDispatcher: (() => Promise<void>) | undefined;
  const logLines: string[] = [];
  const seen: string[] = [];

  /** A client that keeps every response's headers and body. */
  class Recording extends HttpClient {
    override async request(
      method: string,
      p: string,
      body?: unknown,
      headers?: Record<string, string>,
    ): Promise<Response> {
      const res = await super.request(method, p, body, headers);
      const text = await res.clone().text();
      const head: string[] = [];
      res.headers.forEach((v, k) => head.push(`${k}: ${v}`));
      seen.push(`${method} ${p} ${res.status}\n${head.join('\n')}\n${text}`);
      return res;
    }
  }

  beforeAll(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    t = await startTestApp({
      config: {
        projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
        ssh: { config: SSH_CONFIG },
        security: { allowAdHoc: true },
        notifications: { pollSeconds: 0.2, firstRetrySeconds: 0.2, timeoutSeconds: 2 },
      },
      env: { PATH: process.env.PATH, HOME: dir, DEPLOY_SECRET: ENV_SECRET, API_TOKEN: ENV_SECRET },
      log: createLogger({ level: 'trace', destination }),
      // Not built there: the server says so in the log, which must not be empty for the grep to mean anything.
      webDir: path.join(dir, 'web'),
    });
    slack = await startWebhookReceiver(SLACK_PATH);
    stopDispatcher = t.services.dispatcher.start();
    await t.users.createIfMissing({
      username: 'root-admin',
      role: 'admin',
      password_hash: await t.auth.hashPassword(ADMIN_PASSWORD),
    });
  });
  afterAll(async () => {
    await stopDispatcher?.();
    await t?.close();
    await slack?.close();
  });

  it('holds for a whole session', async () => {
    const admin = new Recording(t.baseUrl);
    expect(
      (await admin.post('/api/auth/login', { username: 'root-admin', password: ADMIN_PASSWORD }))
        .status,
    ).toBe(200);
    const socket = await admin.socket();
    socket.onAny((event: string, payload: unknown) =>
      seen.push(`socket ${event} ${JSON.stringify(payload)}`),
    );

    await new Recording(t.baseUrl).post('/api/auth/login', {
      username: 'root-admin',
      password: WRONG_PASSWORD,
    });
    const created = await admin.post('/api/users', {
      username: 'dev',
      password: USER_PASSWORD,
      role: 'operator',
    });
    const dev = (await created.json()) as ManagedUser;
    const devClient = new Recording(t.baseUrl);
    await devClient.post('/api/auth/login', { username: 'dev', password: USER_PASSWORD });
    await devClient.post('/api/auth/password', {
      currentPassword: USER_PASSWORD,
      newPassword: NEW_PASSWORD,
    });
    await admin.request('PATCH', `/api/users/${dev.id}`, { password: USER_PASSWORD + '-reset' });
    await devClient.post('/api/auth/login', {
      username: 'dev',
      password: USER_PASSWORD + '-reset',
    });

    // Channels with secrets, told of every end: one refuses once, one cannot be reached.
    slack.failNext(1);
    const closed = await startWebhookReceiver();
    await closed.close();
    for (const body of [
      { name: 'chat', kind: 'slack', url: slack.url },
      {
        name: 'hook',
        kind: 'webhook',
        url: slack.url.replace(SLACK_PATH, '/x'),
        secret: WEBHOOK_SECRET,
      },
      {
        name: 'mail',
        kind: 'email',
        url: `smtp://bot@127.0.0.1:${new URL(closed.url).port}`,
        secret: SMTP_PASSWORD,
        to: ['ops@example.test'],
      },
    ]) {
      const ch = (await (await admin.post('/api/notifications/channels', body)).json()) as {
        id: string;
      };
      await admin.post('/api/notifications/rules', {
        channelId: ch.id,
        on: ['succeeded', 'failed'],
      });
      await admin.post(`/api/notifications/channels/${ch.id}/test`);
    }

    const tokenRes = await devClient.post('/api/tokens', { name: 'ci' });
    const { token, id: tokenId } = (await tokenRes.json()) as CreatedToken;
    const viaToken = new Recording(t.baseUrl, { authorization: `Bearer ${token}` });
    const jobIds: string[] = [];
    for (const body of [
      { alias: 'engine', target: 'env' },
      { alias: 'engine', target: 'hello', args: { NAME: 'world' } },
    ])
      jobIds.push(
        ((await (await viaToken.post('/api/jobs/stream', body)).json()) as { jobId: string }).jobId,
      );
    for (const body of [
      { hostAlias: 'web1', preset: 'docker-ps' },
      { hostAlias: 'web1', command: 'uptime' },
    ])
      jobIds.push(
        ((await (await admin.post('/api/jobs/ssh-logs', body)).json()) as { jobId: string }).jobId,
      );
    for (const id of jobIds) {
      await vi.waitFor(
        async () => {
          const job = (await (await admin.get(`/api/jobs/${id}`)).json()) as Job;
          expect(['success', 'failed']).toContain(job.status);
        },
        { timeout: 30_000, interval: 200 },
      );
      await admin.get(`/api/jobs/${id}/events`);
      await admin.get(`/api/jobs/${id}/log`);
      expect((await socket.emitWithAck('join-job', { jobId: id })).ok).toBe(true);
    }
    // Every end told on the chat (after one refusal) and tried on the mail, which fails.
    await vi.waitFor(() => expect(slack.received.length).toBeGreaterThanOrEqual(jobIds.length), {
      timeout: 20_000,
    });
    await vi.waitFor(
      async () => {
        const log = (await (await admin.get('/api/notifications/deliveries?limit=100')).json()) as {
          items: { channel: { name: string }; attempts: number; lastError: string | null }[];
        };
        const mail = log.items.filter((d) => d.channel.name === 'mail');
        expect(mail).toHaveLength(jobIds.length);
        expect(mail.every((d) => d.attempts >= 1 && d.lastError)).toBe(true);
      },
      { timeout: 20_000, interval: 250 },
    );
    await admin.get('/api/notifications/channels');
    await admin.get('/api/notifications/rules');
    const envLog = await (await admin.get(`/api/jobs/${jobIds[0]}/log`)).text();
    expect(envLog).toContain('PATH=');
    for (const p of [
      '/api/jobs',
      '/api/users',
      '/api/tokens',
      '/api/audit?limit=500',
      '/api/hosts',
      '/api/auth/me',
    ])
      await admin.get(p);
    await viaToken.get('/api/tokens');
    await devClient.request('DELETE', `/api/tokens/${tokenId}`);
    await viaToken.get('/api/auth/me');
    await devClient.post('/api/auth/logout');
    await new Promise((r) => setTimeout(r, 500)); // the last job:log/job:done messages
    socket.close();

    const hashes = (await t.db.db.selectFrom('users').select('password_hash').execute())
      .map((r) => r.password_hash)
      .filter((h): h is string => !!h);
    const tokenHashes = (await t.db.db.selectFrom('tokens').select('token_hash').execute()).map(
      (r) => r.token_hash,
    );
    const secrets = {
      ADMIN_PASSWORD,
      USER_PASSWORD,
      NEW_PASSWORD,
      WRONG_PASSWORD,
      ENV_SECRET,
      WEBHOOK_SECRET,
      SMTP_PASSWORD,
      SLACK_PATH,
      token,
      KEY_PATH,
      keyName: path.basename(KEY_PATH),
      argon: '$argon2',
      ...Object.fromEntries(hashes.map((h, i) => [`hash${i}`, h])),
      ...Object.fromEntries(tokenHashes.map((h, i) => [`tokenHash${i}`, h])),
    };
    expect(seen.length).toBeGreaterThan(40);
    expect(logLines.length).toBeGreaterThan(0);
    // The failed sends were logged, with their errors: the grep below covers them.
    expect(logLines.some((l) => l.includes('notification not sent'))).toBe(true);
    // The token's value is shown exactly once: in the answer that created it.
    const creation = seen.filter((s) => s.includes(token));
    expect(creation).toHaveLength(1);
    expect(creation[0]).toMatch(/^POST \/api\/tokens 201/);
    for (const [name, secret] of Object.entries(secrets)) {
      const inResponses = seen.filter((s) => s.includes(secret) && s !== creation[0]);
      const inLogs = logLines.filter((s) => s.includes(secret));
      expect({ name, inResponses, inLogs }).toEqual({ name, inResponses: [], inLogs: [] });
    }
  });
});
