// Paging a job's output from its end against a fake of GET /api/jobs/:id/tail built on the same
// line marks the server stores.
import {
  advanceLines,
  streamsIn,
  type JobEvent,
  type LineState,
  type TailCursor,
  type TailPage,
} from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import { LogHistory, OPEN_BYTES, PAGE_BYTES } from './log-history.svelte.js';
import { LogLines } from './log-lines.svelte.js';

/**
 * `n` events of 10 lines each; pages of `perPage` events' lines (or `lines` lines), which start
 * and end inside an event where that count says so, as the server cuts them (`nextCut`).
 */
function fakeServer(
  n: number,
  perPage: number,
  opts: { marks?: boolean; failAt?: number; lines?: number } = {},
) {
  const lineOf = (seq: number, k: number) => `event ${seq} line ${k + 1}\n`;
  const events: JobEvent[] = Array.from({ length: n }, (_, i) => ({
    seq: i + 1,
    stream: 'stdout',
    chunk: Array.from({ length: 10 }, (_, k) => lineOf(i + 1, k)).join(''),
    ts: i,
  }));
  const before: LineState[] = [{ lines: 0, open: 0 }];
  for (const e of events) before.push(advanceLines(before.at(-1)!, e.stream, e.chunk));
  /** Bytes of event `seq` before its line `k` (0-based), and the inverse. */
  const bytesBefore = (seq: number, k: number) =>
    Array.from({ length: k }, (_, j) => lineOf(seq, j).length).reduce((a, b) => a + b, 0);
  const linesIn = (seq: number, cut: number) => {
    let k = 0;
    while (bytesBefore(seq, k) < cut) k++;
    expect(bytesBefore(seq, k)).toBe(cut); // a cut is always at a line's start
    return k;
  };
  const pageLines = opts.lines ?? perPage * 10;
  const calls: (TailCursor | null)[] = [];
  const fetch = (at: TailCursor | null, bytes: number): Promise<TailPage> => {
    calls.push(at);
    expect(bytes).toBe(at === null ? OPEN_BYTES : PAGE_BYTES);
    if (opts.failAt !== undefined && at?.before === opts.failAt)
      return Promise.reject(new Error('503'));
    // Lines of the whole output, 0-based: the page is [from, to).
    const to =
      at === null
        ? n * 10
        : (at.before - 1) * 10 + (at.cut === null ? 0 : linesIn(at.before, at.cut));
    const from = Math.max(0, to - pageLines);
    const page: JobEvent[] = [];
    for (let line = from; line < to;) {
      const seq = Math.floor(line / 10) + 1;
      const upTo = Math.min(to, seq * 10);
      const chunk = Array.from({ length: upTo - line }, (_, j) =>
        lineOf(seq, line - (seq - 1) * 10 + j),
      );
      page.push({ ...events[seq - 1]!, chunk: chunk.join('') });
      line = upTo;
    }
    const firstSeq = Math.floor(from / 10) + 1;
    const inside = from % 10;
    return Promise.resolve({
      events: page,
      lineStart: opts.marks === false ? null : from,
      open: streamsIn(before[firstSeq - 1]!.open),
      nextBefore: from > 0 ? firstSeq : null,
      nextCut: from > 0 && inside > 0 ? bytesBefore(firstSeq, inside) : null,
    });
  };
  return { events, fetch, calls };
}

describe(LogHistory.name, () => {
  it('opens at the end, then loads earlier pages one at a time until the start', async () => {
    const server = fakeServer(25, 10);
    const lines = new LogLines();
    const history = new LogHistory(lines, server.fetch);
    expect(await history.open()).toBe(25);
    expect([lines.before, lines.total, history.more]).toEqual([150, 250, true]);
    expect(lines.at(0)!.text).toBe('event 16 line 1');
    expect(history.progress).toBeCloseTo(10 / 25);

    // Two calls at once fetch one page.
    await Promise.all([history.loadEarlier(), history.loadEarlier()]);
    expect(server.calls).toEqual([null, { before: 16, cut: null }]);
    expect(lines.before).toBe(50);
    await history.loadUntil(30);
    expect([lines.before, history.more, history.progress]).toEqual([0, false, 1]);
    expect(lines.numberOf(0)).toBe(1);
    expect(lines.at(249)!.text).toBe('event 25 line 10');
    await history.loadAll(); // nothing left: no call
    expect(server.calls).toEqual([null, { before: 16, cut: null }, { before: 6, cut: null }]);
  });

  it('joins pages that start and end inside an event, every line once and numbered', async () => {
    const server = fakeServer(7, 0, { lines: 15 });
    const lines = new LogLines();
    const history = new LogHistory(lines, server.fetch);
    expect(await history.open()).toBe(7);
    expect([lines.before, lines.at(0)!.text]).toEqual([55, 'event 6 line 6']);
    await history.loadAll();
    const cut = (seq: number, k: number) => ({
      before: seq,
      cut: Array.from({ length: k }, (_, j) => `event ${seq} line ${j + 1}\n`.length).reduce(
        (a, b) => a + b,
      ),
    });
    expect(server.calls).toEqual([
      null,
      cut(6, 5),
      { before: 5, cut: null },
      cut(3, 5),
      { before: 2, cut: null },
    ]);
    expect([lines.before, lines.count, lines.total, history.more]).toEqual([0, 70, 70, false]);
    for (let i = 0; i < 70; i++) {
      expect(lines.numberOf(i)).toBe(i + 1);
      expect(lines.at(i)!.text).toBe(`event ${Math.floor(i / 10) + 1} line ${(i % 10) + 1}`);
    }
  });

  it('says to read from the start when the output has no line marks, loading nothing', async () => {
    const lines = new LogLines();
    const history = new LogHistory(lines, fakeServer(5, 2, { marks: false }).fetch);
    expect(await history.open()).toBe(0);
    expect([lines.count, lines.before, history.more]).toEqual([0, 0, false]);
  });

  it('opens an empty job with nothing to load before it', async () => {
    const lines = new LogLines();
    const history = new LogHistory(lines, fakeServer(0, 2).fetch);
    expect(await history.open()).toBe(0);
    expect(history.more).toBe(false);
  });

  it('stops with the reason when a page cannot be fetched', async () => {
    const server = fakeServer(6, 2, { failAt: 5 });
    const lines = new LogLines();
    const history = new LogHistory(lines, server.fetch);
    await history.open();
    await history.loadAll();
    expect(history.error).toMatch(/Earlier output could not be loaded: 503/);
    expect(history.more).toBe(false);
    expect([lines.before, history.loading]).toEqual([40, false]);
  });
});
