// Memory of a system of processes: PSS (each process's share of the pages it shares with others),
// summed over process trees, leaving out the workload (the jobs' own make and generators).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { postmasterPid, sleep } from './lib.js';

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const readOr = (file) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};
const listOr = (dir) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** Proportional set size of a process, in kB (0 once it ended). */
export function pssKb(pid) {
  const m = /^Pss:\s+(\d+) kB/m.exec(readOr(`/proc/${pid}/smaps_rollup`));
  return m ? Number(m[1]) : 0;
}

/** The pids under `root` (itself included), by /proc's children lists. */
export function tree(root) {
  const out = [];
  const walk = (pid) => {
    out.push(pid);
    for (const task of listOr(`/proc/${pid}/task`)) {
      const kids = readOr(`/proc/${pid}/task/${task}/children`).trim();
      for (const k of kids ? kids.split(/\s+/) : []) walk(Number(k));
    }
  };
  walk(root);
  return out;
}

/** The command line of a process, split (empty once it ended). */
export const argvOf = (pid) => readOr(`/proc/${pid}/cmdline`).split('\0').filter(Boolean);

/** The bench project's workload: make and what its recipes run (gen.js, perl). */
export const isWorkload = (pid) => {
  const cmd = argvOf(pid);
  const exe = path.basename(cmd[0] ?? '');
  return exe === 'make' || exe === 'perl' || cmd.some((a) => a.endsWith('gen.js'));
};

/** PSS of the system's processes in kB: the roots' trees without the workload. */
export const systemPss = (roots) =>
  roots
    .flatMap(tree)
    .filter((p) => !isWorkload(p))
    .reduce((n, p) => n + pssKb(p), 0);

/** The median of 5 samples a second apart (a heap grows and shrinks as it collects). */
export async function steadyPss(roots) {
  const xs = [];
  for (let i = 0; i < 5; i++) {
    if (i) await sleep(1000);
    xs.push(systemPss(roots));
  }
  return median(xs);
}

/** Our server and its embedded Postgres: the roots whose PSS is the system's. */
export const serverRoots = (server) => [server.pid, postmasterPid(server.dataDir)];
