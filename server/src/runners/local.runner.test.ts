// Real processes through LocalRunner: exit codes, signals, cancel of the whole group, pause and
// resume by backpressure, and leftovers that outlive the main process.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunHandle } from './runner.js';
import { LocalRunner } from './local.runner.js';
import { groupAlive, killGroup } from '../process/groups.js';

/** Collects what the runner reads, per stream. */
class Sink {
  readonly chunks: { stream: 'stdout' | 'stderr' | 'pty'; data: Buffer }[] = [];
  write(stream: 'stdout' | 'stderr' | 'pty', data: Buffer): void {
    this.chunks.push({ stream, data });
  }
  text(stream: 'stdout' | 'stderr'): string {
    return Buffer.concat(
      this.chunks.filter((c) => c.stream === stream).map((c) => c.data),
    ).toString();
  }
  get bytes(): number {
    return this.chunks.reduce((n, c) => n + c.data.length, 0);
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); it is gone for our purposes.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

const handles: RunHandle[] = [];
const runner = new LocalRunner({ lingerMs: 100, graceMs: 200 });

function run(
  argv: [string, ...string[]],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdoutAs?: 'stdout' | 'pty' } = {},
) {
  const sink = new Sink();
  const handle = runner.start(
    { argv, cwd: opts.cwd, env: opts.env ?? process.env, stdoutAs: opts.stdoutAs },
    sink,
  );
  handles.push(handle);
  return { handle, sink };
}

afterEach(async () => {
  // Whatever a failed test left running is stopped.
  for (const h of handles.splice(0)) {
    h.cancel(0);
    await h.done;
  }
});

describe(LocalRunner.name, () => {
  it('reports the exit code and the output of each stream apart', async () => {
    const { handle, sink } = run(['sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(handle.pid).toEqual(expect.any(Number));
    expect(await handle.done).toEqual({ exitCode: 7, signal: null });
    expect(sink.text('stdout')).toBe('out\n');
    expect(sink.text('stderr')).toBe('err\n');
  });

  it('labels stdout as the pty stream when asked (a remote tty), stderr staying apart', async () => {
    const { handle, sink } = run(['sh', '-c', 'printf "tty\\r\\n"; echo err >&2'], {
      stdoutAs: 'pty',
    });
    expect(await handle.done).toEqual({ exitCode: 0, signal: null });
    expect(sink.chunks.map((c) => c.stream).sort()).toEqual(['pty', 'stderr']);
    expect(
      Buffer.concat(sink.chunks.filter((c) => c.stream === 'pty').map((c) => c.data)).toString(),
    ).toBe('tty\r\n');
    expect(sink.text('stderr')).toBe('err\n');
  });

  it('runs argv without a shell, in cwd, with the given environment and stdin from /dev/null', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vmo-runner-'));
    const { handle, sink } = run(
      [
        'sh',
        '-c',
        'pwd; echo "$ONLY_HERE"; echo "$1"; cat; echo "stdin closed"',
        'sh',
        '$(id) `id`',
      ],
      { cwd: dir, env: { PATH: process.env.PATH, ONLY_HERE: 'yes' } },
    );
    expect(await handle.done).toEqual({ exitCode: 0, signal: null });
    expect(sink.text('stdout')).toBe(`${dir}\nyes\n$(id) \`id\`\nstdin closed\n`);
  });

  it('runs the command in a process group of its own', async () => {
    const { handle, sink } = run(['sh', '-c', 'ps -o pgid= -p $$']);
    await handle.done;
    expect(Number(sink.text('stdout').trim())).toBe(handle.pid);
    expect(handle.pid).not.toBe(process.pid);
  });

  it('reports death by a signal by the signal name', async () => {
    const { handle } = run(['sh', '-c', 'kill -USR1 $$']);
    expect(await handle.done).toEqual({ exitCode: null, signal: 'SIGUSR1' });
  });

  it('reports a program that cannot be started as an error, and done still resolves', async () => {
    const { handle, sink } = run(['/nonexistent/vmo-no-such-program', 'x']);
    expect(handle.pid).toBeUndefined();
    const result = await handle.done;
    expect(result).toMatchObject({ exitCode: null, signal: null });
    expect(result.error).toMatch(/ENOENT/);
    expect(sink.bytes).toBe(0);
    handle.cancel(0); // nothing to signal: harmless
  });

  it('cancel sends SIGTERM to the whole group: background children too', async () => {
    const { handle, sink } = run(['sh', '-c', 'sleep 30 & echo $!; wait']);
    await expect.poll(() => sink.text('stdout')).toMatch(/^\d+\n$/);
    const child = Number(sink.text('stdout'));
    expect(alive(child)).toBe(true);
    handle.cancel(10_000);
    expect(await handle.done).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
    await expect.poll(() => alive(child)).toBe(false);
  });

  it('cancel sends SIGKILL after the grace period to a process that ignores SIGTERM', async () => {
    const { handle, sink } = run(['sh', '-c', 'trap "" TERM; echo ready; sleep 30']);
    await expect.poll(() => sink.text('stdout')).toBe('ready\n');
    handle.cancel(200);
    expect(await handle.done).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
  });

  it('sends SIGTERM first, so a process that handles it sees it before the SIGKILL', async () => {
    const script = 'trap "echo got TERM" TERM; echo ready; while :; do sleep 0.05; done';
    const { handle, sink } = run(['sh', '-c', script]);
    await expect.poll(() => sink.text('stdout')).toBe('ready\n');
    handle.cancel(300);
    handle.cancel(300); // a second cancel neither throws nor changes the outcome
    expect(await handle.done).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
    expect(sink.text('stdout')).toMatch(/^ready\n(got TERM\n)+$/);
  });

  it('cancel after the process ended is harmless', async () => {
    const { handle, sink } = run(['sh', '-c', 'echo done']);
    const result = await handle.done;
    expect(() => handle.cancel(0)).not.toThrow();
    expect(await handle.done).toBe(result);
    expect(result).toEqual({ exitCode: 0, signal: null });
    expect(sink.text('stdout')).toBe('done\n');
  });

  it('pause stops reading, so the producer blocks on the full pipe; resume goes on', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vmo-runner-'));
    const progress = path.join(dir, 'written');
    // Writes 1 KiB lines forever, appending a byte to a file after each: its size counts them.
    const script = 'i=0; while :; do printf "%01023d\\n" "$i"; i=$((i+1)); printf x >> "$F"; done';
    const { handle, sink } = run(['sh', '-c', script], { env: { ...process.env, F: progress } });
    const written = () => (existsSync(progress) ? statSync(progress).size : 0);
    await expect.poll(() => sink.bytes).toBeGreaterThan(256 * 1024);

    handle.pause();
    const readAtPause = sink.bytes;
    // The producer stops once the pipe is full: its count stays put.
    await expect
      .poll(async () => {
        const before = written();
        await new Promise((r) => setTimeout(r, 100));
        return written() === before;
      })
      .toBe(true);
    const stuckAt = written();
    await new Promise((r) => setTimeout(r, 100));
    expect(sink.bytes).toBe(readAtPause);
    expect(written()).toBe(stuckAt);

    handle.resume();
    await expect.poll(() => sink.bytes).toBeGreaterThan(readAtPause + 256 * 1024);
    await expect.poll(written).toBeGreaterThan(stuckAt + 256);
    handle.cancel(0);
    expect((await handle.done).signal).toBe('SIGTERM');
  });

  it('stops a background child that still holds the output after lingerMs, and says so', async () => {
    const { handle, sink } = run(['sh', '-c', 'sleep 30 & echo $!; echo bye']);
    const result = await handle.done;
    expect(result).toEqual({ exitCode: 0, signal: null, strays: true });
    const [child] = sink.text('stdout').split('\n').map(Number);
    await expect.poll(() => alive(child!)).toBe(false);
  });

  it('kills a leftover that closed its output but still runs', async () => {
    const { handle, sink } = run(['sh', '-c', 'sleep 30 >/dev/null 2>&1 & echo $!']);
    const result = await handle.done;
    expect(result).toEqual({ exitCode: 0, signal: null, strays: true });
    const child = Number(sink.text('stdout'));
    await expect.poll(() => alive(child)).toBe(false);
  });

  it('SIGKILLs a leftover that ignores the SIGTERM sent after lingerMs', async () => {
    const { handle, sink } = run(['sh', '-c', '(trap "" TERM; sleep 30) & echo $!']);
    const result = await handle.done;
    expect(result).toEqual({ exitCode: 0, signal: null, strays: true });
    const child = Number(sink.text('stdout'));
    await expect.poll(() => alive(child)).toBe(false);
  });
});

describe(killGroup.name, () => {
  it('signals a live group and returns true', async () => {
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
    expect(killGroup(child.pid!, 'SIGTERM')).toBe(true);
    expect(await exited).toBe('SIGTERM');
  });

  it('returns false for a group that is gone', async () => {
    const child = spawn('true', [], { detached: true, stdio: 'ignore' });
    await new Promise((r) => child.once('exit', r));
    expect(killGroup(child.pid!, 'SIGTERM')).toBe(false);
  });
});

describe(groupAlive.name, () => {
  /** A /proc of our own: one `stat` line per pid. */
  function fakeProc(stats: Record<number, string>): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'vmo-proc-'));
    mkdirSync(path.join(dir, 'self'));
    for (const [pid, stat] of Object.entries(stats)) {
      mkdirSync(path.join(dir, pid));
      writeFileSync(path.join(dir, pid, 'stat'), stat);
    }
    mkdirSync(path.join(dir, '999')); // a process that vanished between readdir and read
    return dir;
  }

  it('does not count zombies waiting for PID 1: a cancel that killed everything left no strays', () => {
    const proc = fakeProc({
      101: '101 (make) Z 1 100 100 0 -1',
      102: '102 (sleep (x) y) Z 1 100 100 0 -1', // a command name with spaces and parentheses
      103: '103 (sh) S 1 555 555 0 -1', // alive, in another group
    });
    expect(groupAlive(100, proc)).toBe(false);
    expect(groupAlive(555, proc)).toBe(true);
  });

  it('counts a live member whatever its name', () => {
    const proc = fakeProc({ 201: '201 (a) b) c) R 1 200 200 0 -1' });
    expect(groupAlive(200, proc)).toBe(true);
  });

  it('sees a real group, with a zombie in it, and its end', async () => {
    // `exec sleep` never reaps the `sleep 0` its shell started: a zombie beside a live process.
    const child = spawn('sh', ['-c', 'sleep 0 & exec sleep 30'], {
      detached: true,
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.once('exit', r));
    expect(groupAlive(child.pid!)).toBe(true);
    killGroup(child.pid!, 'SIGKILL');
    await exited;
    await expect.poll(() => groupAlive(child.pid!)).toBe(false);
  });

  it('falls back to kill(0) where there is no /proc', async () => {
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    expect(groupAlive(child.pid!, '/nonexistent-proc')).toBe(true);
    killGroup(child.pid!, 'SIGKILL');
    await exited;
    expect(groupAlive(child.pid!, '/nonexistent-proc')).toBe(false);
  });
});
