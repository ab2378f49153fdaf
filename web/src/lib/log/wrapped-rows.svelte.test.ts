import type { JobEvent } from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import { LogLines } from './log-lines.svelte.js';
import { MergedLines } from './merged-lines.svelte.js';
import { WrappedRows } from './wrapped-rows.svelte.js';

let seq = 0;
const ev = (chunk: string): JobEvent => ({ seq: ++seq, stream: 'stdout', chunk, ts: 1000 + seq });

describe(WrappedRows.name, () => {
  it('gives each line the rows its text needs, and maps rows back to lines', () => {
    const lines = new LogLines();
    lines.append([ev(`short\n${'x'.repeat(25)}\n\nend\n`)]);
    const rows = new WrappedRows(lines);
    rows.cols = 10;
    // "short" 1, 25 x's 3, "" 1, "end" 1.
    expect(rows.count).toBe(6);
    expect([0, 1, 2, 3, 4, 5].map((r) => rows.numberOf(r))).toEqual([1, 2, 2, 2, 3, 4]);
    expect(rows.indexOf(3)).toBe(4);
    expect(rows.indexOf(99)).toBe(-1);
    expect(rows.numberOf(6)).toBeNull();
    rows.cols = 30;
    expect(rows.count).toBe(4);
  });

  it('counts the text as shown: colour codes take no cells', () => {
    const lines = new LogLines();
    lines.append([ev(`\x1b[31m${'r'.repeat(10)}\x1b[0m\n`)]);
    const rows = new WrappedRows(lines);
    rows.cols = 10;
    expect(rows.count).toBe(1);
  });

  it('follows a line that grows, and new lines', () => {
    const lines = new LogLines();
    const rows = new WrappedRows(lines);
    rows.cols = 4;
    lines.append([ev('abc')]);
    expect(rows.count).toBe(1);
    const version = rows.version;
    lines.append([ev('defgh\nij\n')]);
    expect(rows.version).not.toBe(version);
    expect(rows.count).toBe(3); // "abcdefgh" 2, "ij" 1
  });

  it('keeps positions when lines are prepended or dropped, so a reader keeps their place', () => {
    const lines = new LogLines({ maxLines: 100 });
    lines.start({ lineStart: 2, open: [] });
    lines.append([ev(`${'c'.repeat(20)}\nd\n`)]);
    const rows = new WrappedRows(lines);
    rows.cols = 10;
    const placeOfD = rows.origin + rows.indexOf(4);
    lines.prepend([ev(`${'a'.repeat(30)}\nb\n`)], { lineStart: 0, open: [] });
    expect(rows.count).toBe(3 + 1 + 2 + 1);
    expect(rows.origin + rows.indexOf(4)).toBe(placeOfD);

    const many = new LogLines({ maxLines: 100 });
    many.append([ev(`${'w'.repeat(25)}\n`)]);
    const wrapped = new WrappedRows(many);
    wrapped.cols = 10;
    many.append([ev('x\n'.repeat(98))]);
    const placeOf50 = wrapped.origin + wrapped.indexOf(50);
    many.append([ev('y\n'.repeat(5))]); // past 100: the oldest tenth goes
    expect(many.dropped).toBeGreaterThan(0);
    expect(wrapped.origin + wrapped.indexOf(50)).toBe(placeOf50);
  });

  it("starts a reader's place over when a merged view shows other lines, as the lines do", () => {
    const merged = new MergedLines();
    merged.append([
      { ...ev(`${'a'.repeat(25)}\nshort\n`), source: 'a' },
      { ...ev('b one\nb two\n'), source: 'b' },
    ]);
    const rows = new WrappedRows(merged);
    rows.cols = 10;
    const before = rows.origin + rows.count; // past the last row shown
    merged.show(new Set(['b']));
    expect(rows.count).toBe(2);
    expect(rows.origin).toBeGreaterThan(before);
  });

  it('lays out many lines, and finds any of them', () => {
    const lines = new LogLines();
    let chunk = '';
    for (let i = 0; i < 100_000; i++) chunk += `line ${i + 1} of a long job, wrapped\n`;
    lines.append([ev(chunk)]);
    const rows = new WrappedRows(lines);
    rows.cols = 20;
    const t0 = performance.now();
    expect(rows.count).toBe(200_000);
    lines.append([ev('one more\n')]);
    const t1 = performance.now();
    expect(rows.count).toBe(200_001);
    const t2 = performance.now();
    console.log(`layout ${(t1 - t0).toFixed(1)} ms, again ${(t2 - t1).toFixed(1)} ms`);
    expect(rows.numberOf(rows.indexOf(76_543))).toBe(76_543);
    expect(rows.numberOf(rows.indexOf(76_543) + 1)).toBe(76_543);
  });
});
