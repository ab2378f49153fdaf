// Virtual scrolling for the log viewer: which rows to render for a scroll position, with rows of
// one fixed height. Past a few million pixels browsers stop growing an element, so a long log
// gets a scaled scrollbar: scroll positions map proportionally onto row offsets.

export const ROW_HEIGHT = 20;
/** Below every browser's cap on element height (Firefox's is near 17.9 million px). */
export const MAX_SCROLL_HEIGHT = 8_000_000;

export interface RowWindow {
  /** Index of the first row to render. */
  first: number;
  /** How many rows to render from `first`. */
  count: number;
  /** Where row `first` goes, in px from the top of the scrolled content. */
  offset: number;
  /** Height of the scrolled content. */
  height: number;
}

function geometry(total: number, viewHeight: number) {
  const full = total * ROW_HEIGHT;
  const height = Math.min(full, MAX_SCROLL_HEIGHT);
  const ratio = height > viewHeight ? (full - viewHeight) / (height - viewHeight) : 1;
  return { full, height, ratio };
}

export function visibleRows(
  total: number,
  scrollTop: number,
  viewHeight: number,
  overscan = 8,
): RowWindow {
  const { height, ratio } = geometry(total, viewHeight);
  const top = Math.max(0, Math.min(scrollTop, height - viewHeight));
  const virtualTop = top * ratio;
  const first = Math.max(0, Math.floor(virtualTop / ROW_HEIGHT) - overscan);
  const end = Math.min(total, Math.ceil((virtualTop + viewHeight) / ROW_HEIGHT) + overscan);
  return {
    first,
    count: Math.max(0, end - first),
    offset: top + (first * ROW_HEIGHT - virtualTop),
    height,
  };
}

/** The row (fractional) at the top of the view for a scroll position. */
export function rowAtTop(total: number, scrollTop: number, viewHeight: number): number {
  const { height, ratio } = geometry(total, viewHeight);
  return (Math.max(0, Math.min(scrollTop, height - viewHeight)) * ratio) / ROW_HEIGHT;
}

/** The scrollTop that puts row `index` (fractional) at the top of the view. */
export function scrollTopForRow(index: number, total: number, viewHeight: number): number {
  const { full, ratio } = geometry(total, viewHeight);
  return Math.max(0, Math.min(index * ROW_HEIGHT, full - viewHeight)) / ratio;
}

/** The scrollTop that puts row `index` in the middle of the view. */
export function scrollTopFor(index: number, total: number, viewHeight: number): number {
  return scrollTopForRow(index + 0.5 - viewHeight / 2 / ROW_HEIGHT, total, viewHeight);
}
