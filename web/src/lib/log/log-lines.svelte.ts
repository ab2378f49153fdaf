// A job's output as lines, built from its events: each stream keeps its own unfinished line, a
// carriage return overwrites the current line (progress bars), colours carry across lines.
// Plain arrays, not deep state: one `version` signal per batch keeps a million lines cheap.
import type { JobEvent, Stream } from '@vmo/protocol';
import { carryAfter, type SgrState } from './ansi.js';

export interface LogLine {
  text: string;
  stream: Stream;
  /** When the line's first output arrived (epoch ms). */
  ts: number;
  /** The colour state the line starts in. */
  carry: SgrState | null;
}

interface OpenLine {
  line: LogLine;
  /** A `\r` was the last thing written: the next text replaces the line (unless `\n` follows). */
  cr: boolean;
}

export interface LogLinesOptions {
  /** Past this many lines the oldest are dropped, a tenth at a time; `dropped` counts them. */
  maxLines?: number;
}

/* eslint-disable svelte/prefer-svelte-reactivity -- bookkeeping, deliberately not reactive: `version` is */
export class LogLines {
  #lines: LogLine[] = [];
  #open = new Map<Stream, OpenLine>();
  /** The colour state each stream's next line starts in. */
  #carry = new Map<Stream, SgrState | null>();
  #dropped = 0;
  #version = $state(0);
  readonly maxLines: number;

  constructor(options: LogLinesOptions = {}) {
    this.maxLines = options.maxLines ?? 2_000_000;
  }

  /** Bumped once per append(); read it to re-render when lines change. */
  get version(): number {
    return this.#version;
  }

  /** Lines held (reactive). */
  get count(): number {
    void this.#version;
    return this.#lines.length;
  }

  /** Lines dropped from the front to stay under maxLines (reactive). */
  get dropped(): number {
    void this.#version;
    return this.#dropped;
  }

  /** The line at `index` among those held (0-based); its number is dropped + index + 1. */
  at(index: number): LogLine | undefined {
    return this.#lines[index];
  }

  append(events: readonly JobEvent[]): void {
    if (events.length === 0) return;
    for (const e of events) this.#write(e.stream, e.chunk, e.ts);
    this.#trim();
    this.#version++;
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
      if (c === 13) this.#lineFor(stream, ts).cr = true;
      else this.#close(stream, ts);
    }
    if (start < chunk.length) this.#text(stream, chunk.slice(start), ts);
  }

  #lineFor(stream: Stream, ts: number): OpenLine {
    let open = this.#open.get(stream);
    if (!open) {
      const line: LogLine = { text: '', stream, ts, carry: this.#carry.get(stream) ?? null };
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
      open.line.text = '';
      open.cr = false;
    }
    open.line.text += text;
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
    this.#dropped += drop;
  }
}
