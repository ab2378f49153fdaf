// Reading a job from its end must give the very lines reading it from its start gives: the server's
// line marks (advanceLines) agree with how LogLines splits, and pages prepended in any order of
// live appends join their fragments into the right lines, with the right numbers and colours.
import { advanceLines, streamsIn, type JobEvent, type LineState, type Stream } from '@vmo/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogLines, type LinesStart } from './log-lines.svelte.js';

const piece = fc.constantFrom(
  'a',
  'word ',
  '\n',
  '\r',
  '\r\n',
  '\x1b[31m',
  '\x1b[0m',
  '\x1b[1;4m',
  'é',
  '',
);
const chunk = fc.array(piece, { minLength: 1, maxLength: 8 }).map((p) => p.join('') || 'x');
const stream = fc.constantFrom<Stream>('stdout', 'stderr', 'system', 'stdout');
const output = fc
  .array(fc.tuple(stream, chunk), { minLength: 1, maxLength: 40 })
  .map((list) =>
    list.map(([s, c], i): JobEvent => ({ seq: i + 1, stream: s, chunk: c, ts: 1000 + i })),
  );

/** Where the lines stand before each event (index = seq - 1), and after the last. */
function marks(events: JobEvent[]): LineState[] {
  const out: LineState[] = [{ lines: 0, open: 0 }];
  for (const e of events) out.push(advanceLines(out.at(-1)!, e.stream, e.chunk));
  return out;
}
const startAt = (m: LineState[], index: number): LinesStart => ({
  lineStart: m[index]!.lines,
  open: streamsIn(m[index]!.open),
});

const all = (lines: LogLines) =>
  Array.from({ length: lines.count }, (_, i) => ({
    n: lines.numberOf(i),
    ...lines.at(i)!,
  }));

describe('LogLines read from the end', () => {
  it("counts lines as the server's marks do", () => {
    fc.assert(
      fc.property(output, (events) => {
        const whole = new LogLines();
        whole.append(events);
        expect(whole.total).toBe(marks(events).at(-1)!.lines);
        expect(whole.count).toBe(whole.total);
      }),
    );
  });

  it('ends with the same lines whatever the pages and the live appends between them', () => {
    fc.assert(
      fc.property(
        output,
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        fc.array(fc.boolean(), { maxLength: 12 }),
        (events, cutSeeds, order) => {
          const whole = new LogLines();
          whole.append(events);
          const m = marks(events);
          // Page boundaries (event indexes), the tail from the last one, live events after `live`.
          const n = events.length;
          const cuts = [...new Set(cutSeeds.map((c) => c % (n + 1)))].sort((a, b) => a - b);
          const live = Math.max(cuts.at(-1)!, Math.min(n, cuts.at(-1)! + (cutSeeds[0]! % 3)));
          const tailFrom = cuts.at(-1)!;
          const lines = new LogLines();
          lines.start(startAt(m, tailFrom));
          lines.append(events.slice(tailFrom, live));
          const pages: [number, number][] = [];
          for (let i = cuts.length - 1; i >= 0; i--) pages.push([i ? cuts[i - 1]! : 0, cuts[i]!]);
          let appended = live;
          const step = (prepend: boolean) => {
            if (prepend && pages.length) {
              const [from, to] = pages.shift()!;
              lines.prepend(events.slice(from, to), startAt(m, from));
            } else if (appended < n) {
              lines.append([events[appended++]!]);
            }
            // Every numbered line held is that line of the whole output, text and stream alike.
            for (let i = 0; i < lines.count; i++) {
              const k = lines.numberOf(i);
              if (k === null) continue;
              expect(lines.at(i)!.stream).toBe(whole.at(k - 1)!.stream);
              if (lines.indexOf(k) !== i) throw new Error(`indexOf(${k}) is not ${i}`);
            }
            expect(lines.total).toBe(m[appended]!.lines);
          };
          for (const o of order) step(o);
          while (pages.length || appended < n) step(pages.length > 0);
          expect(lines.before).toBe(0);
          expect(all(lines)).toEqual(all(whole));
          // And it goes on as the whole one does.
          const more: JobEvent[] = [
            { seq: n + 1, stream: 'stdout', chunk: 'more\n', ts: 1 },
            { seq: n + 2, stream: 'stderr', chunk: 'x\x1b[32my\nz', ts: 2 },
          ];
          whole.append(more);
          lines.append(more);
          expect(all(lines)).toEqual(all(whole));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('shows a line unfinished across the start of the tail as a fragment until its start arrives', () => {
    const events: JobEvent[] = [
      { seq: 1, stream: 'stdout', chunk: 'one\ntwo', ts: 1 },
      { seq: 2, stream: 'stderr', chunk: 'err\n', ts: 2 },
      { seq: 3, stream: 'stdout', chunk: ' and more\nthree\n', ts: 3 },
    ];
    const m = marks(events);
    const lines = new LogLines();
    lines.start(startAt(m, 1));
    lines.append(events.slice(1));
    expect(all(lines).map((l) => [l.n, l.text, l.fragment ?? false])).toEqual([
      [3, 'err', false],
      [null, ' and more', true],
      [4, 'three', false],
    ]);
    expect(lines.total).toBe(4);
    expect(lines.indexOf(2)).toBe(-1);
    expect(lines.indexOf(4)).toBe(2);
    lines.prepend(events.slice(0, 1), startAt(m, 0));
    expect(all(lines).map((l) => [l.n, l.text])).toEqual([
      [1, 'one'],
      [2, 'two and more'],
      [3, 'err'],
      [4, 'three'],
    ]);
  });

  it('gives earlier lines the colours left open before them, and keeps the origin stable', () => {
    const events: JobEvent[] = [
      { seq: 1, stream: 'stdout', chunk: '\x1b[31mred starts\n', ts: 1 },
      { seq: 2, stream: 'stdout', chunk: 'still red\n', ts: 2 },
    ];
    const m = marks(events);
    const lines = new LogLines();
    lines.start(startAt(m, 1));
    lines.append(events.slice(1));
    expect(lines.at(0)!.carry).toBeNull();
    const origin = lines.origin;
    lines.prepend(events.slice(0, 1), startAt(m, 0));
    expect(lines.at(1)!.carry?.fg).toBe('ansi-red');
    expect(lines.origin).toBe(origin - 1);
  });
});
