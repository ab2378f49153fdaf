// Keyboard shortcuts (issue 29): one listener on the window (the shell's Shortcuts component);
// the shell's own keys, and those a page registers while it is shown (the log viewer's follow, top
// and bottom; a job's re-run form). `?` lists what the page in view offers.

import { untrack } from 'svelte';

export interface Shortcut {
  /** The key as KeyboardEvent.key has it: `f`, `G`, `/`. */
  key: string;
  /** What it does, for the list under `?`. */
  label: string;
  run: () => void;
}

/** What the pages in view offer now, the newest registration first for a key. */
export const pageShortcuts = $state<Shortcut[]>([]);

/** Registers `list` while the calling component is mounted (call it during its initialisation). */
export function useShortcuts(list: () => Shortcut[]): void {
  $effect(() => {
    const mine = list();
    // Untracked: the effect depends on what `list` reads, never on the registry it changes.
    untrack(() => pageShortcuts.unshift(...mine));
    return () =>
      untrack(() => {
        for (const s of mine) {
          const i = pageShortcuts.indexOf(s);
          if (i >= 0) pageShortcuts.splice(i, 1);
        }
      });
  });
}

/** Keys typed into a field are the field's; a modifier makes it someone else's shortcut. */
export function isForShortcuts(e: KeyboardEvent): boolean {
  if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || e.isComposing) return false;
  const el = e.target as HTMLElement | null;
  if (!el) return true;
  if (el.isContentEditable) return false;
  if (el.closest('[role=dialog], .xterm')) return false;
  return !['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

/** Moves the focus to the next (1) or previous (-1) job of the list in view; true when there is one. */
export function moveThroughJobs(step: 1 | -1): boolean {
  const links = [...document.querySelectorAll<HTMLAnchorElement>('[data-job] a[href^="/jobs/"]')];
  if (links.length === 0) return false;
  const at = links.findIndex((a) => a === document.activeElement);
  const next = at === -1 ? (step === 1 ? 0 : links.length - 1) : at + step;
  const link = links[Math.max(0, Math.min(links.length - 1, next))]!;
  link.focus();
  link.scrollIntoView({ block: 'nearest' });
  return true;
}
