// A long job's output read from its end: the last page opens the viewer at once, earlier pages
// come as the reader scrolls up, or all of them for a search or a #L link further up.
import type { Job, TailCursor, TailPage } from '@vmo/protocol';
import type { LogLines } from './log-lines.svelte.js';

/** The output before `at` (its end when null), about `bytes` of it. */
export type FetchTail = (at: TailCursor | null, bytes: number) => Promise<TailPage>;

/** Where the page before `page` ends; null when `page` starts at the output's start. */
const cursorBefore = (page: TailPage): TailCursor | null =>
  page.nextBefore === null ? null : { before: page.nextBefore, cut: page.nextCut };

/** Pages of about this many bytes: quick to fetch and to split into lines (~16,000 short lines). */
export const PAGE_BYTES = 1024 * 1024;
/**
 * The first page, smaller: what opens a job is its last screens (a few thousand lines), and the
 * browser splits every line it is given before the first is shown. The server cuts an event that
 * would take a page past its bytes at a line's start, so a job of 1 MiB events opens with 128 KiB.
 */
export const OPEN_BYTES = 128 * 1024;

/** A job whose log opens at its end through LogHistory: not a terminal, not a fan-out's merged view. */
export const opensAtItsEnd = (job: Pick<Job, 'type' | 'can'>): boolean =>
  job.can.readOutput && job.type !== 'terminal' && job.type !== 'group';

export class LogHistory {
  /** Where the output held starts; null once its start is held. */
  #firstHeld = $state<TailCursor | null>(null);
  #lastSeq = 0;
  #busy: Promise<void> | null = null;
  /** A page being fetched. */
  loading = $state(false);
  error = $state<string | null>(null);

  constructor(
    private readonly lines: LogLines,
    private readonly fetchTail: FetchTail,
  ) {}

  /** Earlier output can still be loaded (reactive). */
  get more(): boolean {
    return this.#firstHeld !== null && this.lines.dropped === 0 && this.error === null;
  }

  /** How much of the output is held, 0–1, by events (reactive). */
  get progress(): number {
    const first = this.#firstHeld;
    return first === null || this.#lastSeq === 0 ? 1 : 1 - (first.before - 1) / this.#lastSeq;
  }

  /**
   * Loads the output's end into the empty lines. Resolves with the seq to follow live after; 0 when
   * the output has to be read from its start (stored before line marks: nothing was loaded).
   */
  async open(asked?: Promise<TailPage> | null): Promise<number> {
    const page = await (asked ?? this.fetchTail(null, OPEN_BYTES));
    if (page.lineStart === null) return 0;
    this.lines.start({ lineStart: page.lineStart, open: page.open });
    this.lines.append(page.events);
    this.#firstHeld = cursorBefore(page);
    this.#lastSeq = page.events.at(-1)?.seq ?? 0;
    return this.#lastSeq;
  }

  /** The page before what is held (one at a time; a call while one loads waits for it). */
  loadEarlier(): Promise<void> {
    if (this.#busy) return this.#busy;
    const before = this.#firstHeld;
    if (before === null || !this.more) return Promise.resolve();
    this.loading = true;
    this.#busy = this.fetchTail(before, PAGE_BYTES)
      .then((page) => {
        if (page.lineStart === null) throw new Error('the earlier output has no line numbers');
        this.lines.prepend(page.events, { lineStart: page.lineStart, open: page.open });
        this.#firstHeld = cursorBefore(page);
      })
      .catch((err: unknown) => {
        this.error = `Earlier output could not be loaded: ${err instanceof Error ? err.message : String(err)}`;
      })
      .finally(() => {
        this.loading = false;
        this.#busy = null;
      });
    return this.#busy;
  }

  /** Loads earlier pages until line `n` is held (or nothing more can be loaded). */
  async loadUntil(n: number): Promise<void> {
    while (this.more && this.lines.before >= n) await this.loadEarlier();
  }

  /** Loads everything before what is held. */
  async loadAll(): Promise<void> {
    while (this.more) await this.loadEarlier();
  }
}
