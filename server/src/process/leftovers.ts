// A job's processes must not outlive a server that died under them (SIGKILL, OOM, power cut of the
// process only). Each job records who its process group leader is: pid, its start time (clock ticks
// after boot, /proc/<pid>/stat field 22) and the boot it ran in. After a restart the server ends
// the groups of the jobs it marks interrupted, but only after checking that the pid still names
// the same process: a pid number is reused, a (pid, start time, boot) triple is not.
import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { killGroup } from './groups.js';

/** Who a job's process group leader is. */
export interface ProcessMark {
  pid: number;
  /** Start time in clock ticks after boot. */
  start: number;
  /** /proc/sys/kernel/random/boot_id: another boot (or machine) has other processes. */
  boot: string;
  /** For the words only. */
  host: string;
}

interface Stat {
  pid: number;
  comm: string;
  state: string;
  pgrp: number;
  start: number;
}

function stat(pid: number | string, procDir: string): Stat | null {
  let text: string;
  try {
    text = readFileSync(`${procDir}/${pid}/stat`, 'latin1');
  } catch {
    return null; // gone, or no /proc
  }
  // "pid (comm) state ppid pgrp session … starttime(22) …": comm may hold spaces and parentheses.
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  return {
    pid: Number(pid),
    comm: text.slice(text.indexOf('(') + 1, close),
    state: f[0]!,
    pgrp: Number(f[2]),
    start: Number(f[19]),
  };
}

function bootId(procDir: string): string | null {
  try {
    return readFileSync(`${procDir}/sys/kernel/random/boot_id`, 'latin1').trim();
  } catch {
    return null;
  }
}

/** The mark of a process that was just started; null without one, or where /proc cannot tell. */
export function markOf(pid: number | undefined, procDir = '/proc'): ProcessMark | null {
  if (pid === undefined) return null;
  const s = stat(pid, procDir);
  const boot = bootId(procDir);
  if (!s || !boot) return null;
  return { pid, start: s.start, boot, host: hostname() };
}

/** Live members of the group led (once) by `mark.pid` that started no earlier than the leader. */
function members(mark: ProcessMark, procDir: string): Stat[] {
  // (procDir is readable: its boot id was.)
  return readdirSync(procDir)
    .filter((d) => /^\d+$/.test(d))
    .map((p) => stat(p, procDir))
    .filter(
      (s): s is Stat =>
        s !== null &&
        s.pgrp === mark.pid &&
        s.start >= mark.start &&
        s.state !== 'Z' &&
        s.state !== 'X',
    );
}

export interface StopOptions {
  graceMs: number;
  procDir?: string;
  /** How often to look whether the group is gone, between SIGTERM and SIGKILL. */
  pollMs?: number;
  signal?: (pgid: number, signal: NodeJS.Signals) => boolean;
}

/**
 * Ends what is left of a job's process group: SIGTERM, then SIGKILL after `graceMs` for what
 * still runs. Says what it found and did in one line for the job's system events, or null when
 * nothing of the job was running any more.
 */
export async function stopLeftovers(mark: ProcessMark, o: StopOptions): Promise<string | null> {
  const procDir = o.procDir ?? '/proc';
  const signal = o.signal ?? killGroup;
  if (bootId(procDir) !== mark.boot)
    return `its processes ran on ${mark.host} before a reboot or on another machine (pid ${mark.pid}); they were not looked for here`;
  const leader = stat(mark.pid, procDir);
  // The leader's pid now names a process started later: another program; leave it alone. (While
  // any member still holds the group id, Linux does not hand that number out again.)
  if (leader && leader.start !== mark.start)
    return `pid ${mark.pid} is now another process (${leader.comm}); nothing was signalled`;
  const found = members(mark, procDir);
  if (found.length === 0) return null;
  const names = [...new Set(found.map((s) => s.comm))].join(', ');
  const what = `${found.length} of its processes (${names}) were still running`;
  signal(mark.pid, 'SIGTERM');
  const deadline = Date.now() + o.graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, o.pollMs ?? 50));
    if (members(mark, procDir).length === 0) return `${what}; ended them with SIGTERM`;
  }
  signal(mark.pid, 'SIGKILL');
  return `${what}; ended them with SIGKILL after SIGTERM left them running for ${o.graceMs / 1000} s`;
}
