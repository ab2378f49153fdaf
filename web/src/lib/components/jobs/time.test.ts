import { describe, expect, it } from 'vitest';
import { formatDuration, formatRelative } from './time.js';

describe(formatRelative.name, () => {
  const now = Date.parse('2026-12-04T12:00:00Z');
  const at = (secondsFromNow: number) => new Date(now + secondsFromNow * 1000).toISOString();

  it('says how long ago, in the unit that fits', () => {
    expect(formatRelative(at(-2), now)).toBe('now');
    expect(formatRelative(at(-42), now)).toMatch(/42 sec/);
    expect(formatRelative(at(-5 * 60), now)).toMatch(/5 min/);
    expect(formatRelative(at(-3 * 3600), now)).toMatch(/3 hr/);
    expect(formatRelative(at(-26 * 3600), now)).toBe('yesterday');
  });

  it('says how soon for a time to come, and gives the date past a week', () => {
    expect(formatRelative(at(10 * 60), now)).toMatch(/^in 10 min/);
    expect(formatRelative(at(-30 * 86400), now)).toMatch(/2026/);
  });
});

describe(formatDuration.name, () => {
  it('reads as people say it', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_300)).toBe('12.3 s');
    expect(formatDuration(245_000)).toBe('4m 05s');
  });
});
