// What every way of running a job (local make, ssh, a pty) offers the job service.
import type { Stream } from '@vmo/protocol';

export interface RunSpec {
  argv: [string, ...string[]];
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /** Label stdout as the `pty` stream (a remote tty: stdout and stderr arrive merged, byte for byte). */
  stdoutAs?: 'stdout' | 'pty';
}

/** Receives raw output bytes, in the order they were read. */
export interface OutputSink {
  write(stream: Exclude<Stream, 'system'>, data: Buffer): void;
}

export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  /** Set when the process could not be started at all (e.g. the program is missing). */
  error?: string;
  /** Why the command failed before it ran, in words for the user (e.g. "host key changed"). */
  diagnosis?: string;
  /** Processes the command left behind that were stopped when its output closed late. */
  strays?: boolean;
}

export interface RunHandle {
  readonly pid: number | undefined;
  /** Settles once the process has exited and its output is closed. Never rejects. */
  readonly done: Promise<RunResult>;
  /** SIGTERM to the whole process tree, SIGKILL after `graceMs`. Idempotent. */
  cancel(graceMs: number): void;
  /** Stops reading output (the process blocks on a full pipe) and starts again. */
  pause(): void;
  resume(): void;
}

export interface Runner<S = RunSpec, H extends RunHandle = RunHandle> {
  start(spec: S, sink: OutputSink): H;
}
