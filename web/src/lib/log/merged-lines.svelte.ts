// A fan-out's output merged: the lines of the group and of each child, in the order they began
// (their first output's commit order). Each job's lines are built by a LogLines of its own, so a
// line half-written on one host never takes text from another, and `\r` and colours stay per host.
// A filter shows some jobs only; the lines of the others are kept for when it is lifted.
import type { SinkEvent } from '$lib/realtime/job-stream.svelte.js';
import { LogLines, type LineSource, type LogLine } from './log-lines.svelte.js';

/* eslint-disable svelte/prefer-svelte-reactivity -- bookkeeping, deliberately not reactive: `version` is */
export class MergedLines implements LineSource {
  readonly #jobs = new Map<string, LogLines>();
  /** Every line, in the order each began. */
  #all: LogLine[] = [];
  /** The lines shown: all of them, or those of the jobs the filter keeps. */
  #shown: LogLine[] = this.#all;
  #filter: ReadonlySet<string> | null = null;
  #dropped = 0;
  #origin = 0;
  #version = $state(0);
  readonly maxLines: number;

  constructor(options: { maxLines?: number } = {}) {
    this.maxLines = options.maxLines ?? 2_000_000;
  }

  get version(): number {
    return this.#version;
  }

  get count(): number {
    void this.#version;
    return this.#shown.length;
  }

  /** Merged lines are numbered as shown, from the first held. */
  get before(): number {
    return 0;
  }

  get total(): number {
    return this.count;
  }

  /** Lines dropped from the front (of all jobs) to stay under maxLines (reactive). */
  get dropped(): number {
    void this.#version;
    return this.#dropped;
  }

  get origin(): number {
    void this.#version;
    return this.#origin;
  }

  /** The jobs the filter keeps (null: all). */
  get filter(): ReadonlySet<string> | null {
    return this.#filter;
  }

  at(index: number): LogLine | undefined {
    return this.#shown[index];
  }

  numberOf(index: number): number | null {
    return index >= 0 && index < this.#shown.length ? index + 1 : null;
  }

  indexOf(n: number): number {
    return n >= 1 && n <= this.#shown.length ? n - 1 : -1;
  }

  /** Lines written by `source` (all of them, shown or not). */
  linesOf(source: string): number {
    return this.#jobs.get(source)?.total ?? 0;
  }

  append(events: readonly SinkEvent[]): void {
    if (events.length === 0) return;
    const keep = this.#filter;
    for (let i = 0; i < events.length;) {
      const source = events[i]!.source ?? '';
      let j = i + 1;
      while (j < events.length && events[j]!.source === source) j++;
      const lines = this.#lines(source);
      const had = lines.total;
      lines.append(events.slice(i, j));
      // The lines begun by these events: numbered after those the job had (its last one may
      // have grown in place, as it is shown already).
      const first = lines.indexOf(had + 1);
      if (first !== -1)
        for (let k = first; k < lines.count; k++) {
          const line = lines.at(k)!;
          line.source = source;
          line.sourceLine = lines.numberOf(k) ?? undefined;
          this.#all.push(line);
          // Unfiltered, the lines shown are all lines: the same array.
          if (keep?.has(source)) this.#shown.push(line);
        }
      i = j;
    }
    this.#trim();
    this.#version++;
  }

  /** Shows the lines of `sources` only (null: every job's). */
  show(sources: ReadonlySet<string> | null): void {
    this.#filter = sources;
    this.#shown = sources ? this.#all.filter((l) => sources.has(l.source!)) : this.#all;
    // Other lines at every position: a reader's place and a search start over.
    this.#origin += this.#all.length + 1;
    this.#version++;
  }

  #lines(source: string): LogLines {
    let lines = this.#jobs.get(source);
    if (!lines) {
      lines = new LogLines({ maxLines: this.maxLines });
      this.#jobs.set(source, lines);
    }
    return lines;
  }

  #trim(): void {
    const over = this.#all.length - this.maxLines;
    if (over <= 0) return;
    const drop = Math.max(over, Math.ceil(this.maxLines / 10));
    const gone = new Set(this.#all.slice(0, drop));
    this.#all = this.#all.slice(drop);
    const before = this.#shown.length;
    this.#shown = this.#filter ? this.#shown.filter((l) => !gone.has(l)) : this.#all;
    this.#origin += before - this.#shown.length;
    this.#dropped += drop;
  }
}
