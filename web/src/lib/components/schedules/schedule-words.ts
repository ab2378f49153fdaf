// A schedule's timetable read back in words ("At 06:00, Monday through Friday, Europe/Berlin"),
// by cronstrue, and its fire times as its time zone has them.
import cronstrue from 'cronstrue';
import { cronError } from '@vmo/protocol';

/** "every 90 seconds", "every 5 minutes", "every 2 hours", "every day". */
export function everyInWords(seconds: number): string {
  const units: [number, string][] = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [size, name] of units)
    if (seconds % size === 0) {
      const n = seconds / size;
      return n === 1 ? `every ${name}` : `every ${n} ${name}s`;
    }
  return `every ${seconds} seconds`;
}

/** The timetable in words, or why the expression is wrong. */
export function whenInWords(
  when: { cron: string | null; everySeconds: number | null },
  timezone: string,
): { text: string; error: boolean } {
  if (when.everySeconds !== null) return { text: everyInWords(when.everySeconds), error: false };
  const expr = (when.cron ?? '').trim();
  const problem = cronError(expr);
  if (problem) return { text: problem, error: true };
  try {
    const words = cronstrue.toString(expr, { use24HourTimeFormat: true, verbose: false });
    return { text: `${words}, ${timezone}`, error: false };
  } catch (err) {
    return { text: String(err), error: true };
  }
}

/** A fire time as its schedule's zone has it: "Mon 7 Dec, 06:00". */
export function inZone(iso: string, timezone: string): string {
  return new Date(iso).toLocaleString(undefined, {
    timeZone: timezone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });
}

/** Every zone this browser knows, the given one first if it does not. */
export function timeZones(current: string): string[] {
  const all =
    typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const list = all.includes('UTC') ? all : ['UTC', ...all];
  return list.includes(current) ? list : [current, ...list];
}
