// The log viewer's rows when lines wrap: each line takes as many rows of `cols` cells as its text
// needs, so the virtual scroller keeps rows of one height and stays exact over a million lines.
// A batch costs the rows of its new lines and of the lines still open; lines added in front,
// dropped or a new width lay everything out again (a line's count is cached on it). Positions
// stay put while lines are added in front or dropped, as the lines' own do, so a reader keeps
// their place.
import { plainText } from './ansi.js';
import { MAX_SHOWN_CHARS, rowCount } from './cells.js';
import type { LineSource, LogLine } from './log-lines.svelte.js';

/** What the scroller needs of the rows it shows: lines as they are, or wrapped. */
export interface RowSource {
  readonly version: number;
  readonly count: number;
  readonly origin: number;
  /** The first row of line `n`, or -1 when it is not held. */
  indexOf(n: number): number;
  /** The number of the line row `index` belongs to; null for a fragment or past the end. */
  numberOf(index: number): number | null;
}

/** Rows `line` takes at `cols` cells a row: its text as shown, and a row for a cut-off note. */
export function rowsOf(line: LogLine, cols: number): number {
  const cached = line.wrapped;
  if (cached && cached.text === line.text && cached.cols === cols) return cached.rows;
  const clipped = line.text.length > MAX_SHOWN_CHARS;
  const shown = clipped ? line.text.slice(0, MAX_SHOWN_CHARS) : line.text;
  const rows = rowCount(plainText(shown), cols) + (clipped ? 1 : 0);
  line.wrapped = { text: line.text, cols, rows };
  return rows;
}

export class WrappedRows implements RowSource {
  #lines: LineSource;
  #cols = $state(0);
  /** starts[i]: the first row of line i; starts[count]: the rows in all. */
  #starts = new Float64Array(1);
  #synced: { version: number; cols: number; origin: number; count: number } | null = null;
  /** The last line of each stream (and job, in a fan-out's merged view): the open ones. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, not state
  #last = new Map<string, number>();
  #origin = 0;
  #syncs = 0;

  constructor(lines: LineSource) {
    this.#lines = lines;
  }

  /** Cells a row holds (reactive); 0 until the viewer has measured them. */
  get cols(): number {
    return this.#cols;
  }

  set cols(cols: number) {
    this.#cols = Math.max(0, Math.floor(cols));
  }

  get version(): number {
    this.#sync();
    return this.#syncs;
  }

  get count(): number {
    this.#sync();
    return this.#starts[this.#lines.count] ?? 0;
  }

  get origin(): number {
    this.#sync();
    return this.#origin;
  }

  indexOf(n: number): number {
    this.#sync();
    const index = this.#lines.indexOf(n);
    return index === -1 ? -1 : this.#starts[index]!;
  }

  numberOf(index: number): number | null {
    const line = this.lineAt(index);
    return line === -1 ? null : this.#lines.numberOf(line);
  }

  /** The index of the line that row `index` belongs to, or -1 past the end. */
  lineAt(index: number): number {
    this.#sync();
    const count = this.#lines.count;
    const starts = this.#starts;
    if (index < 0 || index >= starts[count]!) return -1;
    let lo = 0;
    let hi = count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The first row of the line at `index` (0-based, among those held). */
  firstRowOf(index: number): number {
    this.#sync();
    return this.#starts[index] ?? 0;
  }

  #sync(): void {
    const lines = this.#lines;
    const version = lines.version; // reactive: readers of the rows re-run on a batch or a width
    const cols = this.#cols;
    const synced = this.#synced;
    if (synced && synced.version === version && synced.cols === cols) return;
    const count = lines.count;
    const origin = lines.origin;
    const old = this.#starts;
    const starts = old.length > count ? old : new Float64Array(Math.max(count + 1, old.length * 2));
    if (starts !== old) starts.set(old.subarray(0, Math.min(old.length, synced?.count ?? 0) + 1));
    let from = 0;
    let prepended = 0; // lines added in front: the row origin moves back by their rows, once laid out
    if (synced && synced.cols === cols && synced.origin === origin && count >= synced.count) {
      // Lines were added or written to: only the new ones, and the last line of each stream (the
      // only ones still open), can have changed.
      from = synced.count;
      for (const i of this.#last.values())
        if (i < from && rowsOf(lines.at(i)!, cols) !== starts[i + 1]! - starts[i]!) from = i;
    } else {
      // Positions that stay put: the line that was first keeps its position when lines come in
      // front (and the one now first keeps the position it had when lines were dropped).
      const shift = synced && synced.cols === cols ? origin - synced.origin : null;
      if (shift === null) this.#origin = 0;
      // (Past every line held, as when a fan-out's view shows other hosts: past every row, so a
      // reader's place starts over as the lines' own does.)
      else if (shift > 0)
        this.#origin += shift <= synced!.count ? old[shift]! : old[synced!.count]! + 1;
      else prepended = -shift;
      this.#last.clear();
    }
    this.#layout(starts, from, count, cols);
    if (prepended > 0) this.#origin -= starts[prepended] ?? 0;
    this.#starts = starts;
    this.#synced = { version, cols, origin, count };
    this.#syncs++;
  }

  /** Row starts of lines `from` to `count`, and each stream's last line among them. */
  #layout(starts: Float64Array, from: number, count: number, cols: number): void {
    const lines = this.#lines;
    let row = starts[from] ?? 0;
    starts[0] = 0;
    for (let i = from; i < count; i++) {
      const line = lines.at(i)!;
      row += cols > 0 ? rowsOf(line, cols) : 1;
      starts[i + 1] = row;
      this.#last.set(line.source === undefined ? line.stream : `${line.source} ${line.stream}`, i);
    }
  }
}
