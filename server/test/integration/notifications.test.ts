// Notifications of job ends (issue 24) against real receivers started here: an HTTP server that
// verifies the webhook signatures as the README says (and fails on demand, then recovers), a
// Slack-style endpoint, and a real SMTP server; rules, the outbox written with the job's end,
// retries with backoff, the delivery log and "send again", and secrets that never come back.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Channel, CreatedChannel, DeliveryPage, NotificationRule } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
import { getJob } from '../fixtures/jobs.js';
import {
  startSmtpReceiver,
  startWebhookReceiver,
  verify,
  type SmtpReceiver,
  type WebhookReceiver,
} from '../fixtures/receivers.js';

// A project in the style of a real one: a check that breaks while a marker file exists, printing
// its error in colour after a progress line redrawn with \r.
const MAKEFILE = `# Health checks of the service
.PHONY: check deploy

check: ## Check the service
\t@printf 'checking 1/3\\rchecking 3/3\\n'
\t@for i in $$(seq 1 16); do echo "line $$i"; done
\t@if [ -f broken ]; then printf '\\033[31merror:\\033[0m disk full\\n' >&2; exit 2; fi
\t@echo all good

deploy: ## Deploy it
\t@echo deployed
`;

const PUBLIC_URL = 'https://vmo.example.test';

describe('notifications', { timeout: 90_000 }, () => {
  let t: TestApp;
  let admin: HttpClient;
  let operator: HttpClient;
  let viewer: HttpClient;
  let dir: string;
  let hook: WebhookReceiver;
  let slack: WebhookReceiver;
  let smtp: SmtpReceiver;
  let stopDispatcher: () => Promise<void>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vmo-notify-'));
    await writeFile(path.join(dir, 'Makefile'), MAKEFILE);
    [hook, slack, smtp] = await Promise.all([
      startWebhookReceiver(),
      startWebhookReceiver('/services/T000/B000/XXXXSECRETPATH'),
      startSmtpReceiver('ops-bot', 's3cret-smtp'),
    ]);
    t = await startTestApp({
      config: {
        projects: [{ alias: 'svc', dir }],
        security: { publicUrl: PUBLIC_URL },
        notifications: {
          firstRetrySeconds: 0.2,
          maxRetrySeconds: 0.5,
          pollSeconds: 0.2,
          timeoutSeconds: 5,
          from: 'vmo@ops.example.test',
        },
      },
    });
    [admin, operator, viewer] = await Promise.all([
      t.loginAs('admin'),
      t.loginAs('operator'),
      t.loginAs('viewer'),
    ]);
    stopDispatcher = t.services.dispatcher.start();
  });
  afterAll(async () => {
    await stopDispatcher?.();
    await t?.close();
    await Promise.all([hook?.close(), slack?.close(), smtp?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const run = async (client: HttpClient, target: string) => {
    const res = await client.post('/api/jobs/stream', { alias: 'svc', target });
    expect(res.status).toBe(201);
    const { jobId } = (await res.json()) as { jobId: string };
    await vi.waitFor(async () => expect((await getJob(client, jobId)).finishedAt).not.toBeNull(), {
      timeout: 20_000,
      interval: 100,
    });
    return jobId;
  };
  const channel = async (body: Record<string, unknown>) => {
    const res = await admin.post('/api/notifications/channels', body);
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as CreatedChannel;
  };
  const rule = async (client: HttpClient, body: Record<string, unknown>) => {
    const res = await client.post('/api/notifications/rules', body);
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as NotificationRule;
  };
  const deliveries = async (query = '') =>
    ((await (await admin.get(`/api/notifications/deliveries${query}`)).json()) as DeliveryPage)
      .items;
  const breakIt = (broken: boolean) =>
    broken
      ? writeFile(path.join(dir, 'broken'), '')
      : rm(path.join(dir, 'broken'), { force: true });

  it('signs a webhook, retries it with backoff while the receiver fails, and tells a recovery', async () => {
    const ch = await channel({ name: 'ops hook', kind: 'webhook', url: hook.url });
    expect(ch.secret).toMatch(/^[A-Za-z0-9_-]{43}$/); // made, shown this once
    hook.secret = ch.secret!;
    const listed = (await (await admin.get('/api/notifications/channels')).json()) as Channel[];
    expect(listed.find((c) => c.id === ch.id)).toMatchObject({ hasSecret: true, target: hook.url });
    expect(JSON.stringify(listed)).not.toContain(ch.secret);
    await rule(admin, { channelId: ch.id, on: ['failed', 'recovered'], match: { project: 'svc' } });

    // A failure: one signed message with what a reader needs.
    await breakIt(true);
    const failedJob = await run(operator, 'check');
    await vi.waitFor(() => expect(hook.received).toHaveLength(1), { timeout: 10_000 });
    const first = hook.received[0]!;
    expect(first.verified).toBe(true);
    expect(first.headers['x-vmo-delivery']).toBe(first.json.id);
    expect(first.json).toMatchObject({
      event: 'failed',
      text: 'make check failed',
      url: `${PUBLIC_URL}/jobs/${failedJob}`,
      job: { id: failedJob, command: 'make check', exitCode: 2, project: 'svc' },
    });
    expect((first.json.job as { requestedBy: string }).requestedBy).toMatch(/^operator/);
    const lines = first.json.lines as string[];
    expect(lines).toHaveLength(20);
    // The text a user sees: escape codes gone, the \r-redrawn line as it ended up, make's own
    // complaint and the system's last word included.
    expect(lines.at(0)).toBe('checking 3/3');
    expect(lines.slice(-3)).toEqual([
      'error: disk full',
      'make: *** [Makefile:7: check] Error 2',
      expect.stringMatching(/^exited with code 2/),
    ]);
    // The same body with its timestamp an hour old is refused by the documented check.
    const stale = {
      ...first.headers,
      'x-vmo-timestamp': String(Number(first.headers['x-vmo-timestamp']) - 3600),
    };
    expect(verify(hook.secret, stale, first.body)).toBe(false);
    expect(verify(hook.secret, first.headers, first.body + ' ')).toBe(false);

    // The receiver fails twice: the third attempt, after two waits, gets through.
    hook.failNext(2);
    const second = await run(operator, 'check');
    await vi.waitFor(() => expect(hook.received).toHaveLength(2), { timeout: 15_000 });
    expect(hook.refused).toHaveLength(2);
    const [logged] = await deliveries(`?jobId=${second}`);
    expect(logged).toMatchObject({ status: 'sent', attempts: 3, event: 'failed' });
    // The idempotency key is the same on every attempt.
    expect(new Set(hook.refused.map((r) => r.headers['x-vmo-delivery']))).toEqual(
      new Set([logged!.id]),
    );
    expect(hook.received[1]!.headers['x-vmo-delivery']).toBe(logged!.id);

    // Fixed: the first success is "recovered"; the next success is not told (not in the rule).
    await breakIt(false);
    const recovered = await run(operator, 'check');
    await vi.waitFor(() => expect(hook.received).toHaveLength(3), { timeout: 10_000 });
    expect(hook.received[2]!.json).toMatchObject({ event: 'recovered', job: { id: recovered } });
    await run(operator, 'check');
    await run(operator, 'deploy');
    await new Promise((r) => setTimeout(r, 600));
    expect(hook.received).toHaveLength(3);

    // "Send again": the same delivery (same key) once more, audited.
    const resent = await admin.post(`/api/notifications/deliveries/${logged!.id}/resend`);
    expect(resent.status).toBe(200);
    await vi.waitFor(() => expect(hook.received).toHaveLength(4), { timeout: 10_000 });
    expect(hook.received[3]!.headers['x-vmo-delivery']).toBe(logged!.id);
    const audit = await (await admin.get('/api/audit?action=delivery.resend')).json();
    expect(JSON.stringify(audit)).toContain(logged!.id);
  });

  it('gives up after its retry window and says why, without the URL', async () => {
    const closed = await startWebhookReceiver();
    await closed.close(); // a port nothing listens on
    const port = new URL(closed.url).port;
    const ch = await channel({
      name: 'nowhere',
      kind: 'webhook',
      url: `http://127.0.0.1:${port}/hooks/private-token-123?key=abc`,
      secret: 'given-secret',
    });
    expect(ch).not.toHaveProperty('secret'); // given, not made: nothing to show
    expect(ch.target).toBe(`http://127.0.0.1:${port}/hooks/private-token-123?…`);
    await rule(admin, { channelId: ch.id, on: ['succeeded'], match: { target: 'deploy' } });
    const jobId = await run(operator, 'deploy');
    await vi.waitFor(
      async () =>
        expect((await deliveries(`?channelId=${ch.id}`))[0]?.attempts).toBeGreaterThanOrEqual(2),
      { timeout: 10_000 },
    );
    const [d] = await deliveries(`?channelId=${ch.id}`);
    expect(d).toMatchObject({ job: { id: jobId }, event: 'succeeded' });
    expect(d!.lastError).toMatch(/ECONNREFUSED/);
    expect(d!.lastError).not.toContain('private-token');
    // Past its give-up time it stops, marked failed.
    await t.db.db
      .updateTable('notification_deliveries')
      .set({ give_up_at: new Date() })
      .where('id', '=', d!.id)
      .execute();
    await vi.waitFor(
      async () => expect((await deliveries(`?channelId=${ch.id}`))[0]?.status).toBe('failed'),
      {
        timeout: 10_000,
      },
    );
    expect((await admin.delete(`/api/notifications/channels/${ch.id}`)).status).toBe(204);
    expect(await deliveries(`?channelId=${ch.id}`)).toEqual([]);
  });

  it('posts a Slack-compatible {text} and mails through SMTP with a password it never shows', async () => {
    const s = await channel({ name: 'team chat', kind: 'slack', url: slack.url });
    expect(s.target).toBe(new URL(slack.url).origin + '/…');
    const mail = await channel({
      name: 'on-call mail',
      kind: 'email',
      url: `smtp://ops-bot@127.0.0.1:${smtp.port}`,
      secret: 's3cret-smtp',
      to: ['oncall@example.test', 'lead@example.test'],
    });
    expect(mail).toMatchObject({
      hasSecret: true,
      to: ['oncall@example.test', 'lead@example.test'],
    });
    for (const c of [s, mail])
      await rule(admin, { channelId: c.id, on: ['failed'], match: { target: 'check' } });
    await breakIt(true);
    const jobId = await run(admin, 'check');
    await breakIt(false);

    await vi.waitFor(() => expect(slack.received).toHaveLength(1), { timeout: 10_000 });
    const text = slack.received[0]!.json.text as string;
    expect(Object.keys(slack.received[0]!.json)).toEqual(['text']);
    expect(text).toContain('*make check failed*');
    expect(text).toContain('*Exit code:* 2');
    expect(text).toContain(`<${PUBLIC_URL}/jobs/${jobId}|Open the job>`);
    expect(text).toMatch(/```\nchecking 3\/3\n(.*\n)+error: disk full\n(.*\n)+```$/);

    await vi.waitFor(() => expect(smtp.mails).toHaveLength(1), { timeout: 10_000 });
    const [m] = smtp.mails;
    expect(m).toMatchObject({
      user: 'ops-bot',
      from: 'vmo@ops.example.test',
      to: ['oncall@example.test', 'lead@example.test'],
    });
    expect(m!.raw).toMatch(/^Subject: \[vmo\] make check failed\r?$/m);
    expect(m!.raw).toContain(`${PUBLIC_URL}/jobs/${jobId}`);
    expect(m!.raw).toMatch(/Exit code\s+2/);
    expect(m!.raw).toContain('error: disk full');

    const all = JSON.stringify(await (await admin.get('/api/notifications/channels')).json());
    expect(all).not.toContain('s3cret-smtp');
    expect(all).not.toContain('XXXXSECRETPATH');
    const log = JSON.stringify(await (await admin.get('/api/audit?limit=200')).json());
    expect(log).not.toContain('s3cret-smtp');
    expect(log).not.toContain('XXXXSECRETPATH');

    // A wrong password: the test message says so, and nothing is queued.
    expect(
      (await admin.patch(`/api/notifications/channels/${mail.id}`, { secret: 'wrong' })).status,
    ).toBe(200);
    const tried = (await (
      await admin.post(`/api/notifications/channels/${mail.id}/test`)
    ).json()) as { ok: boolean; error: string };
    expect(tried.ok).toBe(false);
    expect(tried.error).toMatch(/Invalid/);
    expect(tried.error).not.toContain('wrong');
  });

  it('keeps rules to what their owner may see: anyone may have "my jobs", only admins more', async () => {
    const mine = await startWebhookReceiver();
    try {
      const ch = await channel({ name: 'my pager', kind: 'webhook', url: mine.url });
      mine.secret = ch.secret!;
      // Channels are the admins'; anyone may read the list to pick one.
      expect(
        (
          await operator.post('/api/notifications/channels', {
            name: 'x',
            kind: 'slack',
            url: slack.url,
          })
        ).status,
      ).toBe(403);
      expect((await viewer.get('/api/notifications/channels')).status).toBe(200);
      expect((await viewer.get('/api/notifications/deliveries')).status).toBe(403);
      const refused = await operator.post('/api/notifications/rules', {
        channelId: ch.id,
        on: ['succeeded'],
      });
      expect(refused.status).toBe(403);

      const r = await rule(operator, {
        channelId: ch.id,
        on: ['succeeded'],
        match: { mine: true, target: 'deploy' },
      });
      expect(r.owner.username).toMatch(/^operator/);
      await run(admin, 'deploy'); // not theirs
      const theirs = await run(operator, 'deploy');
      await vi.waitFor(() => expect(mine.received).toHaveLength(1), { timeout: 10_000 });
      expect(mine.received[0]!.json).toMatchObject({ job: { id: theirs } });

      // Their rules are theirs: listed, changed and deleted by them (or an admin), not by others.
      const ids = async (res: Response) =>
        ((await res.json()) as NotificationRule[]).map((x) => x.id);
      expect(await ids(await operator.get('/api/notifications/rules'))).toEqual([r.id]);
      expect(await ids(await viewer.get('/api/notifications/rules'))).toEqual([]);
      expect(await ids(await admin.get('/api/notifications/rules'))).toContain(r.id);
      expect((await viewer.delete(`/api/notifications/rules/${r.id}`)).status).toBe(404);
      expect((await operator.patch(`/api/notifications/rules/${r.id}`, { match: {} })).status).toBe(
        403,
      );
      const paused = await operator.patch(`/api/notifications/rules/${r.id}`, { enabled: false });
      expect(((await paused.json()) as NotificationRule).enabled).toBe(false);
      await run(operator, 'deploy');
      await new Promise((res) => setTimeout(res, 600));
      expect(mine.received).toHaveLength(1);
      expect((await operator.delete(`/api/notifications/rules/${r.id}`)).status).toBe(204);
    } finally {
      await mine.close();
    }
  });

  it('writes the outbox row with the job’s end, so an end is told even if no sender was running', async () => {
    await stopDispatcher();
    const late = await startWebhookReceiver();
    try {
      const ch = await channel({ name: 'late', kind: 'webhook', url: late.url });
      late.secret = ch.secret!;
      await rule(admin, { channelId: ch.id, on: ['succeeded'], match: { target: 'deploy' } });
      const jobId = await run(operator, 'deploy');
      // Ended: its row is there already, waiting, though nothing sends.
      const [row] = await deliveries(`?channelId=${ch.id}`);
      expect(row).toMatchObject({ job: { id: jobId }, status: 'pending', attempts: 0 });
      stopDispatcher = t.services.dispatcher.start();
      await vi.waitFor(() => expect(late.received).toHaveLength(1), { timeout: 10_000 });
    } finally {
      await late.close();
    }
  });

  it('refuses channels that do not fit their kind, with the rule broken', async () => {
    const bad = async (body: Record<string, unknown>) => {
      const res = await admin.post('/api/notifications/channels', body);
      expect(res.status).toBe(400);
      return JSON.stringify(await res.json());
    };
    expect(await bad({ name: 'a', kind: 'webhook', url: 'ftp://x.test/' })).toContain('http://');
    expect(await bad({ name: 'a', kind: 'email', url: 'smtp://mail.test' })).toContain(
      'recipients',
    );
    expect(
      await bad({ name: 'a', kind: 'email', url: 'https://mail.test', to: ['a@b.test'] }),
    ).toContain('smtp://');
    expect(await bad({ name: 'a', kind: 'slack', url: slack.url, to: ['a@b.test'] })).toContain(
      'only an e-mail',
    );
    expect(
      await bad({ name: 'a', kind: 'email', url: 'smtp://m.test', to: ['not mail'] }),
    ).toContain('e-mail address');
    const dup = await admin.post('/api/notifications/channels', {
      name: 'team chat',
      kind: 'slack',
      url: slack.url,
    });
    expect(dup.status).toBe(409);
  });
});
