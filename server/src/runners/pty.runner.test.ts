// Real programs on a real pty through PtyRunner: input and echo, window size, tty modes, UTF-8
// split across reads, exit codes and signals, cancel of the whole group, pause, and no lost tail.
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobEvent } from '@vmo/protocol';
import { OutputPipeline } from '../jobs/output.pipeline.js';
import { clampSide, findProgram, PtyRunner, type PtyHandle, type PtySpec } from './pty.runner.js';

/** Collects the raw reads of the pty stream. */
class Sink {
  readonly reads: Buffer[] = [];
  readonly streams = new Set<string>();
  write(stream: 'stdout' | 'stderr' | 'pty', data: Buffer): void {
    this.streams.add(stream);
    this.reads.push(data);
  }
  get text(): string {
    return Buffer.concat(this.reads).toString();
  }
  get bytes(): number {
    return this.reads.reduce((n, b) => n + b.length, 0);
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

const handles: PtyHandle[] = [];
const runner = new PtyRunner();

function run(argv: PtySpec['argv'], opts: Partial<Omit<PtySpec, 'argv'>> = {}) {
  const sink = new Sink();
  const handle = runner.start({ argv, env: process.env, cols: 80, rows: 24, ...opts }, sink);
  handles.push(handle);
  return { handle, sink };
}

/** Waits until the output contains `pattern` and returns its first capture (or the match). */
async function output(sink: Sink, pattern: RegExp): Promise<string> {
  return vi.waitFor(
    () => {
      const m = pattern.exec(sink.text);
      if (!m) throw new Error(`no ${pattern} in ${JSON.stringify(sink.text)}`);
      return m[1] ?? m[0];
    },
    { timeout: 5000, interval: 10 },
  );
}

afterEach(async () => {
  // Whatever a failed test left running is stopped.
  for (const h of handles.splice(0)) {
    h.cancel(0);
    await h.done;
  }
});

describe(PtyRunner.name, () => {
  it('sends input to the program and its output back, as the pty stream', async () => {
    const { handle, sink } = run(['sh', '-c', 'read l; echo "got:$l"']);
    expect(handle.pid).toEqual(expect.any(Number));
    handle.write('héllo\r'); // Enter is a CR, which the tty turns into a newline (ICRNL)
    expect(await handle.done).toEqual({ exitCode: 0, signal: null });
    expect(sink.text).toContain('héllo\r\n'); // the tty's echo
    expect(sink.text).toContain('got:héllo\r\n');
    expect([...sink.streams]).toEqual(['pty']);
  });

  it('runs on a tty named like a pty, with TERM=xterm-256color and UTF-8 line editing', async () => {
    const { handle, sink } = run([
      'sh',
      '-c',
      'tty; echo "TERM=$TERM"; [ -t 0 ] && [ -t 1 ] && echo both-tty; stty -a',
    ]);
    expect(await handle.done).toEqual({ exitCode: 0, signal: null });
    expect(sink.text).toMatch(/^\/dev\/pts\/\d+\r\n/);
    expect(sink.text).toContain('TERM=xterm-256color\r\n');
    expect(sink.text).toContain('both-tty\r\n');
    expect(sink.text).toMatch(/(^|\s)iutf8(\s|$)/); // set, not "-iutf8"
  });

  it('delivers bytes as read, so a character split across reads is decoded whole downstream', async () => {
    const { handle, sink } = run(['sh', '-c', "printf '\\342\\202'; sleep 0.3; printf '\\254!'"]);
    expect(await handle.done).toEqual({ exitCode: 0, signal: null });
    // The euro sign (e2 82 ac) came in two reads: node-pty did not decode it.
    const split = sink.reads.findIndex((b) => b.subarray(-2).equals(Buffer.from([0xe2, 0x82])));
    expect(split).toBeGreaterThanOrEqual(0);
    expect(sink.reads[split + 1]?.[0]).toBe(0xac);

    const committed: JobEvent[] = [];
    const pipeline = new OutputPipeline({
      jobId: 'pty-job',
      store: { append: (_id, events) => Promise.resolve(void committed.push(...events)) },
      publish: () => undefined,
    });
    for (const b of sink.reads) pipeline.write('pty', b);
    pipeline.endStreams();
    await pipeline.flush();
    expect(committed.map((e) => e.chunk).join('')).toBe('€!');
    expect(new Set(committed.map((e) => e.stream))).toEqual(new Set(['pty']));
  });

  it('resizes the window, clamped to 1..1000, as stty size sees it', async () => {
    const { handle, sink } = run(['sh', '-c', 'stty size; read a; stty size; read b; stty size']);
    await output(sink, /24 80/);
    handle.resize(100, 30);
    handle.write('\r');
    await output(sink, /30 100/);
    handle.resize(5000, 0);
    handle.resize(Number.NaN, 10); // ignored
    handle.write('\r');
    await output(sink, /1 1000/);
    expect(await handle.done).toEqual({ exitCode: 0, signal: null });
  });

  it('starts with the size it is given', async () => {
    const { handle, sink } = run(['stty', 'size'], { cols: 132, rows: 43 });
    expect(await handle.done).toEqual({ exitCode: 0, signal: null });
    expect(sink.text).toBe('43 132\r\n');
  });

  it('reports exit codes and deaths by signal, with the signal by name', async () => {
    expect(await run(['sh', '-c', 'exit 3']).handle.done).toEqual({ exitCode: 3, signal: null });
    expect(await run(['true']).handle.done).toEqual({ exitCode: 0, signal: null });
    expect(await run(['sh', '-c', 'kill -TERM $$']).handle.done).toEqual({
      exitCode: null,
      signal: 'SIGTERM',
    });
  });

  it('cancels the whole process group, background children included', async () => {
    const { handle, sink } = run(['sh', '-c', 'sleep 1000 & echo "bg:$!"; wait']);
    const bg = Number(await output(sink, /bg:(\d+)/));
    expect(alive(bg)).toBe(true);
    handle.cancel(5000);
    handle.cancel(5000); // idempotent
    expect(await handle.done).toEqual({ exitCode: null, signal: 'SIGTERM' });
    await vi.waitFor(() => expect(alive(bg)).toBe(false));
  });

  it('kills what ignores SIGTERM once the grace period is over', async () => {
    const { handle, sink } = run(['sh', '-c', 'trap "" TERM; sleep 1000 & echo "bg:$!"; wait']);
    const bg = Number(await output(sink, /bg:(\d+)/));
    const t0 = Date.now();
    handle.cancel(300);
    expect(await handle.done).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    await vi.waitFor(() => expect(alive(bg)).toBe(false));
  });

  it('stops what the program left behind in its group when it exits', async () => {
    const { handle, sink } = run([
      'sh',
      '-c',
      'nohup sleep 1000 >/dev/null 2>&1 </dev/null & echo "bg:$!"',
    ]);
    const result = await handle.done;
    const bg = Number(await output(sink, /bg:(\d+)/));
    expect(result).toEqual({ exitCode: 0, signal: null, strays: true });
    await vi.waitFor(() => expect(alive(bg)).toBe(false));
  });

  it('loses no output of programs that write a lot and exit at once', async () => {
    const size = 1_000_000;
    const runs = Array.from({ length: 6 }, () =>
      run(['sh', '-c', `head -c ${size} /dev/zero | tr '\\0' a; exit 4`]),
    );
    for (const { handle, sink } of runs) {
      expect(await handle.done).toEqual({ exitCode: 4, signal: null });
      expect(sink.bytes).toBe(size);
    }
  });

  it('pauses reading, which blocks the program, and resumes without loss', async () => {
    const size = 300_000;
    const { handle, sink } = run(['sh', '-c', `head -c ${size} /dev/zero | tr '\\0' a; echo END`]);
    handle.pause();
    let settled = false;
    void handle.done.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 400));
    expect(sink.bytes).toBeLessThan(size); // the pty buffer is full: the program waits
    expect(settled).toBe(false);
    handle.resume();
    expect(await handle.done).toEqual({ exitCode: 0, signal: null });
    expect(sink.text).toBe('a'.repeat(size) + 'END\r\n');
  });

  it('ignores input, resizes and cancels once the program has exited', async () => {
    const { handle } = run(['true']);
    await handle.done;
    expect(() => {
      handle.write('late\r');
      handle.resize(10, 10);
      handle.pause();
      handle.resume();
      handle.cancel(0);
    }).not.toThrow();
  });

  it('says why a program cannot start, without forking', async () => {
    const missing = run(['no-such-program-vmo']).handle;
    expect(missing.pid).toBeUndefined();
    expect(await missing.done).toEqual({
      exitCode: null,
      signal: null,
      error: 'program "no-such-program-vmo" not found on PATH',
    });
    expect(await run(['true'], { cwd: '/no/such/dir' }).handle.done).toMatchObject({
      error: 'working directory /no/such/dir does not exist',
    });
    const plain = path.join(await mkdtemp(path.join(tmpdir(), 'vmo-pty-')), 'plain');
    await writeFile(plain, 'echo no\n', { mode: 0o644 });
    expect(await run([plain]).handle.done).toMatchObject({
      error: `${plain} is not an executable file`,
    });
  });

  it('runs in the given directory with the given environment', async () => {
    const { handle, sink } = run(['sh', '-c', 'pwd; echo "v=$VMO_PTY_TEST"'], {
      cwd: '/tmp',
      env: { PATH: process.env.PATH, VMO_PTY_TEST: 'x y' },
    });
    expect(await handle.done).toEqual({ exitCode: 0, signal: null });
    expect(sink.text).toBe('/tmp\r\nv=x y\r\n');
  });
});

describe(clampSide.name, () => {
  it('clamps to 1..1000 and rounds; refuses what is not a finite number', () => {
    expect([0, -5, 1, 80.4, 1000, 1001, 1e9].map(clampSide)).toEqual([
      1, 1, 1, 80, 1000, 1000, 1000,
    ]);
    expect(clampSide(Number.NaN)).toBeUndefined();
    expect(clampSide(Infinity)).toBeUndefined();
  });
});

describe(findProgram.name, () => {
  it('searches PATH like exec, and takes a name with a slash as a path', () => {
    expect(findProgram('sh', '/nonexistent:/bin', '/')).toBe('/bin/sh');
    expect(findProgram('./sh', undefined, '/bin')).toBe('/bin/sh');
    expect(findProgram('bin', '/', '/')).toBeNull(); // a directory is not a program
    expect(findProgram('', '/bin', '/')).toBeNull();
  });
});

describe('PtyRunner edge cases', () => {
  it('runs in the server’s directory when none is given, takes the default PATH, and drops COLUMNS, LINES and unset values', async () => {
    const { handle, sink } = run(
      ['sh', '-c', 'pwd; echo "c=${COLUMNS:-none} l=${LINES:-none} k=$KEEP"'],
      {
        env: { COLUMNS: '5', LINES: '6', KEEP: 'kept', GONE: undefined },
      },
    );
    expect(await handle.done).toEqual({ exitCode: 0, signal: null });
    expect(sink.text).toBe(`${process.cwd()}\r\nc=none l=none k=kept\r\n`);
  });

  it('finds a program on the default PATH when the environment has none', () => {
    expect(findProgram('sh', undefined, '/')).toMatch(/\/sh$/);
    expect(findProgram('no-such-program-vmo', undefined, '/')).toBeNull();
  });

  it('reports a program name with a slash that is not executable', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vmo-pty-noexec-'));
    await writeFile(path.join(dir, 'script'), 'echo hi\n');
    const { handle } = run(['./script'], { cwd: dir });
    expect(await handle.done).toMatchObject({
      exitCode: null,
      error: './script is not an executable file',
    });
  });
});

describe('PtyRunner sizes', () => {
  it('starts at 80×24 when the size given is not a number', async () => {
    const { handle, sink } = run(['stty', 'size'], { cols: Number.NaN, rows: Number.NaN });
    expect(await handle.done).toEqual({ exitCode: 0, signal: null });
    expect(sink.text).toBe('24 80\r\n');
  });
});
