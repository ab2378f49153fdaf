// Cron arithmetic of schedules (croner), without zod: the schedule form reads an expression back
// and shows its next fires in the browser.
import { Cron } from 'croner';

/** Why croner refuses `expr`, or null when it takes it. */
export function cronError(expr: string): string | null {
  const fields = expr.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6)
    return `a cron expression has 5 fields (minute hour day month weekday), or 6 with seconds first; this has ${fields}`;
  try {
    new Cron(expr, { paused: true, mode: '5-or-6-parts' });
    return null;
  } catch (err) {
    return `not a cron expression: ${(err as Error).message}`;
  }
}

/** When a schedule fires: a cron expression or an interval, in a time zone. */
export interface Timetable {
  cron: string | null;
  everySeconds: number | null;
  timezone: string;
  /** Intervals count from here (the schedule's creation, or its last change of interval). */
  anchor: Date;
}

/**
 * The next `count` fire times strictly after `after`. Cron: croner's, in the time zone, right
 * across DST (a time that does not exist runs after the gap, a repeated one once for a fixed
 * time); interval: anchor + k × every.
 */
export function nextFires(t: Timetable, after: Date, count: number): Date[] {
  if (t.everySeconds !== null) {
    const step = t.everySeconds * 1000;
    const k = Math.max(0, Math.floor((after.getTime() - t.anchor.getTime()) / step) + 1);
    return Array.from({ length: count }, (_, i) => new Date(t.anchor.getTime() + (k + i) * step));
  }
  const cron = new Cron(t.cron ?? '', { paused: true, timezone: t.timezone, mode: '5-or-6-parts' });
  // croner counts from the next whole second after `after`, inclusive: a fire at `after` itself
  // is not a next one.
  return cron.nextRuns(count, new Date(after.getTime() + 1));
}
