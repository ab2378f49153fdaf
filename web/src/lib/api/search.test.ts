import { describe, expect, it } from 'vitest';
import { highlight, searchFromUrl, searchToUrl } from './search.js';

describe('search in the browser', () => {
  it('cuts a line into its matches, overlapping or out of order ranges included', () => {
    expect(highlight('error: disk full', [[0, 5]])).toEqual([
      { text: 'error', hit: true },
      { text: ': disk full', hit: false },
    ]);
    expect(
      highlight('aaaa', [
        [2, 4],
        [0, 3],
      ]),
    ).toEqual([
      { text: 'aaa', hit: true },
      { text: 'a', hit: true },
    ]);
    expect(highlight('', [])).toEqual([{ text: '', hit: false }]);
    expect(highlight('abc', [[5, 9]])).toEqual([{ text: 'abc', hit: false }]);
  });

  it('keeps the search in the URL and reads it back', () => {
    const r = {
      q: 'E4711 failed',
      regex: true,
      caseSensitive: false,
      status: 'failed',
      project: '',
      user: 'me',
    };
    const url = searchToUrl(r);
    expect(url).toBe('?q=E4711+failed&regex=1&status=failed&user=me');
    expect(searchFromUrl(new URLSearchParams(url))).toEqual({ ...r, project: '' });
    expect(searchToUrl({ q: '' })).toBe('');
  });
});
