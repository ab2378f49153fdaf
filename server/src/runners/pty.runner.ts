// Interactive programs on a pseudo-terminal (node-pty): raw output bytes for the pipeline,
// keystrokes and window sizes from the browser, and a cancel that reaches the whole process group.
import { accessSync, closeSync, constants, openSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { spawn, type IPty } from 'node-pty';
import { killGroup } from '../process/groups.js';
import type { OutputSink, RunHandle, RunResult, Runner } from './runner.js';

export interface PtySpec {
  argv: [string, ...string[]];
  cwd?: string;
  env: NodeJS.ProcessEnv;
  cols: number;
  rows: number;
}

export type PtyHandle = RunHandle & {
  /** Keystrokes (UTF-8). Ignored once the program has exited. */
  write(data: string): void;
  /** New window size, each side clamped to 1..1000. Ignored once the program has exited. */
  resize(cols: number, rows: number): void;
};

const MAX_SIDE = 1000;
/** What sh searches when the environment has no PATH. */
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * node-pty turns on the tty's IUTF8 flag (so that backspace in a line-mode prompt such as
 * `read` erases a whole UTF-8 character) only with its own decoding, which we do not use: the
 * pipeline decodes. `stty` sets it instead, then the program replaces the shell (same pid).
 */
const SET_IUTF8_THEN_EXEC = 'stty iutf8 2>/dev/null; exec "$@"';

/** A size clamped to 1..1000 columns or rows; undefined for NaN or infinities. */
export function clampSide(n: number): number | undefined {
  return Number.isFinite(n) ? Math.min(MAX_SIDE, Math.max(1, Math.round(n))) : undefined;
}

export class PtyRunner implements Runner<PtySpec> {
  start(spec: PtySpec, sink: OutputSink): PtyHandle {
    const problem = preflight(spec);
    if (problem) return failed(problem);
    let term: IPty;
    try {
      term = spawn('/bin/sh', ['-c', SET_IUTF8_THEN_EXEC, 'sh', ...spec.argv], {
        name: 'xterm-256color',
        cols: clampSide(spec.cols) ?? 80,
        rows: clampSide(spec.rows) ?? 24,
        cwd: spec.cwd,
        env: ptyEnv(spec.env),
        encoding: null, // raw Buffers: UTF-8 is decoded once, by the pipeline, across reads
      });
    } catch (err) {
      return failed(err instanceof Error ? err.message : String(err));
    }
    return supervise(term, sink);
  }
}

function supervise(term: IPty, sink: OutputSink): PtyHandle {
  const pid = term.pid;
  const slave = holdSlave(term);
  let exited = false;
  let canceled = false;
  let killTimer: NodeJS.Timeout | undefined;

  // Without a listener of ours, node-pty rethrows a read error other than EIO from an event
  // handler, which would take the whole server down.
  const on: unknown = Reflect.get(term, 'on');
  if (typeof on === 'function') on.call(term, 'error', () => undefined);

  // With `encoding: null` node-pty hands over Buffers, although its typings say string.
  term.onData((data: string | Buffer) =>
    sink.write('pty', Buffer.isBuffer(data) ? data : Buffer.from(data)),
  );

  const done = new Promise<RunResult>((resolve) => {
    // node-pty reports the exit once it closed the pty (see holdSlave): the output is all read.
    term.onExit(({ exitCode, signal }) => {
      exited = true;
      clearTimeout(killTimer);
      if (slave !== undefined) closeSync(slave);
      // What the program left behind in its group (e.g. a nohup'd child) is stopped with it; after
      // a cancel that is expected, not news.
      const strays = killGroup(pid, 'SIGKILL') && !canceled;
      resolve({
        ...(signal ? { exitCode: null, signal: signalName(signal) } : { exitCode, signal: null }),
        ...(strays ? { strays } : {}),
      });
    });
  });

  return {
    pid,
    done,
    cancel: (graceMs) => {
      if (exited) return;
      canceled = true;
      // The child is a session leader (forkpty → setsid), so its pid is its process group.
      killGroup(pid, 'SIGTERM');
      killTimer ??= setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
    },
    pause: () => {
      if (!exited) term.pause();
    },
    resume: () => {
      if (!exited) term.resume();
    },
    write: (data) => {
      if (!exited) term.write(data);
    },
    resize: (cols, rows) => {
      const c = clampSide(cols);
      const r = clampSide(rows);
      if (exited || c === undefined || r === undefined) return;
      try {
        term.resize(c, r);
      } catch {
        // the pty closed between the exit and our flag: nothing left to resize
      }
    },
  };
}

/**
 * On Linux, node-pty can lose the last output of a program that exits right after writing it
 * (microsoft/node-pty#72, #726): when the last slave descriptor closes, libuv takes the hang-up
 * after a short read for end of file while bytes are still on their way through the pty. We hold
 * a slave descriptor of our own, so no hang-up happens; node-pty then closes the master 200 ms
 * after the exit, by which time the output has been read, and we release ours on exit. (Output
 * still in the pty then is lost only if reading is paused at that moment, i.e. a job that ends
 * during a database outage with its buffer full.) Opened write-only and never written: the
 * program's input is never taken from it.
 */
function holdSlave(term: IPty): number | undefined {
  const name: unknown = Reflect.get(term, 'ptsName');
  if (typeof name !== 'string') return undefined;
  try {
    return openSync(name, constants.O_WRONLY | constants.O_NOCTTY);
  } catch {
    return undefined; // the program already exited and closed it: its output is in the pty
  }
}

/** Why the program cannot start, found before forking: node-pty would only print it in the pty. */
function preflight(spec: PtySpec): string | null {
  const cwd = spec.cwd ?? process.cwd();
  if (!isDirectory(cwd)) return `working directory ${cwd} does not exist`;
  if (!findProgram(spec.argv[0], spec.env.PATH, cwd))
    return spec.argv[0].includes('/')
      ? `${spec.argv[0]} is not an executable file`
      : `program "${spec.argv[0]}" not found on PATH`;
  return null;
}

/** The executable that `exec` would run for `file` (PATH search unless it contains a slash). */
export function findProgram(file: string, pathVar: string | undefined, cwd: string): string | null {
  if (file === '') return null;
  if (file.includes('/')) {
    const candidate = path.resolve(cwd, file);
    return isExecutableFile(candidate) ? candidate : null;
  }
  for (const dir of (pathVar ?? DEFAULT_PATH).split(path.delimiter)) {
    const candidate = path.resolve(cwd, dir, file);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** node-pty would pass an undefined value on as the text "undefined"; the pty sets the size. */
function ptyEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (v !== undefined && k !== 'COLUMNS' && k !== 'LINES') out[k] = v;
  return out;
}

function signalName(signal: number): string {
  const entry = Object.entries(osConstants.signals).find(([, n]) => n === signal);
  return entry ? entry[0] : `SIG${signal}`;
}

/** A handle for a program that never started: `done` says why. */
function failed(error: string): PtyHandle {
  const noop = () => undefined;
  return {
    pid: undefined,
    done: Promise.resolve({ exitCode: null, signal: null, error }),
    cancel: noop,
    pause: noop,
    resume: noop,
    write: noop,
    resize: noop,
  };
}
