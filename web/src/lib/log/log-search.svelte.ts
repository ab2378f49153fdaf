// Search in a job's output: which lines match the query (a text in any case or in its case, or a
// regular expression; colours ignored), and which match is current. New output is scanned as it
// arrives, not the whole log again.
import { plainText } from './ansi.js';
import type { LineSource } from './log-lines.svelte.js';
import { isMatcher, makeMatcher, type Matcher } from './matcher.js';

export class LogSearch {
  #query = $state('');
  #regex = $state(false);
  #caseSensitive = $state(false);
  /** Index into `matches` of the match shown, -1 before next()/previous(). */
  current = $state(-1);

  #lines: LineSource;
  /** Line numbers (1-based) of the matches found so far. */
  #found: number[] = [];
  #scannedQuery = '';
  #scanned = 0;
  #originAtScan = 0;

  constructor(lines: LineSource) {
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

  get regex(): boolean {
    return this.#regex;
  }

  set regex(value: boolean) {
    this.#regex = value;
    this.current = -1;
  }

  get caseSensitive(): boolean {
    return this.#caseSensitive;
  }

  set caseSensitive(value: boolean) {
    this.#caseSensitive = value;
    this.current = -1;
  }

  /** What the query asks for, or why it cannot be asked (a broken regular expression). */
  readonly matcher: Matcher | { error: string } | null = $derived(
    makeMatcher({ query: this.#query, regex: this.#regex, caseSensitive: this.#caseSensitive }),
  );

  /** Why the query finds nothing by construction, if it does. */
  readonly error: string | null = $derived(
    this.matcher && !isMatcher(this.matcher) ? this.matcher.error : null,
  );

  /** Line numbers that match, up to date with the lines (reactive on query and lines). */
  readonly matches: readonly number[] = $derived.by(() =>
    this.#scan(this.matcher, this.#lines.version),
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

  #scan(matcher: LogSearch['matcher'], _version: number): number[] {
    const lines = this.#lines;
    const key = `${this.#regex ? 're' : 'text'}:${this.#caseSensitive ? 'case' : 'any'}:${this.#query}`;
    // A new query, or lines added in front (earlier output) or dropped: scan again.
    if (key !== this.#scannedQuery || lines.origin !== this.#originAtScan) {
      this.#found = [];
      this.#scanned = 0;
      this.#scannedQuery = key;
      this.#originAtScan = lines.origin;
    }
    if (!isMatcher(matcher)) return [];
    // The last line scanned may have grown since: look at it again.
    const from = Math.max(0, this.#scanned - 1);
    if (this.#found.length && this.#found.at(-1) === lines.numberOf(from)) this.#found.pop();
    for (let i = from; i < lines.count; i++) {
      const n = lines.numberOf(i); // a fragment has none until its line arrives
      if (n !== null && matcher.ranges(plainText(lines.at(i)!.text)).length > 0)
        this.#found.push(n);
    }
    this.#scanned = lines.count;
    return [...this.#found];
  }
}
