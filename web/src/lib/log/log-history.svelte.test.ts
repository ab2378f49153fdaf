// Paging a job's output from its end against a fake of GET /api/jobs/:id/tail built on the same
// line marks the server stores.
import {
  advanceLines,
  streamsIn,
  type JobEvent,
  type LineState,
  type TailPage,
} from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import { LogHistory, OPEN_BYTES, PAGE_BYTES } from './log-history.svelte.js';
import { LogLines } from './log-lines.svelte.js';

/** `n` events of 10 lines each; pages of `perPage` events. */
function fakeServer(n: number, perPage: number, opts: { marks?: boolean; failAt?: number } = {}) {
  const events: JobEvent[] = Array.from({ length: n }, (_, i) => ({
    seq: i + 1,
    stream: 'stdout',
    chunk: Array.from({ length: 10 }, (_, k) => `event ${i + 1} line ${k + 1}\n`).join(''),
    ts: i,
  }));
  const before: LineState[] = [{ lines: 0, open: 0 }];
  for (const e of events) before.push(advanceLines(before.at(-1)!, e.stream, e.chunk));
  const calls: (number | null)[] = [];
  const fetch = (at: number | null, bytes: number): Promise<TailPage> => {
    calls.push(at);
    expect(bytes).toBe(at === null ? OPEN_BYTES : PAGE_BYTES);
    if (opts.failAt !== undefined && at === opts.failAt) return Promise.reject(new Error('503'));
    const end = (at ?? n + 1) - 1;
    const page = events.slice(Math.max(0, end - perPage), end);
    const first = page[0]?.seq ?? 1;
    const state = before[first - 1]!;
    return Promise.resolve({
      events: page,
      lineStart: opts.marks === false ? null : state.lines,
      open: streamsIn(state.open),
      nextBefore: first > 1 ? first : null,
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
    expect(server.calls).toEqual([null, 16]);
    expect(lines.before).toBe(50);
    await history.loadUntil(30);
    expect([lines.before, history.more, history.progress]).toEqual([0, false, 1]);
    expect(lines.numberOf(0)).toBe(1);
    expect(lines.at(249)!.text).toBe('event 25 line 10');
    await history.loadAll(); // nothing left: no call
    expect(server.calls).toEqual([null, 16, 6]);
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
