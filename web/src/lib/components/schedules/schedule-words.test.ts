import { describe, expect, it } from 'vitest';
import { everyInWords, inZone, timeZones, whenInWords } from './schedule-words.js';

describe('schedule words', () => {
  it('reads an expression back, with its zone, and says what is wrong with a bad one', () => {
    expect(whenInWords({ cron: '0 6 * * 1-5', everySeconds: null }, 'Europe/Berlin')).toEqual({
      text: 'At 06:00, Monday through Friday, Europe/Berlin',
      error: false,
    });
    expect(whenInWords({ cron: '*/10 * * * * *', everySeconds: null }, 'UTC').text).toBe(
      'Every 10 seconds, UTC',
    );
    const bad = whenInWords({ cron: '0 25 * * *', everySeconds: null }, 'UTC');
    expect(bad.error).toBe(true);
    expect(bad.text).toMatch(/^not a cron expression/);
    expect(whenInWords({ cron: null, everySeconds: 300 }, 'UTC').text).toBe('every 5 minutes');
  });

  it('names intervals in the largest whole unit', () => {
    expect(everyInWords(1)).toBe('every second');
    expect(everyInWords(90)).toBe('every 90 seconds');
    expect(everyInWords(7200)).toBe('every 2 hours');
    expect(everyInWords(86_400)).toBe('every day');
  });

  it("shows a fire time in the schedule's zone", () => {
    expect(inZone('2026-12-07T05:00:00Z', 'Europe/Berlin')).toMatch(/06:00:00/);
    expect(timeZones('Mars/Base')[0]).toBe('Mars/Base');
    expect(timeZones('UTC')).toContain('Europe/Berlin');
  });
});
