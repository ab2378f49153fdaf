// Output kept as the bytes the job wrote, cut only where UTF-8 decoding may restart: each stored
// event then decodes on its own (WHATWG UTF-8, BOM kept) to exactly what one streaming decoder
// over the whole stream gives for its part. The text is derived when someone asks for it, so the
// live path (commit, binary sockets) never decodes.
import { decodeEventBytes, type JobEvent, type Stream } from '@vmo/protocol';

const isContinuation = (b: number) => (b & 0xc0) === 0x80;

/** How many bytes a sequence starting with `lead` has (1 for ASCII and for bytes that start none). */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 1;
}

/**
 * How many of the bytes form whole sequences: the rest (at most 3 bytes) is a sequence still
 * waiting for its continuation bytes, which a streaming decoder would hold too. A cut before any
 * byte that is not a continuation byte leaves the decoder as it starts (the WHATWG decoder
 * re-reads such a byte after an error), so the two parts decode to what the whole does.
 */
export function completeLength(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const b = bytes[i]!;
    if (isContinuation(b)) continue;
    return n - i < sequenceLength(b) ? i : n;
  }
  return n;
}

/**
 * Splits bytes into pieces of about `max` bytes, each cut before a byte that is not a continuation
 * byte, so that every piece decodes on its own: a cut moves back to the start of the character it
 * would split (a piece is then up to 3 bytes short), or forward past it when `max` is smaller than
 * the character.
 */
export function splitBytes(bytes: Buffer, max: number): Buffer[] {
  if (bytes.length <= max) return [bytes];
  const out: Buffer[] = [];
  let at = 0;
  while (bytes.length - at > max) {
    out.push(bytes.subarray(at, (at = cutNear(bytes, at, at + max))));
  }
  if (at < bytes.length) out.push(bytes.subarray(at));
  return out;
}

/** Where to cut near `want` (after `from`): see splitBytes. */
function cutNear(bytes: Buffer, from: number, want: number): number {
  for (let back = 0; back <= 3; back++) {
    const at = want - back;
    if (at <= from) break;
    if (!isContinuation(bytes[at]!)) return at;
  }
  // Four continuation bytes in a row: `want` is in no character, a cut there splits none.
  if (want - 3 > from) return want;
  let at = want;
  while (at < bytes.length && at < want + 3 && isContinuation(bytes[at]!)) at++;
  return at;
}

/** Lines started and streams left open, counted on bytes (`\n` is one byte in UTF-8 and never part of another). */
export function endsOpen(bytes: Uint8Array): boolean {
  return bytes[bytes.length - 1] !== 10;
}

/** The number of `\n` in the bytes. */
export function countNewlines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

/** An event whose text is derived from its bytes when first read (`data` is not enumerable: JSON and spreads see the text). */
export type ByteEvent = JobEvent & { readonly data: Buffer };

/** Builds a ByteEvent; `extra` (line marks, a source) is copied onto it. */
export function byteEvent<T extends object = object>(
  seq: number,
  stream: Stream,
  data: Buffer,
  ts: number,
  extra?: T,
): ByteEvent & T {
  let text: string | undefined;
  const event = {
    seq,
    stream,
    ts,
    get chunk(): string {
      return (text ??= decodeEventBytes(data));
    },
    ...extra,
  };
  Object.defineProperty(event, 'data', { value: data, enumerable: false });
  return event as ByteEvent & T;
}

/** The event's bytes: its own when it has them, else its text encoded. */
export function bytesOf(e: JobEvent): Buffer {
  const data = (e as Partial<ByteEvent>).data;
  return data ?? Buffer.from(e.chunk, 'utf8');
}

/** A copy of the event with `extra` added, its text still derived when first read. */
export function withFields<T extends object>(e: JobEvent, extra: T): JobEvent & T {
  const data = (e as Partial<ByteEvent>).data;
  return data ? byteEvent(e.seq, e.stream, data, e.ts, extra) : { ...e, ...extra };
}

/** The event's size for budgets: its bytes, or for an event held as text, its UTF-16 units. */
export function sizeOf(e: JobEvent): number {
  return (e as Partial<ByteEvent>).data?.length ?? e.chunk.length;
}
