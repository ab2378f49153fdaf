// How the log viewer scrolls: which rows are in view, following the end until the reader scrolls
// up (and again once they are back at the bottom), jumps to a line, and the reader's place kept
// while a log grows (a scaled scrollbar would otherwise slide the text under them).
import type { LineSource } from './log-lines.svelte.js';
import { ROW_HEIGHT, rowAtTop, scrollTopFor, scrollTopForRow, visibleRows } from './viewport.js';

export class LogScroller {
  scrollTop = $state(0);
  viewHeight = $state(0);
  following: boolean;
  readonly window = $derived.by(() =>
    visibleRows(this.#lines.count, this.scrollTop, this.viewHeight),
  );

  #lines: LineSource;
  #el: HTMLElement | null = null;
  /** The row at the top of the view, as a position that stays put while lines are added in front or dropped (fractional). */
  #top = 0;
  /** A scroll position we set to keep the reader's place: its scroll event is not the reader. */
  #restoredTo = -1;
  /** The pointer is down on the log (dragging the scrollbar, selecting): hands off. */
  #holding = false;

  constructor(lines: LineSource, options: { following: boolean }) {
    this.#lines = lines;
    this.following = $state(options.following);
  }

  /** `{@attach}` to the scrolling element. */
  attach = (el: HTMLElement): (() => void) => {
    this.#el = el;
    return () => (this.#el = null);
  };

  hold(on: boolean): void {
    this.#holding = on;
  }

  /** The reader moved up (wheel, keys): stop following before the scroll even lands. */
  pause(): void {
    this.following = false;
  }

  onScroll = (): void => {
    const el = this.#el;
    if (!el) return;
    this.scrollTop = el.scrollTop;
    this.following = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_HEIGHT / 2;
    if (el.scrollTop !== this.#restoredTo) this.#rememberTop();
    this.#restoredTo = -1;
  };

  follow(): void {
    this.following = true;
    this.#set(this.#el?.scrollHeight ?? 0);
  }

  /** To the first line held (earlier ones load from there as usual). */
  top(): void {
    this.following = false;
    this.#set(0);
  }

  /** The Follow button: to the end and following, or, when following, stay where it is. */
  toggleFollow(): void {
    if (this.following) this.pause();
    else this.follow();
  }

  /** Puts line `n` (1-based) in the middle of the view; false when that line is not held. */
  jumpToLine(n: number): boolean {
    const lines = this.#lines;
    const index = lines.indexOf(n);
    if (index === -1) return false;
    this.following = false;
    this.#set(scrollTopFor(index, lines.count, this.viewHeight));
    return true;
  }

  /** After a batch of lines (or a resize) reached the DOM: to the end, or back to the same place. */
  settle(): void {
    const lines = this.#lines;
    if (!this.#el || this.#holding) return;
    if (this.following) return this.#set(this.#el.scrollHeight);
    const top = scrollTopForRow(this.#top - lines.origin, lines.count, this.viewHeight);
    if (Math.abs(top - this.#el.scrollTop) < 1) return;
    this.#el.scrollTop = top;
    this.#restoredTo = this.#el.scrollTop;
    this.scrollTop = this.#el.scrollTop;
  }

  #set(top: number): void {
    if (!this.#el) return;
    this.#el.scrollTop = top;
    this.scrollTop = this.#el.scrollTop;
    this.#rememberTop();
  }

  #rememberTop(): void {
    const lines = this.#lines;
    this.#top = lines.origin + rowAtTop(lines.count, this.scrollTop, this.viewHeight);
  }
}
