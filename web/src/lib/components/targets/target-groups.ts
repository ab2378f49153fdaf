// A project's targets as its own `make help` groups them: documented ones under their `##@`
// sections in the order the server ranked them, the other tasks after them, and the files make
// builds (object files, CMake's fast targets…) folded under "more".
import type { TargetInfo } from '@vmo/protocol';

export interface TargetGroup {
  /** The `##@` section, or null for targets outside any. */
  title: string | null;
  targets: TargetInfo[];
}

export function groupTargets(targets: TargetInfo[]): { groups: TargetGroup[]; more: TargetInfo[] } {
  const groups: TargetGroup[] = [];
  const more: TargetInfo[] = [];
  for (const target of targets) {
    if (target.more) {
      more.push(target);
      continue;
    }
    const title = target.section ?? null;
    const last = groups.at(-1);
    // Consecutive targets of one section stay one group; a section met again later stays apart,
    // as `make help` would print it.
    if (last && last.title === title) last.targets.push(target);
    else groups.push({ title, targets: [target] });
  }
  return { groups, more };
}
