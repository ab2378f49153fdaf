// How the log viewer scrolls: which rows are in view, following the end until the reader scrolls
// up (and again once they are back at the bottom), jumps to a line, and the reader's place kept
// while a log grows (a scaled scrollbar would otherwise slide the text under them).
import { ROW_HEIGHT, rowAtTop, scrollTopFor, scrollTopForRow, visibleRows } from './viewport.js';
import type { RowSource } from './wrapped-rows.svelte.js';

export class LogScroller {
  scrollTop = $state(0);
  viewHeight = $state(0);
  following: boolean;
  readonly window = $derived.by(() =>
    visibleRows(this.#rows.count, this.scrollTop, this.viewHeight),
  );

  /** The lines as they are, or wrapped into rows. */
  #rows: RowSource;
  #el: HTMLElement | null = null;
  /** The row at the top of the view, as a position that stays put while lines are added in front or dropped (fractional). */
  #top = 0;
  /** A scroll position we set to keep the reader's place: its scroll event is not the reader. */
  #restoredTo = -1;
  /** The pointer is down on the log (dragging the scrollbar, selecting): hands off. */
  #holding = false;

  constructor(rows: RowSource, options: { following: boolean }) {
    this.#rows = $state.raw(rows);
    this.following = $state(options.following);
  }

  /**
   * Shows other rows (wrapping turned on or off), or the same ones laid out again (a new width):
   * `change` makes the change, and the line at the top of the view stays there.
   */
  relayout(change: () => RowSource | void): void {
    const before = this.#rows;
    const at = rowAtTop(before.count, this.scrollTop, this.viewHeight);
    const n = before.numberOf(Math.floor(at));
    const into = at - Math.floor(at);
    this.#rows = change() ?? before;
    const index = n === null ? -1 : this.#rows.indexOf(n);
    if (index !== -1) this.#top = this.#rows.origin + index + into;
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
    const rows = this.#rows;
    const index = rows.indexOf(n);
    if (index === -1) return false;
    this.following = false;
    this.#set(scrollTopFor(index, rows.count, this.viewHeight));
    return true;
  }

  /** After a batch of lines (or a resize) reached the DOM: to the end, or back to the same place. */
  settle(): void {
    const rows = this.#rows;
    if (!this.#el || this.#holding) return;
    if (this.following) return this.#set(this.#el.scrollHeight);
    const top = scrollTopForRow(this.#top - rows.origin, rows.count, this.viewHeight);
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
    const rows = this.#rows;
    this.#top = rows.origin + rowAtTop(rows.count, this.scrollTop, this.viewHeight);
  }
}
