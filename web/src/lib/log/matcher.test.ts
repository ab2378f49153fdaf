import { describe, expect, it } from 'vitest';
import { isMatcher, makeMatcher } from './matcher.js';

const ranges = (o: Parameters<typeof makeMatcher>[0], text: string) => {
  const m = makeMatcher(o);
  if (!isMatcher(m)) throw new Error('no matcher');
  return m.ranges(text);
};

describe('the log search', () => {
  it('finds text in any case, or in its case', () => {
    expect(ranges({ query: 'err' }, 'Err: an error')).toEqual([
      [0, 3],
      [8, 11],
    ]);
    expect(ranges({ query: 'err', caseSensitive: true }, 'Err: an error')).toEqual([[8, 11]]);
    expect(makeMatcher({ query: '   ' })).toBeNull();
  });

  it('takes regular expressions, skipping empty matches, and says why one is broken', () => {
    expect(ranges({ query: 'exit code [0-9]+', regex: true }, 'Exit code 2, exit code 17')).toEqual(
      [
        [0, 11],
        [13, 25],
      ],
    );
    expect(ranges({ query: 'x*', regex: true }, 'axxb')).toEqual([[1, 3]]);
    expect(makeMatcher({ query: '(open', regex: true })).toEqual({
      error: expect.stringMatching(/\(open/),
    });
  });
});
