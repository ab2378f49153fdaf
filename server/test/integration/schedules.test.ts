// Schedules against a real server and database (issue 23): saved through the API with the same
// checks as a start by hand, fired on time by the real scheduler as their owner, each due time
// once; what cannot run is recorded as skipped with the reason; the overlap and missed-run
// policies; and a DST change driven through the scheduler with a clock the test moves.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditPage, Job, Schedule, ScheduleDetail } from '@vmo/protocol';
import { SchedulesRepository } from '../../src/db/schedules.repository.js';
import { Scheduler } from '../../src/schedules/scheduler.js';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
import { ENGINE_PROJECT } from '../fixtures/jobs.js';
import { waitProject, type WaitProject } from '../fixtures/job-app.js';

describe('schedules', { timeout: 60_000 }, () => {
  let t: TestApp;
  let operator: HttpClient;
  let admin: HttpClient;
  let viewer: HttpClient;
  let wait: WaitProject;
  let stopScheduler: () => Promise<void>;

  beforeAll(async () => {
    wait = await waitProject();
    const guarded = await mkdtemp(path.join(tmpdir(), 'vmo-guarded-'));
    await writeFile(
      path.join(guarded, 'Makefile'),
      'deploy: ## Ship it @confirm\n\t@echo shipped\n',
    );
    t = await startTestApp({
      config: {
        projects: [
          { alias: 'engine', dir: ENGINE_PROJECT },
          { alias: 'wait', dir: wait.dir },
          { alias: 'guarded', dir: guarded },
        ],
        jobs: { graceSeconds: 1 },
      },
    });
    [operator, admin, viewer] = await Promise.all([
      t.loginAs('operator'),
      t.loginAs('admin'),
      t.loginAs('viewer'),
    ]);
    stopScheduler = t.services.scheduler.start();
  });
  afterAll(async () => {
    await stopScheduler?.();
    await t?.close();
  });

  const create = async (client: HttpClient, body: unknown) => {
    const res = await client.post('/api/schedules', body);
    return {
      status: res.status,
      body: (await res.json()) as Schedule & { error?: { code: string; message: string } },
    };
  };
  const detail = async (id: string) =>
    (await (await admin.get(`/api/schedules/${id}`)).json()) as ScheduleDetail;
  const hello = {
    kind: 'stream',
    request: { alias: 'engine', target: 'hello', args: { NAME: 'cron' } },
  };

  it('checks a schedule as a start by hand would, and says what is wrong', async () => {
    const bad = async (body: unknown, code: string, message?: RegExp) => {
      const r = await create(operator, body);
      expect(r.body.error?.code, JSON.stringify(r.body)).toBe(code);
      if (message) expect(r.body.error?.message).toMatch(message);
    };
    await bad({ cron: '61 * * * *', run: hello }, 'VALIDATION', /cron/);
    await bad({ cron: '* * *', run: hello }, 'VALIDATION', /5 fields/);
    await bad(
      { cron: '0 6 * * 1-5', timezone: 'Mars/Olympus', run: hello },
      'VALIDATION',
      /time zone/,
    );
    await bad({ run: hello }, 'VALIDATION', /either cron or everySeconds/);
    await bad({ cron: '0 6 * * *', everySeconds: 60, run: hello }, 'VALIDATION');
    await bad(
      { cron: '0 6 * * *', run: { kind: 'stream', request: { alias: 'engine', target: 'nope' } } },
      'UNKNOWN_TARGET',
    );
    await bad(
      {
        cron: '0 6 * * *',
        run: { kind: 'stream', request: { alias: 'guarded', target: 'deploy' } },
      },
      'CONFIRM_REQUIRED',
    );
    const v = await create(viewer, { cron: '0 6 * * *', run: hello });
    expect(v.status).toBe(403);
    // With its confirmation given now, the @confirm target is scheduled.
    const ok = await create(operator, {
      cron: '0 6 * * 1-5',
      timezone: 'Europe/Berlin',
      run: { kind: 'stream', request: { alias: 'guarded', target: 'deploy', confirm: true } },
    });
    expect(ok.status).toBe(201);
    const saved = (await (await admin.get(`/api/audit?limit=20`)).json()) as AuditPage;
    expect(saved.items.find((e) => e.target === ok.body.id)).toMatchObject({
      action: 'schedule.create',
      details: { confirmed: true },
    });
    expect(ok.body).toMatchObject({
      name: 'guarded: make deploy',
      command: 'guarded: make deploy',
      timezone: 'Europe/Berlin',
      overlap: 'skip',
      missed: 'skip',
      enabled: true,
      canEdit: true,
    });
    expect(ok.body.nextRuns).toHaveLength(3);
    // 06:00 in Berlin is 05:00 or 04:00 UTC, on a weekday.
    for (const at of ok.body.nextRuns) {
      const d = new Date(at);
      expect([4, 5]).toContain(d.getUTCHours());
      expect([1, 2, 3, 4, 5]).toContain(d.getUTCDay());
    }
    const next = (await (
      await operator.get(`/api/schedules/${ok.body.id}/next?count=10`)
    ).json()) as string[];
    expect(next).toHaveLength(10);
    expect(next.slice(0, 3)).toEqual(ok.body.nextRuns);
    // Another operator may read it, not change it; an admin may.
    const other = await t.loginAs('operator');
    expect((await other.patch(`/api/schedules/${ok.body.id}`, { enabled: false })).status).toBe(
      403,
    );
    const paused = await admin.patch(`/api/schedules/${ok.body.id}`, { enabled: false });
    expect(((await paused.json()) as Schedule).nextRuns).toEqual([]);
    expect((await admin.delete(`/api/schedules/${ok.body.id}`)).status).toBe(204);
    expect((await operator.get(`/api/schedules/${ok.body.id}`)).status).toBe(404);
  });

  it('fires a seconds schedule on time, each due time once, as its owner, and says so on the job', async () => {
    const { body: s } = await create(operator, {
      name: 'every second',
      cron: '* * * * * *',
      run: hello,
    });
    let d!: ScheduleDetail;
    await vi.waitFor(
      async () => {
        d = await detail(s.id);
        expect(d.fires.filter((f) => f.outcome === 'started').length).toBeGreaterThanOrEqual(3);
      },
      { timeout: 10_000, interval: 200 },
    );
    await operator.patch(`/api/schedules/${s.id}`, { enabled: false });
    d = await detail(s.id);
    const started = d.fires.filter((f) => f.outcome === 'started');
    expect(new Set(started.map((f) => f.fireAt)).size).toBe(started.length);
    for (const f of started) {
      const job = (await (await operator.get(`/api/jobs/${f.jobId}`)).json()) as Job;
      expect(job.trigger).toEqual({ kind: 'schedule', id: s.id, name: 'every second' });
      expect(job.requestedBy?.username).toBe(s.owner?.username);
      // On time: the job was created within a second of its due time.
      const late = new Date(job.createdAt).getTime() - new Date(f.fireAt).getTime();
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThan(1000);
    }
    const audit = (await (await admin.get(`/api/audit?limit=100`)).json()) as AuditPage;
    const mine = audit.items.filter((e) => e.target === s.id).map((e) => e.action);
    expect(mine).toContain('schedule.create');
    expect(mine).toContain('schedule.fire');
    expect(mine).toContain('schedule.pause');
  });

  it('records what cannot run as skipped with the reason: a gone target, a disabled owner', async () => {
    const owner = await t.loginAs('operator');
    const { body: s } = await create(owner, { cron: '* * * * * *', run: hello });
    // The target disappears from the catalog: the fire is skipped, nothing crashes.
    await t.db.db
      .updateTable('schedules')
      .set({
        run: JSON.stringify({ kind: 'stream', request: { alias: 'engine', target: 'gone' } }),
      })
      .where('id', '=', s.id)
      .execute();
    await vi.waitFor(
      async () => {
        const f = (await detail(s.id)).fires.find((x) => x.outcome === 'skipped');
        expect(f?.reason).toMatch(/^UNKNOWN_TARGET: /);
      },
      { timeout: 5_000, interval: 200 },
    );
    await t.db.db
      .updateTable('schedules')
      .set({ run: JSON.stringify(hello) })
      .where('id', '=', s.id)
      .execute();
    await t.db.db
      .updateTable('users')
      .set({ disabled: true })
      .where('id', '=', s.owner!.id)
      .execute();
    try {
      await vi.waitFor(
        async () => {
          const f = (await detail(s.id)).fires[0];
          expect(f?.reason).toMatch(/is disabled$/);
        },
        { timeout: 5_000, interval: 200 },
      );
    } finally {
      await t.db.db
        .updateTable('users')
        .set({ disabled: false })
        .where('id', '=', s.owner!.id)
        .execute();
      await admin.patch(`/api/schedules/${s.id}`, { enabled: false });
    }
    // Its owner lowered to viewer: skipped, with can()'s reason.
    await t.db.db
      .updateTable('users')
      .set({ role: 'viewer' })
      .where('id', '=', s.owner!.id)
      .execute();
    await admin.patch(`/api/schedules/${s.id}`, { enabled: true });
    try {
      await vi.waitFor(
        async () => {
          const f = (await detail(s.id)).fires[0];
          expect(f?.reason).toMatch(/may not run it: this needs the operator role$/);
        },
        { timeout: 5_000, interval: 200 },
      );
    } finally {
      await admin.patch(`/api/schedules/${s.id}`, { enabled: false });
    }
    const audit = (await (await admin.get(`/api/audit?limit=200`)).json()) as AuditPage;
    expect(audit.items.some((e) => e.target === s.id && e.action === 'schedule.skip')).toBe(true);
  });

  it('keeps to its overlap policy: skip, queue behind, or run alongside the last run', async () => {
    const run = {
      kind: 'stream',
      request: { alias: 'wait', target: 'wait', args: { GO: wait.goFile } },
    };
    const made = await Promise.all(
      (['skip', 'queue', 'allow'] as const).map(async (overlap) => {
        const { body } = await create(operator, {
          name: `overlap ${overlap}`,
          cron: '* * * * * *',
          run,
          overlap,
        });
        return [overlap, body.id] as const;
      }),
    );
    // A few fires each (on a loaded machine a second may pass without one), then paused.
    const outcomes = async (id: string) => (await detail(id)).fires.map((f) => f.outcome);
    await vi.waitFor(
      async () => {
        const [skip, queue, allow] = await Promise.all(made.map(([, id]) => outcomes(id)));
        expect(skip!.filter((o) => o === 'skipped').length).toBeGreaterThanOrEqual(2);
        expect(queue!.filter((o) => o === 'waiting').length).toBeGreaterThanOrEqual(2);
        expect(allow!.filter((o) => o === 'started').length).toBeGreaterThanOrEqual(3);
      },
      { timeout: 20_000, interval: 250 },
    );
    for (const [, id] of made) await operator.patch(`/api/schedules/${id}`, { enabled: false });
    const fires = Object.fromEntries(
      await Promise.all(made.map(async ([o, id]) => [o, (await detail(id)).fires] as const)),
    );
    const count = (o: string, outcome: string) =>
      fires[o]!.filter((f) => f.outcome === outcome).length;
    // skip: one run, the rest skipped because it still goes.
    expect(count('skip', 'started')).toBe(1);
    expect(count('skip', 'skipped')).toBeGreaterThanOrEqual(2);
    // (A fire claimed just before the pause is skipped as paused: the pause may land in between.)
    const reasons = fires.skip!.filter((f) => f.outcome === 'skipped').map((f) => f.reason);
    expect(reasons.some((r) => /still going/.test(r ?? ''))).toBe(true);
    expect(reasons.every((r) => /still going|paused/.test(r ?? ''))).toBe(true);
    // queue: one run, the rest waiting behind it; allow: one run per fire. The first waiting fire
    // is taken again at every tick to see whether the run ended: caught at that moment it reads
    // `claimed`, and once taken after the pause it is skipped as paused (CI saw both).
    expect(count('queue', 'started')).toBe(1);
    const behind = fires.queue!.filter((f) => f.outcome !== 'started');
    expect(behind.length).toBeGreaterThanOrEqual(2);
    for (const f of behind)
      expect(
        f.outcome === 'waiting' || f.outcome === 'claimed' || /paused/.test(f.reason ?? ''),
        `${f.outcome}: ${f.reason}`,
      ).toBe(true);
    expect(count('allow', 'started')).toBeGreaterThanOrEqual(3);
    // Once the runs end, the queued fires run one after another.
    await wait.go();
    const queued = made.find(([o]) => o === 'queue')![1];
    await vi.waitFor(
      async () => {
        const f = (await detail(queued)).fires;
        expect(f.filter((x) => x.outcome === 'waiting')).toHaveLength(0);
      },
      { timeout: 15_000, interval: 250 },
    );
  });

  it('settles fires its instance claimed before it crashed: started once, or found started', async () => {
    const { body: s } = await create(operator, { name: 'crashed', cron: '0 0 1 1 *', run: hello });
    const old = new Date('2000-01-01T00:00:00Z');
    const claim = async (fireAt: string) =>
      String(
        (
          await t.db.db
            .insertInto('schedule_fires')
            .values({
              schedule_id: s.id,
              fire_at: new Date(fireAt),
              outcome: 'claimed',
              instance_id: 'default',
              updated_at: old,
            })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id,
      );
    // One died before it started the job; one after (its job is there, the fire not yet settled).
    const before = await claim('2026-01-01T00:00:00Z');
    const after = await claim('2026-01-02T00:00:00Z');
    const started = (await (await operator.post('/api/jobs/stream', hello.request)).json()) as {
      jobId: string;
    };
    await t.db.db
      .updateTable('jobs')
      .set({ schedule_fire_id: after } as never)
      .where('id', '=', started.jobId)
      .execute();
    await vi.waitFor(
      async () => {
        const fires = (await detail(s.id)).fires;
        expect(fires.map((f) => f.outcome)).toEqual(['started', 'started']);
        expect(fires.find((f) => f.fireAt.startsWith('2026-01-02'))?.jobId).toBe(started.jobId);
      },
      { timeout: 5_000, interval: 200 },
    );
    const jobs = await t.db.db
      .selectFrom('jobs')
      .select('id')
      .where('schedule_fire_id', 'in', [before, after])
      .execute();
    expect(jobs).toHaveLength(2);
    await operator.patch(`/api/schedules/${s.id}`, { enabled: false });
  });

  it('skips the fires missed while no instance ran, or runs once for them', async () => {
    const repo = new SchedulesRepository(t.db.db);
    const ids: Record<string, string> = {};
    for (const missed of ['skip', 'once'] as const) {
      const { body } = await create(operator, {
        name: `missed ${missed}`,
        cron: '0 0 * * * *',
        run: hello,
        missed,
        enabled: false,
      });
      ids[missed] = body.id;
    }
    // As if every instance had been down for three hours and more: due at the top of the hour
    // three hours ago, missed then and at each top of the hour since (four fires).
    const tenAgo = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000);
    for (const id of Object.values(ids))
      await t.db.db
        .updateTable('schedules')
        .set({ enabled: true, next_fire_at: tenAgo })
        .where('id', '=', id)
        .execute();
    // One tick of a second scheduler (the real one may take them first: either way, once).
    await new Scheduler({
      schedules: repo,
      service: t.services.schedules,
      instanceId: 'other',
      log: silent,
    }).tick();
    await vi.waitFor(
      async () => {
        const skip = (await detail(ids.skip!)).fires;
        const once = (await detail(ids.once!)).fires;
        expect(skip).toHaveLength(1);
        expect(skip[0]).toMatchObject({ outcome: 'skipped', jobId: null });
        expect(skip[0]!.reason).toMatch(/^missed 4 fires while no instance was running from /);
        expect(once).toHaveLength(1);
        expect(once[0]).toMatchObject({ outcome: 'started' });
        expect(once[0]!.reason).toMatch(/^run once for 4 missed fires/);
      },
      { timeout: 5_000, interval: 200 },
    );
    for (const id of Object.values(ids)) {
      const s = (await detail(id)) as Schedule;
      expect(new Date(s.nextRuns[0]!).getTime()).toBeGreaterThan(Date.now());
      await operator.patch(`/api/schedules/${id}`, { enabled: false });
    }
  });

  it('fires once on each day across DST changes in Europe/Berlin, with a clock it is given', async () => {
    const repo = new SchedulesRepository(t.db.db);
    // 02:30 does not exist on 2027-03-28 in Berlin and happens twice on 2027-10-31.
    const { body: s } = await create(operator, {
      name: 'dst',
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
      run: hello,
      enabled: false,
    });
    let clock = new Date('2027-03-26T12:00:00Z');
    // Only this schedule runs on the clock the test moves.
    await t.db.db
      .updateTable('schedules')
      .set({ enabled: false })
      .where('id', '<>', s.id)
      .execute();
    const fired: string[] = [];
    const scheduler = new Scheduler({
      schedules: repo,
      service: {
        fire: async (f) => {
          fired.push(f.fire_at.toISOString());
          await repo.settle(f.id, 'skipped', { reason: 'counted by the test' });
        },
      },
      instanceId: 'dst-test',
      log: silent,
      now: () => clock,
    });
    await t.db.db
      .updateTable('schedules')
      .set({ enabled: true, next_fire_at: new Date('2027-03-27T01:30:00Z') })
      .where('id', '=', s.id)
      .execute();
    // Walk the clock a quarter of an hour at a time over both changes.
    const walk = async (from: string, to: string) => {
      for (
        clock = new Date(from);
        clock < new Date(to);
        clock = new Date(clock.getTime() + 15 * 60_000)
      )
        await (
          await scheduler.tick()
        ).settled;
    };
    await walk('2027-03-27T00:00:00Z', '2027-03-30T00:00:00Z');
    await t.db.db
      .updateTable('schedules')
      .set({ next_fire_at: new Date('2027-10-30T00:30:00Z') })
      .where('id', '=', s.id)
      .execute();
    await walk('2027-10-30T00:00:00Z', '2027-11-02T00:00:00Z');
    await t.db.db.updateTable('schedules').set({ enabled: false }).where('id', '=', s.id).execute();
    expect(fired).toEqual([
      '2027-03-27T01:30:00.000Z', // 02:30 CET
      '2027-03-28T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST, once
      '2027-03-29T00:30:00.000Z', // 02:30 CEST
      '2027-10-30T00:30:00.000Z', // 02:30 CEST
      '2027-10-31T00:30:00.000Z', // 02:30 happens twice: the first, once
      '2027-11-01T01:30:00.000Z', // 02:30 CET
    ]);
  });
});

const silent = { warn: () => {}, info: () => {}, error: () => {}, debug: () => {} } as never;
