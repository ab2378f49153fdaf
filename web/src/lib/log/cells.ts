// Wrapping a line of output into rows of a fixed number of character cells (the log viewer's font
// is monospace): a character takes one cell, a surrogate pair one, a tab reaches the next multiple
// of 8; rows break after a space where they can. Rows keep one height, so the virtual scroller
// stays exact however lines wrap.
import type { Segment } from './ansi.js';

export const TAB_CELLS = 8;
/** Longer lines are cut when shown (the download has them whole). */
export const MAX_SHOWN_CHARS = 10_000;

/**
 * Where each row of `text` starts (offsets into it, the first 0) when a row holds `cols` cells. A
 * row ends after its last space when that is in its second half, else it is cut where it is full.
 */
export function rowStarts(text: string, cols: number): number[] {
  const starts = [0];
  if (cols < 1 || (text.length <= cols && !text.includes('\t'))) return starts;
  let row = 0; // where the row starts
  let cell = 0; // cells taken in it
  let space = -1; // just after its last space
  for (let i = 0; i < text.length;) {
    const c = text.charCodeAt(i);
    const units = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
    const width = c === 9 ? TAB_CELLS - (cell % TAB_CELLS) : 1;
    if (cell > 0 && cell + width > cols) {
      // Full: break after its last space if that keeps half the row, and lay the rest out again.
      row = space > row && space - row >= cols / 2 && space <= i ? space : i;
      starts.push(row);
      i = row;
      cell = 0;
      space = -1;
      continue;
    }
    cell += width;
    i += units;
    if (c === 32 || c === 9) space = i;
  }
  return starts;
}

/** How many rows `text` takes when a row holds `cols` cells (at least one). */
export function rowCount(text: string, cols: number): number {
  return rowStarts(text, cols).length;
}

/** The part of `segments` between offsets `from` and `to` of their joined text. */
export function sliceSegments(segments: Segment[], from: number, to: number): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const seg of segments) {
    const end = at + seg.text.length;
    if (end > from && at < to) {
      const a = Math.max(from, at) - at;
      const b = Math.min(to, end) - at;
      out.push(a === 0 && b === seg.text.length ? seg : { ...seg, text: seg.text.slice(a, b) });
    }
    if (end >= to) break;
    at = end;
  }
  return out;
}
