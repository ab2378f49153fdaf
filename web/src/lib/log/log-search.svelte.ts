// Search in a job's output: which lines contain the query (case-insensitive, colours ignored),
// and which match is current. New output is scanned as it arrives, not the whole log again.
import { plainText } from './ansi.js';
import type { LogLines } from './log-lines.svelte.js';

export class LogSearch {
  #query = $state('');
  /** Index into `matches` of the match shown, -1 before next()/previous(). */
  current = $state(-1);

  #lines: LogLines;
  /** Line numbers (1-based, counting dropped lines) of the matches found so far. */
  #found: number[] = [];
  #scannedQuery = '';
  #scanned = 0;
  #droppedAtScan = 0;

  constructor(lines: LogLines) {
    this.#lines = lines;
  }

  get query(): string {
    return this.#query;
  }

  /** A new query starts over from the first match. */
  set query(value: string) {
    this.#query = value;
    this.current = -1;
  }

  /** Line numbers that match, up to date with the lines (reactive on query and lines). */
  readonly matches: readonly number[] = $derived.by(() =>
    this.#scan(this.query, this.#lines.version),
  );

  /** The line number of the current match, or null. */
  readonly currentLine: number | null = $derived(this.matches[this.current] ?? null);

  next(): number | null {
    return this.#step(1);
  }

  previous(): number | null {
    return this.#step(-1);
  }

  #step(by: 1 | -1): number | null {
    const n = this.matches.length;
    if (n === 0) return null;
    this.current = this.current === -1 ? (by === 1 ? 0 : n - 1) : (this.current + by + n) % n;
    return this.matches[this.current] ?? null;
  }

  #scan(query: string, _version: number): number[] {
    const lines = this.#lines;
    const q = query.trim().toLowerCase();
    if (q !== this.#scannedQuery || lines.dropped !== this.#droppedAtScan) {
      this.#found = [];
      this.#scanned = 0;
      this.#scannedQuery = q;
      this.#droppedAtScan = lines.dropped;
    }
    if (!q) return [];
    // The last line scanned may have grown since: look at it again.
    const from = Math.max(0, this.#scanned - 1);
    const base = lines.dropped + 1;
    if (this.#found.at(-1) === base + from) this.#found.pop();
    for (let i = from; i < lines.count; i++) {
      const text = lines.at(i)?.text ?? '';
      if (plainText(text).toLowerCase().includes(q)) this.#found.push(base + i);
    }
    this.#scanned = lines.count;
    return [...this.#found];
  }
}
