import type { JobEvent, Stream } from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import { LogLines } from './log-lines.svelte.js';

let seq = 0;
const ev = (chunk: string, stream: Stream = 'stdout'): JobEvent => ({
  seq: ++seq,
  stream,
  chunk,
  ts: 1000 + seq,
});
const texts = (lines: LogLines) =>
  Array.from({ length: lines.count }, (_, i) => [lines.at(i)?.stream, lines.at(i)?.text]);

describe(LogLines.name, () => {
  it('splits chunks into lines, across chunk boundaries', () => {
    const lines = new LogLines();
    lines.append([ev('one\ntw'), ev('o\nthree')]);
    expect(texts(lines)).toEqual([
      ['stdout', 'one'],
      ['stdout', 'two'],
      ['stdout', 'three'],
    ]);
  });

  it('lets a carriage return overwrite the line, also when it ends a chunk, but not in \\r\\n', () => {
    const lines = new LogLines();
    lines.append([ev('progress 10%\rprogress 50%\r'), ev('progress 100%\r'), ev('\ndone\r\n')]);
    expect(texts(lines)).toEqual([
      ['stdout', 'progress 100%'],
      ['stdout', 'done'],
    ]);
  });

  it('keeps each stream on lines of its own', () => {
    const lines = new LogLines();
    lines.append([ev('out '), ev('err\n', 'stderr'), ev('more\n'), ev('exited 0\n', 'system')]);
    expect(texts(lines)).toEqual([
      ['stdout', 'out more'],
      ['stderr', 'err'],
      ['system', 'exited 0'],
    ]);
  });

  it('carries a colour left open into the next line', () => {
    const lines = new LogLines();
    lines.append([ev('\x1b[31mred\nstill\x1b[0m\nplain\n')]);
    expect(lines.at(1)?.carry?.fg).toBe('ansi-red');
    expect(lines.at(2)?.carry).toBeNull();
  });

  it('bumps version once per batch', () => {
    const lines = new LogLines();
    lines.append([ev('a\n'), ev('b\n'), ev('c\n')]);
    expect(lines.version).toBe(1);
  });

  it('drops the oldest lines past maxLines and counts them', () => {
    const lines = new LogLines({ maxLines: 100 });
    lines.append([ev(Array.from({ length: 105 }, (_, i) => `l${i + 1}\n`).join(''))]);
    expect(lines.dropped).toBe(10);
    expect(lines.count).toBe(95);
    expect(lines.at(0)?.text).toBe('l11');
  });

  it('takes a million lines quickly', () => {
    const lines = new LogLines();
    const started = performance.now();
    for (let b = 0; b < 100; b++) {
      let chunk = '';
      for (let i = 0; i < 10_000; i++) chunk += `line ${b * 10_000 + i + 1} of the big job\n`;
      lines.append([ev(chunk)]);
    }
    expect(lines.count).toBe(1_000_000);
    expect(lines.at(999_999)?.text).toBe('line 1000000 of the big job');
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
