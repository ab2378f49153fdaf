import { describe, expect, it } from 'vitest';
import { describeRuns, statsByTarget } from './run-stats.js';

describe('run statistics in words', () => {
  it('counts the runs by outcome and gives the median', () => {
    expect(
      describeRuns({ target: 'b', recent: ['success', 'failed', 'success'], medianMs: 1500 }),
    ).toBe('Last 3 runs: 2 succeeded, 1 failed · median 1.5 s');
    expect(describeRuns({ target: 'b', recent: ['canceled'], medianMs: null })).toBe(
      'Last 1 run: 1 canceled',
    );
    expect(describeRuns(undefined)).toBe('Never run');
    expect(describeRuns({ target: 'b', recent: [], medianMs: null })).toBe('Never run');
  });

  it('indexes statistics by target', () => {
    const map = statsByTarget([{ target: 'a', recent: ['success'], medianMs: 5 }]);
    expect(map.get('a')?.medianMs).toBe(5);
    expect(map.has('b')).toBe(false);
  });
});
