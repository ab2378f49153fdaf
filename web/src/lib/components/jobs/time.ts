// Durations and timestamps as people read them in a job list.

/** `850 ms`, `12.3 s`, `4m 05s`, `2h 03m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** A local date and time, to the second. */
export function formatTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, {
    dateStyle: 'medium',
    timeStyle: 'medium',
    hour12: false,
  });
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
];

/**
 * How long ago (or how soon) `iso` is from `now`: "now", "42 sec. ago", "5 min. ago", "in 3 hr.",
 * "yesterday"; a week or more away, the date itself.
 */
/** Made once: building a formatter loads the locale's data (tens of ms on a job page's first render). */
let relative: Intl.RelativeTimeFormat | null = null;

export function formatRelative(iso: string, now: number): string {
  const then = new Date(iso).getTime();
  let amount = (then - now) / 1000;
  if (Math.abs(amount) < 5) return 'now';
  const words = (relative ??= new Intl.RelativeTimeFormat(undefined, {
    numeric: 'auto',
    style: 'short',
  }));
  for (const [unit, size] of UNITS) {
    if (Math.abs(amount) < size) return words.format(Math.trunc(amount), unit);
    amount /= size;
  }
  return new Date(iso).toLocaleDateString(undefined, { dateStyle: 'medium' });
}
