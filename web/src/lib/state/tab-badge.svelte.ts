// What the tab's title counts (issue 24): the user's jobs running now, and those that failed while
// the tab was out of sight, until it is looked at again: "(2 running, 1 failed) Jobs · …".
export const tabBadge = $state({ running: 0, failed: 0 });

/** The title's prefix for those counts; empty when there is nothing to count. */
export function badgeText(running: number, failed: number): string {
  const parts = [running ? `${running} running` : '', failed ? `${failed} failed` : ''].filter(
    Boolean,
  );
  return parts.length ? `(${parts.join(', ')}) ` : '';
}
