// Small, polite notices in a corner of the signed-in shell (e.g. "make hello — success"): each
// goes away by itself after a while, or when dismissed. One store per tab, shared via context.
import { createContext } from 'svelte';

export type ToastTone = 'success' | 'error' | 'info';

export interface Toast {
  id: number;
  message: string;
  tone: ToastTone;
  /** Where the toast's message links to, e.g. `/jobs/:id`. */
  href?: string;
}

export const TOAST_MS = 6000;
/** More than this and the oldest go first: a burst must not cover the page. */
export const MAX_TOASTS = 5;

export class Toasts {
  items = $state.raw<Toast[]>([]);

  #nextId = 1;
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- timers, not state
  #timers = new Map<number, ReturnType<typeof setTimeout>>();
  readonly #durationMs: number;

  constructor(durationMs = TOAST_MS) {
    this.#durationMs = durationMs;
  }

  /** Shows a toast and returns its id. */
  show(toast: { message: string; tone?: ToastTone; href?: string }): number {
    const id = this.#nextId++;
    const kept = this.items.slice(-(MAX_TOASTS - 1));
    for (const dropped of this.items.slice(0, this.items.length - kept.length)) {
      this.#clearTimer(dropped.id);
    }
    this.items = [...kept, { id, tone: 'info', ...toast }];
    this.#timers.set(
      id,
      setTimeout(() => this.dismiss(id), this.#durationMs),
    );
    return id;
  }

  dismiss(id: number): void {
    this.#clearTimer(id);
    this.items = this.items.filter((t) => t.id !== id);
  }

  /** Drops every toast and its timer (the layout's cleanup). */
  clear(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.items = [];
  }

  #clearTimer(id: number): void {
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
  }
}

const [useToasts, setToasts] = createContext<Toasts>();

export { setToasts, useToasts };
