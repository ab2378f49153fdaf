// The cron and interval arithmetic of schedules, on a clock the test sets.
import { cronError, nextFires } from '@vmo/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeRun, MISSED_AFTER_MS, planFires, timetableOf } from './timetable.js';

const at = (iso: string) => new Date(iso);
const iso = (ds: Date[]) => ds.map((d) => d.toISOString());
const cron = (expr: string, timezone = 'UTC') => ({
  cron: expr,
  every_seconds: null,
  timezone,
  anchor: at('2026-01-01T00:00:00Z'),
});

describe('schedule timetables', () => {
  beforeEach(() => vi.useFakeTimers({ now: at('2026-12-04T10:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  it('reads cron with or without seconds, in a time zone, and refuses what croner refuses', () => {
    expect(
      iso(nextFires(timetableOf(cron('0 6 * * 1-5', 'Europe/Berlin')), new Date(), 3)),
    ).toEqual([
      '2026-12-07T05:00:00.000Z', // Monday 06:00 CET
      '2026-12-08T05:00:00.000Z',
      '2026-12-09T05:00:00.000Z',
    ]);
    expect(iso(nextFires(timetableOf(cron('*/20 * * * * *')), new Date(), 3))).toEqual([
      '2026-12-04T10:00:20.000Z',
      '2026-12-04T10:00:40.000Z',
      '2026-12-04T10:01:00.000Z',
    ]);
    expect(cronError('0 6 * * 1-5')).toBeNull();
    expect(cronError('0 25 * * *')).toMatch(/^not a cron expression/);
    expect(cronError('* * * * * * *')).toMatch(/has 7$/);
  });

  it('counts intervals from their anchor, never returning the time asked after', () => {
    const t = {
      cron: null,
      every_seconds: 90,
      timezone: 'UTC',
      anchor: at('2026-12-04T09:59:00Z'),
    };
    expect(iso(nextFires(timetableOf(t), new Date(), 2))).toEqual([
      '2026-12-04T10:00:30.000Z',
      '2026-12-04T10:02:00.000Z',
    ]);
    expect(iso(nextFires(timetableOf(t), at('2026-12-04T10:00:30Z'), 1))).toEqual([
      '2026-12-04T10:02:00.000Z',
    ]);
  });

  it('keeps a fixed time once a day across both DST changes in New York', () => {
    const t = timetableOf(cron('30 2 * * *', 'America/New_York'));
    // 2027-03-14: 02:30 does not exist; 2027-11-07: 01:00–02:00 happens twice (02:30 once).
    expect(iso(nextFires(t, at('2027-03-13T00:00:00Z'), 3))).toEqual([
      '2027-03-13T07:30:00.000Z',
      '2027-03-14T07:00:00.000Z', // 03:00 EDT, after the gap
      '2027-03-15T06:30:00.000Z',
    ]);
    expect(iso(nextFires(t, at('2027-11-06T00:00:00Z'), 3))).toEqual([
      '2027-11-06T06:30:00.000Z',
      '2027-11-07T07:30:00.000Z',
      '2027-11-08T07:30:00.000Z',
    ]);
  });

  it('claims the fires due on time, and skips or runs once for those missed', () => {
    const s = (missed: 'skip' | 'once', next: string) => ({
      ...cron('0 * * * * *'),
      missed,
      next_fire_at: at(next),
    });
    const now = new Date();
    // On time: the fire due now and the one a second late are both claimed.
    expect(
      planFires(
        { ...cron('* * * * * *'), missed: 'skip', next_fire_at: at('2026-12-04T09:59:59Z') },
        now,
      ),
    ).toEqual({
      fires: [
        { fireAt: at('2026-12-04T09:59:59Z'), outcome: 'claimed', reason: null },
        { fireAt: at('2026-12-04T10:00:00Z'), outcome: 'claimed', reason: null },
      ],
      next: at('2026-12-04T10:00:01Z'),
    });
    // Down for an hour: 60 fires missed, the one now on time.
    const skipped = planFires(s('skip', '2026-12-04T09:00:00Z'), now);
    expect(skipped.fires).toEqual([
      {
        fireAt: at('2026-12-04T09:59:00Z'),
        outcome: 'skipped',
        reason:
          'missed 60 fires while no instance was running from 2026-12-04T09:00:00.000Z to 2026-12-04T09:59:00.000Z',
      },
      { fireAt: at('2026-12-04T10:00:00Z'), outcome: 'claimed', reason: null },
    ]);
    expect(skipped.next).toEqual(at('2026-12-04T10:01:00Z'));
    const once = planFires(
      s('once', '2026-12-04T09:59:00Z'),
      new Date(Date.now() + MISSED_AFTER_MS),
    );
    expect(once.fires[0]).toEqual({
      fireAt: at('2026-12-04T09:59:00Z'),
      outcome: 'claimed',
      reason: 'run once for 1 missed fire',
    });
    // Nothing due yet: nothing, and the same next time.
    expect(planFires(s('skip', '2026-12-04T10:01:00Z'), now)).toEqual({
      fires: [],
      next: at('2026-12-04T10:01:00Z'),
    });
  });

  it('reads what a schedule runs as its job would', () => {
    expect(
      describeRun({
        kind: 'stream',
        request: {
          alias: 'shop',
          target: 'deploy',
          args: { ENV: 'prod' },
          hostAlias: 'vm:prod/app9',
        },
      }),
    ).toBe('shop: make deploy ENV=prod @ prod/app9');
    expect(describeRun({ kind: 'ssh', request: { hostAlias: 'web1', preset: 'disk-usage' } })).toBe(
      'disk-usage @ web1',
    );
    expect(
      describeRun({
        kind: 'fanout',
        request: { environment: 'staging', alias: 'shop', target: 'status' },
      }),
    ).toBe('fanout staging -- shop: make status');
    expect(
      describeRun({
        kind: 'fanout',
        request: { hostAliases: ['vm:prod/a', 'b'], preset: 'uptime' },
      }),
    ).toBe('fanout prod/a, b -- uptime');
  });
});
