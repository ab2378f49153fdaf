// When a schedule fires, from its row, and which of its fires are due when it is claimed: those
// on time start; those missed while no instance ran are skipped or run once (its `missed` policy).
import { nextFires, type Missed, type ScheduleRun, type Timetable } from '@vmo/protocol';
import type { ClaimedFire } from '../db/schedules.repository.js';

/**
 * A fire due more than this before the scheduler looked was missed (no instance was running), not
 * one a little late. A scheduler that has been ticking counts as late, not missed, whatever came
 * due since its previous tick began (see Scheduler.onTimeAfter).
 */
export const MISSED_AFTER_MS = 5_000;
/** At most this many missed fires are counted; past it, the count says "at least". */
const MAX_COUNTED = 1000;

export const timetableOf = (s: {
  cron: string | null;
  every_seconds: number | null;
  timezone: string;
  anchor: Date | string;
}): Timetable => ({
  cron: s.cron,
  everySeconds: s.every_seconds,
  timezone: s.timezone,
  anchor: new Date(s.anchor),
});

/**
 * The fires of a schedule due at `now` (its `next_fire_at` and those after it, up to now), and
 * when it is due next. On time (due at `onTimeAfter` or later): each is claimed. Missed: `skip`
 * records the last one skipped, with how many were missed; `once` claims the last one, run once
 * for all of them.
 */
export function planFires(
  s: { next_fire_at: Date | null; missed: Missed } & Parameters<typeof timetableOf>[0],
  now: Date,
  onTimeAfter = new Date(now.getTime() - MISSED_AFTER_MS),
): { fires: ClaimedFire[]; next: Date | null } {
  const t = timetableOf(s);
  const due: Date[] = [];
  let at: Date | undefined = s.next_fire_at ?? undefined;
  while (at && at.getTime() <= now.getTime() && due.length < MAX_COUNTED) {
    due.push(at);
    at = nextFires(t, at, 1)[0];
  }
  if (at && at.getTime() <= now.getTime()) at = nextFires(t, now, 1)[0];
  const missed = due.filter((d) => d.getTime() < onTimeAfter.getTime());
  const onTime = due.slice(missed.length);
  const fires: ClaimedFire[] = [];
  const last = missed.at(-1);
  if (last) {
    const n = missed.length >= MAX_COUNTED ? `at least ${MAX_COUNTED}` : String(missed.length);
    const span =
      missed.length > 1 ? `from ${missed[0]!.toISOString()} to ${last.toISOString()}` : '';
    fires.push(
      s.missed === 'once'
        ? {
            fireAt: last,
            outcome: 'claimed',
            reason: `run once for ${n} missed ${plural(missed.length)} ${span}`.trim(),
          }
        : {
            fireAt: last,
            outcome: 'skipped',
            reason:
              `missed ${n} ${plural(missed.length)} while no instance was running ${span}`.trim(),
          },
    );
  }
  for (const fireAt of onTime) fires.push({ fireAt, outcome: 'claimed', reason: null });
  return { fires, next: at ?? null };
}

const plural = (n: number) => (n === 1 ? 'fire' : 'fires');

/** What a schedule runs, as a job's command reads: `svc: make deploy @ prod/app9`. */
export function describeRun(run: ScheduleRun): string {
  const where = (h: string | undefined) => (h ? ` @ ${h.replace(/^vm:/, '')}` : '');
  const args = (a: Record<string, string> | undefined) =>
    Object.entries(a ?? {})
      .map(([k, v]) => ` ${k}=${v}`)
      .join('');
  switch (run.kind) {
    case 'stream':
      return `${run.request.alias}: make ${run.request.target}${args(run.request.args)}${where(run.request.hostAlias)}`;
    case 'ssh':
      return 'preset' in run.request
        ? `${run.request.preset}${where(run.request.hostAlias)}`
        : `${run.request.command}${where(run.request.hostAlias)}`;
    case 'fanout': {
      const r = run.request;
      const over =
        r.environment ?? (r.hostAliases ?? []).map((h) => h.replace(/^vm:/, '')).join(', ');
      const what = r.preset ?? `${r.alias}: make ${r.target}${args(r.args)}`;
      return `fanout ${over} -- ${what}`;
    }
  }
}
