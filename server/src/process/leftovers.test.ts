import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { groupAlive, killGroup } from './groups.js';
import { markOf, stopLeftovers, type ProcessMark } from './leftovers.js';

/** A process group of its own, as a job's: `sh -c script`, detached. */
function group(script: string): number {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}

const started: number[] = [];
afterAll(() => started.forEach((pid) => killGroup(pid, 'SIGKILL')));

/** The command names of a process group's live members, sorted. */
function comms(pgid: number): string[] {
  const names: string[] = [];
  for (const d of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z')
        names.push(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
    } catch {
      // gone meanwhile
    }
  }
  return names.sort();
}

/**
 * Waits until `pid`'s group holds exactly these live members: a forked child is named `sh` until
 * it has exec'd its command, so counting members alone would race the exec.
 */
const members = (pid: number, names: string[]) => expect.poll(() => comms(pid)).toEqual(names);

describe('stopLeftovers (real processes)', () => {
  it('ends a whole group with SIGTERM and says which processes it found', async () => {
    const pid = group('sleep 60 & sleep 60 & wait');
    started.push(pid);
    const mark = markOf(pid)!;
    expect(mark).toMatchObject({ pid, boot: expect.stringMatching(/\w/) as unknown });
    await members(pid, ['sh', 'sleep', 'sleep']);
    const said = await stopLeftovers(mark, { graceMs: 5_000 });
    expect(said).toBe('3 of its processes (sh, sleep) were still running; ended them with SIGTERM');
    expect(groupAlive(pid)).toBe(false);
  });

  it('uses SIGKILL once the grace period is over for processes that ignore SIGTERM', async () => {
    // An ignored signal stays ignored across exec: both sh and sleep shrug off SIGTERM.
    const pid = group("trap '' TERM; sleep 60 & wait");
    started.push(pid);
    const mark = markOf(pid)!;
    await members(pid, ['sh', 'sleep']);
    const said = await stopLeftovers(mark, { graceMs: 300, pollMs: 20 });
    expect(said).toBe(
      '2 of its processes (sh, sleep) were still running; ended them with SIGKILL after SIGTERM left them running for 0.3 s',
    );
    await expect.poll(() => groupAlive(pid)).toBe(false);
  });

  it('finds the group after its leader is gone', async () => {
    const pid = group('sleep 60 & sleep 0.2');
    started.push(pid);
    const mark = markOf(pid)!;
    await expect.poll(() => markOf(pid)).toBeNull(); // the leader exited (and was reaped)
    expect(await stopLeftovers(mark, { graceMs: 5_000 })).toBe(
      '1 of its processes (sleep) were still running; ended them with SIGTERM',
    );
    expect(groupAlive(pid)).toBe(false);
  });

  it('says nothing when nothing of the job runs any more', async () => {
    const pid = group('exit 0');
    const mark = markOf(pid) ?? { pid, start: 1, boot: readBoot(), host: 'here' };
    await expect.poll(() => groupAlive(pid)).toBe(false);
    expect(await stopLeftovers(mark, { graceMs: 1_000 })).toBeNull();
  });
});

const readBoot = () => readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();

describe('stopLeftovers (a /proc of our own)', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'vmo-proc-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'sys/kernel/random'), { recursive: true });
  writeFileSync(path.join(root, 'sys/kernel/random/boot_id'), 'boot-a\n');
  const proc = (pid: number, comm: string, state: string, pgrp: number, start: number) => {
    mkdirSync(path.join(root, String(pid)), { recursive: true });
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
    // stime cutime cstime priority nice threads itreal starttime …
    const rest = [state, 1, pgrp, pgrp, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 1, 0, start, 0];
    writeFileSync(path.join(root, String(pid), 'stat'), `${pid} (${comm}) ${rest.join(' ')}\n`);
  };
  const mark: ProcessMark = { pid: 100, start: 5000, boot: 'boot-a', host: 'web1' };
  const signals: string[] = [];
  const signal = (pgid: number, s: NodeJS.Signals) => (signals.push(`${s} -${pgid}`), true);

  it('reads a mark: pid, start time (a comm with spaces and parentheses), boot', () => {
    proc(100, 'my (odd) make', 'S', 100, 5000);
    expect(markOf(100, root)).toMatchObject({ pid: 100, start: 5000, boot: 'boot-a' });
    expect(markOf(101, root)).toBeNull();
    expect(markOf(undefined, root)).toBeNull(); // never started
    expect(markOf(100, path.join(root, 'missing'))).toBeNull();
  });

  it('never signals a pid that now names a later process', async () => {
    proc(100, 'postgres', 'S', 100, 9000);
    expect(await stopLeftovers(mark, { graceMs: 100, procDir: root, signal })).toBe(
      'pid 100 is now another process (postgres); nothing was signalled',
    );
    expect(signals).toEqual([]);
  });

  it('does not look on another boot or machine', async () => {
    expect(
      await stopLeftovers({ ...mark, boot: 'boot-b' }, { graceMs: 100, procDir: root, signal }),
    ).toBe(
      'its processes ran on web1 before a reboot or on another machine (pid 100); they were not looked for here',
    );
    expect(signals).toEqual([]);
  });

  it('leaves zombies and processes older than the leader out', async () => {
    proc(100, 'make', 'Z', 100, 5000);
    proc(102, 'sleep', 'S', 100, 4000); // older than the mark: not of this job
    expect(await stopLeftovers(mark, { graceMs: 100, procDir: root, signal })).toBeNull();
    expect(signals).toEqual([]);
  });

  it('sends SIGKILL after the grace period when the group stays', async () => {
    proc(103, 'sleep', 'S', 100, 5001);
    expect(await stopLeftovers(mark, { graceMs: 60, pollMs: 10, procDir: root, signal })).toMatch(
      /^1 of its processes \(sleep\) were still running; ended them with SIGKILL/,
    );
    expect(signals).toEqual(['SIGTERM -100', 'SIGKILL -100']);
  });

  it('finds nothing where there is no /proc to read', async () => {
    const bare = mkdtempSync(path.join(tmpdir(), 'vmo-proc-'));
    mkdirSync(path.join(bare, 'sys/kernel/random'), { recursive: true });
    writeFileSync(path.join(bare, 'sys/kernel/random/boot_id'), 'boot-a');
    rmSync(bare, { recursive: true });
    expect(await stopLeftovers(mark, { graceMs: 10, procDir: bare, signal })).toMatch(
      /not looked for/,
    );
  });
});
