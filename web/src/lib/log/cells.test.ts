import { describe, expect, it } from 'vitest';
import { toSegments } from './ansi.js';
import { rowCount, rowStarts, sliceSegments } from './cells.js';

describe('rowStarts', () => {
  it('cuts plain text every `cols` characters', () => {
    expect(rowStarts('abcdefghij', 4)).toEqual([0, 4, 8]);
    expect(rowStarts('abcd', 4)).toEqual([0]);
    expect(rowStarts('', 4)).toEqual([0]);
    expect(rowCount('abcdefghij', 4)).toBe(3);
    expect(rowCount('', 4)).toBe(1);
  });

  it('breaks after a space when that keeps half the row', () => {
    expect(rowStarts('the quick brown fox', 10)).toEqual([0, 10]);
    // The last space is too early: the row is cut where it is full.
    expect(rowStarts('a bcdefghijklmnop', 10)).toEqual([0, 10]);
    expect(rowStarts('deploying to production-eu-west now', 16)).toEqual([0, 13, 29]);
  });

  it('gives a tab the cells up to the next multiple of 8, counted from its row', () => {
    // "ab" then a tab to cell 8, "cd" to 10: 12 cells a row puts "efgh" on the next.
    expect(rowStarts('ab\tcdefgh', 12)).toEqual([0, 7]);
    // A tab that does not fit starts the next row, where it takes 8 cells.
    expect(rowStarts('abcdefghij\tx', 12)).toEqual([0, 10]);
    expect(rowCount('abcdefghij\tx', 12)).toBe(2);
  });

  it('never splits a surrogate pair', () => {
    const text = 'ab😀cd😀e';
    const starts = rowStarts(text, 3);
    expect(starts).toEqual([0, 4, 8]);
    for (const s of starts) expect(text.codePointAt(s)).not.toBe(0xde00);
  });

  it('counts one row when there is no width yet', () => {
    expect(rowCount('abcdef', 0)).toBe(1);
  });
});

describe('sliceSegments', () => {
  it('takes a row out of coloured segments, keeping their colours', () => {
    const segments = toSegments('\x1b[31mred\x1b[0m plain \x1b[32mgreen\x1b[0m', null);
    expect(segments.map((s) => s.text).join('')).toBe('red plain green');
    const row = sliceSegments(segments, 2, 11);
    expect(row.map((s) => s.text)).toEqual(['d', ' plain ', 'g']);
    expect(row[0]!.classes).toContain('ansi-red-fg');
    expect(row[2]!.classes).toContain('ansi-green-fg');
  });
});
