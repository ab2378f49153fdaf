import { describe, expect, it } from 'vitest';
import {
  MAX_SCROLL_HEIGHT,
  ROW_HEIGHT,
  rowAtTop,
  scrollTopFor,
  scrollTopForRow,
  visibleRows,
} from './viewport.js';

describe(visibleRows.name, () => {
  it('renders only the rows in view, plus a few either side', () => {
    const w = visibleRows(1000, 100 * ROW_HEIGHT, 30 * ROW_HEIGHT, 5);
    expect(w).toEqual({ first: 95, count: 40, offset: 95 * ROW_HEIGHT, height: 1000 * ROW_HEIGHT });
  });

  it('scales a million lines into a scrollable height and still reaches the last row', () => {
    const view = 600;
    const w = visibleRows(1_000_000, MAX_SCROLL_HEIGHT - view, view, 0);
    expect(w.height).toBe(MAX_SCROLL_HEIGHT);
    expect(w.first + w.count).toBe(1_000_000);
    // The last row's bottom sits at the bottom of the view.
    expect(w.offset + w.count * ROW_HEIGHT).toBeCloseTo(MAX_SCROLL_HEIGHT, 5);
  });

  it('maps a line back to a scroll position that shows it', () => {
    const view = 600;
    const top = scrollTopFor(500_000, 1_000_000, view);
    const w = visibleRows(1_000_000, top, view, 0);
    expect(500_000).toBeGreaterThanOrEqual(w.first);
    expect(500_000).toBeLessThan(w.first + w.count);
  });
});

describe(rowAtTop.name, () => {
  it('keeps the row at the top when a scaled log grows', () => {
    const view = 600;
    const top = scrollTopForRow(400_000, 600_000, view);
    expect(rowAtTop(600_000, top, view)).toBeCloseTo(400_000, 5);
    // The same scrollTop means another row once the log is longer: the viewer re-anchors.
    expect(rowAtTop(1_000_000, top, view)).not.toBeCloseTo(400_000, 0);
    expect(rowAtTop(1_000_000, scrollTopForRow(400_000, 1_000_000, view), view)).toBeCloseTo(
      400_000,
      5,
    );
  });
});
