// Output as bytes: where a chunk may be cut, and events whose text is derived when read.
import { describe, expect, it } from 'vitest';
import { decodeEventBytes } from '@vmo/protocol';
import {
  byteEvent,
  bytesOf,
  completeLength,
  countNewlines,
  sizeOf,
  splitBytes,
  withFields,
} from './bytes.js';

const b = (...bytes: number[]) => Buffer.from(bytes);

describe(completeLength.name, () => {
  it('holds back a sequence still waiting for its continuation bytes, and nothing else', () => {
    expect(completeLength(Buffer.from('abc'))).toBe(3);
    expect(completeLength(Buffer.from('a✓'))).toBe(4);
    expect(completeLength(b(0x61, 0xe2, 0x9c))).toBe(1); // ✓ cut after 2 of its 3 bytes
    expect(completeLength(b(0x61, 0xf0, 0x9f, 0x98))).toBe(1); // 😀 cut after 3 of 4
    expect(completeLength(b(0xc3))).toBe(0);
    // Bytes that start no sequence, or stray continuation bytes, are errors now: nothing to wait for.
    expect(completeLength(b(0x61, 0xff))).toBe(2);
    expect(completeLength(b(0x80, 0x80, 0x80, 0x80, 0x80))).toBe(5);
    expect(completeLength(b())).toBe(0);
  });
});

describe(splitBytes.name, () => {
  const decodeAll = (parts: Buffer[]) => parts.map((p) => decodeEventBytes(p)).join('');

  it('keeps what fits whole, and cuts ASCII at exactly max bytes', () => {
    const abc = Buffer.from('abc');
    expect(splitBytes(abc, 3)).toEqual([abc]);
    expect(splitBytes(Buffer.from('abcdefg'), 3).map(String)).toEqual(['abc', 'def', 'g']);
  });

  it('cuts before a character, never inside one, whatever the limit', () => {
    const samples = [
      '😀😀😀😀',
      'a😀b😀😀cd👍🏽e',
      '日本😀語😀',
      'x'.repeat(5) + '😀'.repeat(7),
      'é✓',
    ];
    for (const s of samples) {
      const bytes = Buffer.from(s);
      for (let max = 1; max <= 9; max++) {
        const parts = splitBytes(bytes, max);
        expect(Buffer.concat(parts).equals(bytes)).toBe(true);
        expect(decodeAll(parts)).toBe(s);
        for (const part of parts) {
          expect(part.length).toBeGreaterThan(0);
          expect(part.length).toBeLessThanOrEqual(Math.max(max, 4));
        }
      }
    }
  });

  it('cuts a run of stray continuation bytes anywhere: each is its own U+FFFD', () => {
    const bytes = b(0x61, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x62);
    const parts = splitBytes(bytes, 5);
    expect(parts[0]!.length).toBe(5);
    expect(decodeAll(parts)).toBe(new TextDecoder().decode(bytes));
  });
});

describe(byteEvent.name, () => {
  it('derives its text once, when read; JSON and spreads see the text, not the bytes', () => {
    const data = Buffer.from('\uFEFFhé\n');
    const e = byteEvent(3, 'stdout', data, 1000, { lineEnd: 1 });
    expect(e.data).toBe(data);
    expect(e.chunk).toBe('\uFEFFhé\n'); // a BOM inside a job's output is kept
    expect(e.chunk).toBe(e.chunk);
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      seq: 3,
      stream: 'stdout',
      ts: 1000,
      chunk: '\uFEFFhé\n',
      lineEnd: 1,
    });
    expect({ ...e }).not.toHaveProperty('data');
    expect(sizeOf(e)).toBe(data.length);
    expect(bytesOf(e)).toBe(data);
  });

  it('adds fields without decoding, and gives text events their bytes', () => {
    const e = withFields(byteEvent(1, 'stderr', Buffer.from('x'), 5), { source: 'job-a' });
    expect(e.source).toBe('job-a');
    expect(bytesOf(e).toString()).toBe('x');
    const text = withFields({ seq: 1, stream: 'stdout' as const, chunk: '✓', ts: 5 }, { n: 2 });
    expect(text).toEqual({ seq: 1, stream: 'stdout', chunk: '✓', ts: 5, n: 2 });
    expect(bytesOf(text)).toEqual(Buffer.from('✓'));
    expect(sizeOf(text)).toBe(1);
  });

  it('counts line feeds on bytes', () => {
    expect(countNewlines(Buffer.from('a\nb\n\n'))).toBe(3);
    expect(countNewlines(Buffer.from(''))).toBe(0);
  });
});
