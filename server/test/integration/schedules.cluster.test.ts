// Schedules on two real server processes sharing one Postgres (issue 23): every due time of six
// every-second schedules starts one job, whichever instance claims it, for 60 fires and more;
// when the instance that fired is killed (SIGKILL), the other keeps firing within a heartbeat; and
// the killed one, restarted, fires nothing twice. Each job's end is told once (issue 24), by
// whichever instance takes its delivery.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpClient } from '../fixtures/app.js';
import { ENGINE_PROJECT } from '../fixtures/jobs.js';
import { createTestDatabase, type TestDatabase } from '../fixtures/postgres.js';
import { startWebhookReceiver, type WebhookReceiver } from '../fixtures/receivers.js';
import { exited, serverScratch, startServer, type Running } from '../fixtures/server-process.js';

describe('schedules on several instances', { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let db: pg.Client;
  const scratch = serverScratch();
  const dirs: Record<'a' | 'b', string> = { a: '', b: '' };

  async function instance(name: 'a' | 'b'): Promise<Running> {
    dirs[name] ||= await scratch.dataDir();
    const config = path.join(dirs[name], 'vmo.yaml');
    await writeFile(
      config,
      [
        'projects:',
        `  - alias: engine`,
        `    dir: ${ENGINE_PROJECT}`,
        'mkcli: { registry: /nonexistent/mkcli/registry }',
        'ssh: { config: /nonexistent/ssh/config }',
        `cluster: { enabled: true, heartbeatSeconds: 1, instanceId: ${name} }`,
        'notifications: { pollSeconds: 0.2, firstRetrySeconds: 0.2, timeoutSeconds: 1 }',
        '',
      ].join('\n'),
    );
    const running = await startServer(
      ['--data-dir', dirs[name], '--config', config, '--database-url', database.url],
      { VMO_ADMIN_PASSWORD: 'pw' },
    );
    scratch.procs.push(running.proc);
    return running;
  }

  /** The first row of a query. */
  const one = async <T>(sql: string, params: unknown[] = []) =>
    (await db.query<T & pg.QueryResultRow>(sql, params)).rows[0]!;
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await one<{ n: string }>(sql, params)).n);

  let a: Running;
  let b: Running;
  let hook: WebhookReceiver;
  beforeAll(async () => {
    hook = await startWebhookReceiver();
    database = await createTestDatabase();
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
    [a, b] = await Promise.all([instance('a'), instance('b')]);
  }, 120_000);
  afterAll(async () => {
    await hook?.close();
    await db?.end();
    await scratch.cleanup();
    await database?.drop();
  });

  it('starts each due time once, takes over when the firing instance dies, and fires nothing twice after a restart, and tells each end once', async () => {
    const admin = new HttpClient(a.url);
    expect(
      (await admin.post('/api/auth/login', { username: 'admin', password: 'pw' })).status,
    ).toBe(200);
    const channel = await admin.post('/api/notifications/channels', {
      name: 'every end',
      kind: 'webhook',
      url: hook.url,
    });
    const { id: channelId, secret } = (await channel.json()) as { id: string; secret: string };
    hook.secret = secret;
    expect(
      (await admin.post('/api/notifications/rules', { channelId, on: ['succeeded'] })).status,
    ).toBe(201);
    for (let i = 0; i < 6; i++) {
      const res = await admin.post('/api/schedules', {
        name: `tick ${i}`,
        cron: '* * * * * *',
        run: {
          kind: 'stream',
          request: { alias: 'engine', target: 'hello', args: { NAME: `s${i}` } },
        },
        overlap: 'allow',
      });
      expect(res.status).toBe(201);
    }
    await vi.waitFor(
      async () =>
        expect(
          await count(`select count(*) n from schedule_fires where outcome = 'started'`),
        ).toBeGreaterThanOrEqual(60),
      { timeout: 30_000, interval: 250 },
    );
    // One job per fire, one fire per due time.
    const once = async () => {
      expect(
        await count(
          `select count(*) n from (select schedule_fire_id from jobs where schedule_fire_id is not null group by 1 having count(*) > 1) d`,
        ),
      ).toBe(0);
      expect(
        await count(
          `select count(*) n from (select schedule_id, fire_at from schedule_fires group by 1, 2 having count(*) > 1) d`,
        ),
      ).toBe(0);
      // Every scheduled job is its fire's, and every fire that names a job names its own. (Two
      // counts compared would race: a fire names its job a moment after the job is written.)
      expect(
        await count(`select count(*) n from jobs j where j.trigger_kind = 'schedule'
          and not exists (select 1 from schedule_fires f where f.id = j.schedule_fire_id)`),
      ).toBe(0);
      expect(
        await count(`select count(*) n from schedule_fires f where f.job_id is not null
          and not exists (select 1 from jobs j where j.id = f.job_id and j.schedule_fire_id = f.id)`),
      ).toBe(0);
    };
    await once();

    // Kill whichever fired last; the other goes on firing within a heartbeat.
    const last = (
      await one<{ instance_id: string }>(
        `select instance_id from schedule_fires order by fire_at desc, id desc limit 1`,
      )
    ).instance_id;
    const [victim, survivor] = last === 'a' ? (['a', 'b'] as const) : (['b', 'a'] as const);
    const killed = last === 'a' ? a : b;
    killed.proc.kill('SIGKILL');
    await exited(killed.proc);
    const killedAt = (await one<{ t: Date }>(`select now() t`)).t;
    await vi.waitFor(
      async () => {
        const n = await count(
          `select count(*) n from schedule_fires where instance_id = $1 and outcome = 'started' and fire_at > $2::timestamptz + interval '1 second'`,
          [survivor, killedAt],
        );
        expect(n).toBeGreaterThanOrEqual(6);
      },
      { timeout: 10_000, interval: 250 },
    );
    // No due time was lost while it died: every second since the first fire has its six.
    const gaps = await count(`
      select count(*) n from (
        select fire_at from schedule_fires where not manual group by fire_at having count(*) < 6
      ) g where fire_at < now() - interval '3 seconds'`);
    expect(gaps).toBeLessThanOrEqual(2); // the first second, when the schedules were still being made

    // The killed instance comes back: what it had claimed is settled once, nothing runs twice.
    const back = await instance(victim);
    if (victim === 'a') a = back;
    else b = back;
    await new Promise((r) => setTimeout(r, 3_000));
    await once();
    await vi.waitFor(
      async () =>
        expect(
          await count(
            `select count(*) n from schedule_fires where outcome = 'claimed' and updated_at < now() - interval '5 seconds'`,
          ),
        ).toBe(0),
      { timeout: 10_000, interval: 250 },
    );
    await db.query(`update schedules set enabled = false`);

    // Every successful job was told, by one delivery, however many times it was sent: an
    // instance killed mid-send leaves its lease to the other, which sends it again with the same
    // key (X-Vmo-Delivery), so a receiver that drops repeats sees each end once.
    await vi.waitFor(
      async () =>
        expect(
          await count(
            `select count(*) n from notification_deliveries where status in ('pending', 'sending')`,
          ),
        ).toBe(0),
      { timeout: 30_000, interval: 250 },
    );
    const succeeded = await count(
      `select count(*) n from jobs where status = 'success' and parent_id is null`,
    );
    expect(succeeded).toBeGreaterThanOrEqual(60);
    expect(
      await count(`select count(*) n from notification_deliveries where status = 'sent'`),
    ).toBe(succeeded);
    const keysByJob = new Map<string, Set<string>>();
    for (const r of hook.received) {
      expect(r.verified).toBe(true);
      const jobId = (r.json.job as { id: string }).id;
      keysByJob.set(
        jobId,
        (keysByJob.get(jobId) ?? new Set()).add(String(r.headers['x-vmo-delivery'])),
      );
    }
    expect(keysByJob.size).toBe(succeeded);
    expect([...keysByJob.values()].every((keys) => keys.size === 1)).toBe(true);
    const senders = await db.query<{ claimed_by: string }>(
      `select distinct claimed_by from notification_deliveries where status = 'sent'`,
    );
    expect(senders.rows.map((r) => r.claimed_by).sort()).toEqual(['a', 'b']);
  });
});
