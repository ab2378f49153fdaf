import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TOASTS, TOAST_MS, Toasts } from './toasts.svelte.js';

describe(Toasts.name, () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('shows a toast and dismisses it by itself after 6 s', () => {
    const toasts = new Toasts();
    const id = toasts.show({ message: 'make hello — success', tone: 'success', href: '/jobs/j1' });
    expect(toasts.items).toEqual([
      { id, message: 'make hello — success', tone: 'success', href: '/jobs/j1' },
    ]);
    vi.advanceTimersByTime(TOAST_MS - 1);
    expect(toasts.items).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(toasts.items).toEqual([]);
  });

  it('dismisses one toast by hand, leaving the others and their timers', () => {
    const toasts = new Toasts(1000);
    const first = toasts.show({ message: 'one' });
    vi.advanceTimersByTime(500);
    const second = toasts.show({ message: 'two' });
    toasts.dismiss(first);
    expect(toasts.items.map((t) => t.id)).toEqual([second]);
    expect(toasts.items[0]?.tone).toBe('info');
    vi.advanceTimersByTime(999);
    expect(toasts.items).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(toasts.items).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it(`keeps at most ${MAX_TOASTS}, dropping the oldest`, () => {
    const toasts = new Toasts();
    for (let i = 1; i <= MAX_TOASTS + 2; i++) toasts.show({ message: `job ${i}` });
    expect(toasts.items.map((t) => t.message)).toEqual(
      Array.from({ length: MAX_TOASTS }, (_, i) => `job ${i + 3}`),
    );
    expect(vi.getTimerCount()).toBe(MAX_TOASTS);
  });

  it('clear() drops every toast and timer', () => {
    const toasts = new Toasts();
    toasts.show({ message: 'a' });
    toasts.show({ message: 'b' });
    toasts.clear();
    expect(toasts.items).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
