// A job's output as lines, built from its events: each stream keeps its own unfinished line, a
// carriage return overwrites the current line (progress bars), colours carry across lines.
// Plain arrays, not deep state: one `version` signal per batch keeps a million lines cheap.
//
// A long job is read from its end (the server says where the lines of a page start, see the
// protocol's lines.ts), so the lines held may start in the middle: `start()` says where, and
// `prepend()` adds the page before. A stream whose line was unfinished where the held lines start
// writes a *fragment* first: the end of a line whose number and beginning are in the page before.
// It has no number until that page arrives and joins the two.
import type { JobEvent, Stream } from '@vmo/protocol';
import { carryAfter, type SgrState } from './ansi.js';

export interface LogLine {
  text: string;
  stream: Stream;
  /** When the line's first output arrived (epoch ms). */
  ts: number;
  /** The colour state the line starts in. */
  carry: SgrState | null;
  /** The end of a line that started before the lines held: no number yet (see above). */
  fragment?: true;
  /**
   * A fragment's output as written (text and `\r`, up to 64 KiB), replayed onto the start of its
   * line when that arrives: a `\r` overwrites, and what it overwrote may have set colours.
   */
  raw?: string;
  /**
   * The colour codes of text a `\r` overwrote (`carry` already includes them): kept so the line's
   * colours can be worked out again when earlier output changes the colours it starts with.
   */
  sgr?: string;
  /** In a fan-out's merged output: the job that wrote the line, and its number there. */
  source?: string;
  sourceLine?: number;
  /** The rows the line took when last wrapped (wrapped-rows.svelte.ts), for that text and width. */
  wrapped?: { text: string; cols: number; rows: number };
}

/** Lines as the log viewer reads them: a job's (LogLines), or a fan-out's merged (MergedLines). */
export interface LineSource {
  /** Bumped once per change (reactive). */
  readonly version: number;
  /** Lines held (reactive). */
  readonly count: number;
  /** Lines before the first one held (reactive). */
  readonly before: number;
  /** The number of the last line (reactive). */
  readonly total: number;
  /** Lines dropped from the front to stay under a limit (reactive). */
  readonly dropped: number;
  /** Position of index 0 that stays put while lines are added in front or dropped (reactive). */
  readonly origin: number;
  at(index: number): LogLine | undefined;
  numberOf(index: number): number | null;
  indexOf(n: number): number;
}

/** SGR sequences, and the full resets after which nothing before matters. */
/* eslint-disable no-control-regex -- escape sequences are exactly what these read */
const SGR = /\x1b\[[0-9;:]*m/g;
const RESET = /\x1b\[0?m(?!.*\x1b\[0?m)/s;
/* eslint-enable no-control-regex */
/** Past this the codes kept for a line are cut to their end (colours may then be off there). */
const MAX_SGR = 4096;

/** `kept` followed by the colour codes in `text`, shortened where that changes nothing. */
function moreSgr(kept: string | undefined, text: string): string | undefined {
  const codes = text.includes('\x1b[') ? (text.match(SGR) ?? []).join('') : '';
  if (!codes) return kept;
  let all = (kept ?? '') + codes;
  const reset = RESET.exec(all);
  if (reset) all = all.slice(reset.index);
  return all.length > MAX_SGR ? all.slice(all.indexOf('\x1b', all.length - MAX_SGR)) : all;
}

/** Past this a fragment's raw output is not kept: its join then simply appends its text. */
const MAX_RAW = 64 * 1024;

/** `raw` (text and `\r`) written onto `line`, as #write would have done it. */
function replay(line: LogLine, cr: boolean, raw: string) {
  let { text, carry, sgr } = line;
  for (let i = 0; i < raw.length;) {
    const j = raw.indexOf('\r', i);
    const end = j === -1 ? raw.length : j;
    if (end > i) {
      if (cr) {
        carry = carryAfter(text, carry);
        sgr = moreSgr(sgr, text);
        text = '';
        cr = false;
      }
      text += raw.slice(i, end);
    }
    if (j === -1) break;
    cr = true;
    i = j + 1;
  }
  return { text, carry, sgr };
}

interface OpenLine {
  line: LogLine;
  /** A `\r` was the last thing written: the next text replaces the line (unless `\n` follows). */
  cr: boolean;
}

/** Where the held lines start: lines before them, and streams whose line is unfinished there. */
export interface LinesStart {
  lineStart: number;
  open: readonly Stream[];
}

export interface LogLinesOptions {
  /** Past this many lines the oldest are dropped, a tenth at a time; `dropped` counts them. */
  maxLines?: number;
}

const STREAMS = ['stdout', 'stderr', 'system', 'pty'] as const;

function sameSgr(a: SgrState | null, b: SgrState | null): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/* eslint-disable svelte/prefer-svelte-reactivity -- bookkeeping, deliberately not reactive: `version` is */
export class LogLines implements LineSource {
  #lines: LogLine[] = [];
  #open = new Map<Stream, OpenLine>();
  /** The colour state each stream's next line starts in. */
  #carry = new Map<Stream, SgrState | null>();
  /** Streams unfinished where the held lines start that have not written since: a fragment is next. */
  #continues = new Set<Stream>();
  /** Streams with output among the held lines. */
  #wrote = new Set<Stream>();
  /** Indexes of the fragments among the held lines, ascending (one per stream at most). */
  #fragments: number[] = [];
  /** Lines before the first held one: not loaded (yet) or dropped. */
  #before = 0;
  /** A stable position for index 0, so a reader's place survives lines added or dropped in front. */
  #origin = 0;
  #dropped = 0;
  #version = $state(0);
  readonly maxLines: number;

  constructor(options: LogLinesOptions = {}) {
    this.maxLines = options.maxLines ?? 2_000_000;
  }

  /** Bumped once per change; read it to re-render when lines change. */
  get version(): number {
    return this.#version;
  }

  /** Lines held (reactive), fragments included. */
  get count(): number {
    void this.#version;
    return this.#lines.length;
  }

  /** Lines before the first one held: not loaded yet, or dropped (reactive). */
  get before(): number {
    void this.#version;
    return this.#before;
  }

  /** The number of the last line (reactive). */
  get total(): number {
    void this.#version;
    return this.#before + this.#lines.length - this.#fragments.length;
  }

  /** Lines dropped from the front to stay under maxLines (reactive); then nothing can be prepended. */
  get dropped(): number {
    void this.#version;
    return this.#dropped;
  }

  /** Position of index 0 that stays put while lines are prepended or dropped (reactive). */
  get origin(): number {
    void this.#version;
    return this.#origin;
  }

  /** The line at `index` among those held (0-based). */
  at(index: number): LogLine | undefined {
    return this.#lines[index];
  }

  /** The number (1-based) of the line at `index`; null for a fragment or past the end. */
  numberOf(index: number): number | null {
    if (index < 0 || index >= this.#lines.length) return null;
    let shift = 0;
    for (const f of this.#fragments) {
      if (f === index) return null;
      if (f < index) shift++;
    }
    return this.#before + index + 1 - shift;
  }

  /** The index of line `n`, or -1 when it is not held. */
  indexOf(n: number): number {
    let index = n - this.#before - 1;
    if (index < 0) return -1;
    for (const f of this.#fragments) if (f <= index) index++;
    return index < this.#lines.length ? index : -1;
  }

  /** Before any append: the held lines start after `lineStart` lines, with `open` streams unfinished. */
  start(at: LinesStart): void {
    if (this.#lines.length) throw new Error('start() comes before the first append()');
    this.#before = at.lineStart;
    this.#continues = new Set(at.open);
    this.#version++;
  }

  append(events: readonly JobEvent[]): void {
    if (events.length === 0) return;
    for (const e of events) this.#write(e.stream, e.chunk, e.ts);
    this.#trim();
    this.#version++;
  }

  /**
   * The events just before the held lines, which start at `at`: their lines go in front, and the
   * held fragments join the lines they end. Nothing is prepended once lines were dropped.
   */
  prepend(events: readonly JobEvent[], at: LinesStart): void {
    if (this.#dropped > 0) return;
    const earlier = new LogLines({ maxLines: Number.MAX_SAFE_INTEGER });
    earlier.start(at);
    for (const e of events) earlier.#write(e.stream, e.chunk, e.ts);

    const later = this.#lines;
    /** The colours each stream's held lines now start with, where that may have changed. */
    const expect = new Map<Stream, SgrState | null>();
    const joined = new Set<number>();
    for (const stream of STREAMS) {
      const open = earlier.#open.get(stream);
      const fragment = this.#fragments.find((f) => later[f]!.stream === stream);
      if (fragment !== undefined && open) {
        // The fragment takes the place (and start) of the line it ends.
        const f = later[fragment]!;
        const start = open.line;
        const { text, carry, sgr } =
          f.raw === undefined
            ? { text: start.text + f.text, carry: start.carry, sgr: start.sgr }
            : replay(start, open.cr, f.raw);
        f.text = text;
        f.carry = carry;
        if (sgr === undefined) delete f.sgr;
        else f.sgr = sgr;
        f.ts = start.ts;
        // The line it ends may itself be the end of one further up.
        const raw = start.fragment && start.raw !== undefined && f.raw !== undefined;
        if (raw) f.raw = start.raw! + f.raw!;
        else delete f.raw;
        if (start.fragment) f.fragment = true;
        else delete f.fragment;
        earlier.#lines[earlier.#lines.indexOf(open.line)] = f;
        joined.add(fragment);
        expect.set(stream, carryAfter(f.text, f.carry));
      } else if (!this.#wrote.has(stream)) {
        // Nothing of this stream is held: where it stands is where the earlier events left it.
        if (open) this.#open.set(stream, open);
        const carry = earlier.#carry.get(stream);
        if (carry === undefined) this.#carry.delete(stream);
        else this.#carry.set(stream, carry);
        if (earlier.#continues.has(stream)) this.#continues.add(stream);
        else this.#continues.delete(stream);
      } else {
        const carry = earlier.#carry.get(stream) ?? null;
        // The held lines were parsed from the default colours: if that is still so, they are right.
        if (carry !== null) expect.set(stream, carry);
      }
    }
    const kept = joined.size ? later.filter((_, i) => !joined.has(i)) : later;
    const shift = earlier.#lines.length;
    this.#lines = earlier.#lines.concat(kept);
    // A held line moves down by the earlier lines, and up by the joined fragments in front of it.
    const moved = (i: number) => shift + i - [...joined].filter((j) => j < i).length;
    this.#fragments = [
      ...earlier.#fragments,
      ...this.#fragments.filter((f) => !joined.has(f)).map(moved),
    ];
    this.#before = at.lineStart;
    this.#origin -= shift - joined.size;
    for (const stream of earlier.#wrote) this.#wrote.add(stream);
    this.#recarry(shift, expect);
    this.#version++;
  }

  /** Colours of the lines from `from` on, for the streams in `expect` (the carry each goes in with). */
  #recarry(from: number, expect: Map<Stream, SgrState | null>): void {
    const left = new Set(expect.keys());
    for (let i = from; i < this.#lines.length && left.size > 0; i++) {
      const line = this.#lines[i]!;
      if (!left.has(line.stream) || line.fragment) continue;
      const goesIn = expect.get(line.stream) ?? null;
      const want = line.sgr ? carryAfter(line.sgr, goesIn) : goesIn;
      // Same colours, same colours from here on: every later line of the stream is right already.
      if (sameSgr(line.carry, want)) {
        left.delete(line.stream);
        continue;
      }
      line.carry = want;
      expect.set(line.stream, carryAfter(line.text, want));
    }
    for (const stream of left)
      if (!this.#open.has(stream)) this.#carry.set(stream, expect.get(stream) ?? null);
  }

  #write(stream: Stream, chunk: string, ts: number): void {
    let start = 0;
    // The next \n and \r, found with indexOf (native, far faster than a loop over a million
    // lines' characters) and looked for again only once passed.
    let nl = chunk.indexOf('\n');
    let cr = chunk.indexOf('\r');
    while (nl !== -1 || cr !== -1) {
      const i = nl === -1 ? cr : cr === -1 ? nl : Math.min(nl, cr);
      const c = chunk.charCodeAt(i);
      if (c === 10) nl = chunk.indexOf('\n', i + 1);
      else cr = chunk.indexOf('\r', i + 1);
      if (i > start) this.#text(stream, chunk.slice(start, i), ts);
      start = i + 1;
      if (c === 13) {
        const open = this.#lineFor(stream, ts);
        open.cr = true;
        if (open.line.raw !== undefined) this.#keepRaw(open.line, '\r');
      } else this.#close(stream, ts);
    }
    if (start < chunk.length) this.#text(stream, chunk.slice(start), ts);
  }

  #lineFor(stream: Stream, ts: number): OpenLine {
    let open = this.#open.get(stream);
    if (!open) {
      const line: LogLine = { text: '', stream, ts, carry: this.#carry.get(stream) ?? null };
      this.#wrote.add(stream);
      if (this.#continues.delete(stream)) {
        line.fragment = true;
        line.raw = '';
        this.#fragments.push(this.#lines.length);
      }
      this.#lines.push(line);
      open = { line, cr: false };
      this.#open.set(stream, open);
    }
    return open;
  }

  #text(stream: Stream, text: string, ts: number): void {
    const open = this.#lineFor(stream, ts);
    if (open.cr) {
      // The overwritten text may have set colours that still apply, as on a terminal.
      open.line.carry = carryAfter(open.line.text, open.line.carry);
      const sgr = moreSgr(open.line.sgr, open.line.text);
      if (sgr !== undefined) open.line.sgr = sgr;
      open.line.text = '';
      open.cr = false;
    }
    open.line.text += text;
    if (open.line.raw !== undefined) this.#keepRaw(open.line, text);
  }

  #keepRaw(line: LogLine, text: string): void {
    if (line.raw!.length + text.length > MAX_RAW) delete line.raw;
    else line.raw += text;
  }

  #close(stream: Stream, ts: number): void {
    const { line } = this.#lineFor(stream, ts);
    this.#open.delete(stream);
    this.#carry.set(stream, carryAfter(line.text, line.carry));
  }

  #trim(): void {
    const over = this.#lines.length - this.maxLines;
    if (over <= 0) return;
    const drop = Math.max(over, Math.ceil(this.maxLines / 10));
    this.#lines.splice(0, drop);
    const gone = this.#fragments.filter((f) => f < drop).length;
    this.#fragments = this.#fragments.filter((f) => f >= drop).map((f) => f - drop);
    this.#before += drop - gone;
    this.#origin += drop;
    this.#dropped += drop - gone;
    this.#continues.clear();
  }
}
