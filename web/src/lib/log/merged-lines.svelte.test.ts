import { describe, expect, it } from 'vitest';
import type { SinkEvent } from '$lib/realtime/job-stream.svelte.js';
import { MergedLines } from './merged-lines.svelte.js';

let seq = 0;
const ev = (source: string, chunk: string, stream: SinkEvent['stream'] = 'stdout'): SinkEvent => ({
  source,
  seq: ++seq,
  stream,
  chunk,
  ts: seq,
});
const shown = (m: MergedLines) =>
  Array.from({ length: m.count }, (_, i) => {
    const l = m.at(i)!;
    return `${l.source}:${l.sourceLine} ${l.text}`;
  });

describe(MergedLines.name, () => {
  it('interleaves hosts by where each line began, never mixing one host’s half line into another', () => {
    const m = new MergedLines();
    m.append([ev('a', 'a one\na tw'), ev('b', 'b one\n'), ev('a', 'o\n'), ev('b', 'b\rB two\n')]);
    m.append([ev('g', 'fan-out done', 'system'), ev('a', '\x1b[31ma red\n')]);
    expect(shown(m)).toEqual([
      'a:1 a one',
      'a:2 a two',
      'b:1 b one',
      'b:2 B two',
      'g:1 fan-out done',
      'a:3 \x1b[31ma red',
    ]);
    expect(m.linesOf('a')).toBe(3);
    expect(m.numberOf(0)).toBe(1);
    expect(m.indexOf(6)).toBe(5);
  });

  it('filters by host, keeps what the others write meanwhile, and shows it all again', () => {
    const m = new MergedLines();
    m.append([ev('a', 'a1\n'), ev('b', 'b1\n')]);
    const origin = m.origin;
    m.show(new Set(['b']));
    expect(shown(m)).toEqual(['b:1 b1']);
    expect(m.origin).not.toBe(origin); // a search and the reader's place start over
    m.append([ev('a', 'a2\n'), ev('b', 'b2\n')]);
    expect(shown(m)).toEqual(['b:1 b1', 'b:2 b2']);
    m.show(null);
    expect(shown(m)).toEqual(['a:1 a1', 'b:1 b1', 'a:2 a2', 'b:2 b2']);
    m.append([ev('a', 'a3\n')]);
    expect(m.count).toBe(5);
  });

  it('drops the oldest lines past maxLines, a tenth at a time, filtered or not', () => {
    const m = new MergedLines({ maxLines: 10 });
    for (let i = 0; i < 12; i++) m.append([ev(i % 2 ? 'b' : 'a', `${i}\n`)]);
    expect(m.dropped).toBe(2);
    expect(m.count).toBe(10);
    expect(m.at(0)!.text).toBe('2');
    m.show(new Set(['a']));
    m.append([ev('a', '12\n'), ev('b', '13\n')]);
    expect(m.dropped).toBe(4);
    expect(shown(m).map((s) => s.split(' ')[1])).toEqual(['4', '6', '8', '10', '12']);
  });
});
