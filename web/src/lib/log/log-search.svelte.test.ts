import { describe, expect, it } from 'vitest';
import { LogLines } from './log-lines.svelte.js';
import { LogSearch } from './log-search.svelte.js';

describe('the log search', () => {
  it('finds lines by text or regular expression, in any case or in its case', () => {
    const lines = new LogLines();
    lines.append([
      { seq: 1, stream: 'stdout', chunk: 'ERROR one\nrolled back\n', ts: 0 },
      { seq: 2, stream: 'stderr', chunk: 'make: Error 1\n', ts: 0 },
    ]);
    const search = new LogSearch(lines);
    search.query = 'error';
    expect(search.matches).toEqual([1, 3]);
    search.caseSensitive = true;
    expect(search.matches).toEqual([]);
    search.query = 'ERROR|rolled';
    search.regex = true;
    expect(search.matches).toEqual([1, 2]);
    search.caseSensitive = false;
    expect(search.matches).toEqual([1, 2, 3]);
    search.query = '(broken';
    expect(search.matches).toEqual([]);
    expect(search.error).toMatch(/broken/);
  });
});
