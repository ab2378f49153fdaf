// Process groups: every job runs in one of its own, so that a signal reaches all it started.
import { readdirSync, readFileSync } from 'node:fs';

/** Signals a whole process group; a group that is already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the group still has a process that is not a zombie. A member that exited but whose
 * parent (often PID 1, after make is gone) has not reaped it yet still answers kill(-pgid, 0),
 * yet there is nothing left running. Linux reads /proc; elsewhere any member counts. The kernel
 * is asked first: a group with no member at all (a job's usual end) costs one syscall, not a read
 * of every process's stat, which with a thousand jobs running blocked the event loop for 20 ms.
 */
export function groupAlive(pgid: number, procDir = '/proc'): boolean {
  if (procDir === '/proc' && !killGroup(pgid, 0)) return false;
  let pids: string[];
  try {
    pids = readdirSync(procDir).filter((d) => /^\d+$/.test(d));
  } catch {
    return killGroup(pgid, 0);
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`${procDir}/${pid}/stat`, 'latin1');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so cut at the last ")".
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}
