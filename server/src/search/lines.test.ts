import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { advanceLines, type Stream } from '@vmo/protocol';
import { closeLines, feedLines, freshLines, numbersOf, toBlocks, type DoneLine } from './lines.js';

/** Every line of some output, fed event by event, then closed. */
function linesOf(events: [Stream, string][]): DoneLine[] {
  const state = freshLines();
  const done: DoneLine[] = [];
  for (const [stream, chunk] of events) feedLines(state, stream, chunk, done);
  closeLines(state, done);
  return done.sort((a, b) => a.no - b.no);
}

describe('the lines a user sees, for search', () => {
  it('joins a line split across events, and numbers lines per stream as the viewer does', () => {
    expect(
      linesOf([
        ['stdout', 'one\ntw'],
        ['stderr', 'warn'],
        ['stdout', 'o\n'],
        ['stderr', 'ing\n\n'],
        ['system', 'exited with code 0'],
      ]),
    ).toEqual([
      { no: 1, text: 'one' },
      { no: 2, text: 'two' },
      { no: 3, text: 'warning' },
      { no: 4, text: '' },
      { no: 5, text: 'exited with code 0' },
    ]);
  });

  it('keeps a progress line as it ended up, and drops escape codes and NUL bytes', () => {
    expect(
      linesOf([
        ['stdout', 'downloading  10%\rdownloading  50%\r'],
        ['stdout', 'downloading 100%\r\n'],
        ['stdout', '\x1b[1;31merror:\x1b[0m disk \x1b]8;;http://x\x07full\x1b]8;;\x07\n'],
        ['stdout', 'tab\there\0\n\uFFFD bad byte\n'],
        ['stdout', 'ready\r\x1b[K\n'],
      ]).map((l) => l.text),
    ).toEqual(['downloading 100%', 'error: disk full', 'tab\there', '\uFFFD bad byte', '']);
  });

  it('numbers lines exactly as the stored line marks count them', () => {
    const stream = fc.constantFrom<Stream>('stdout', 'stderr', 'system');
    const chunk = fc.stringMatching(/^[ab\n\r]{1,12}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(stream, chunk), { maxLength: 30 }), (events) => {
        let marks = { lines: 0, open: 0 };
        for (const [s, c] of events) marks = advanceLines(marks, s, c);
        const lines = linesOf(events);
        expect(lines.map((l) => l.no)).toEqual(lines.map((_, i) => i + 1));
        expect(lines.length).toBe(marks.lines);
      }),
    );
  });

  it('cuts lines into blocks, keeping the numbers of interleaved lines', () => {
    const lines = [
      { no: 1, text: 'a'.repeat(40) },
      { no: 2, text: 'b'.repeat(40) },
      { no: 4, text: 'd' },
      { no: 3, text: 'c' },
      { no: 5, text: 'e'.repeat(200) },
    ];
    const blocks = toBlocks(lines, 100);
    expect(blocks).toEqual([
      { firstLine: 1, lineNos: [1, 2, 4, 3], body: `${'a'.repeat(40)}\n${'b'.repeat(40)}\nd\nc` },
      { firstLine: 5, lineNos: null, body: 'e'.repeat(200) },
    ]);
    expect(numbersOf(blocks[0]!, 4)).toEqual([1, 2, 4, 3]);
    expect(numbersOf(blocks[1]!, 1)).toEqual([5]);
    expect(toBlocks(lines.slice(0, 2))).toEqual([
      { firstLine: 1, lineNos: null, body: `${'a'.repeat(40)}\n${'b'.repeat(40)}` },
    ]);
    expect(toBlocks([])).toEqual([]);
  });
});
