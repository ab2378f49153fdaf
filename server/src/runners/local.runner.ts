// Local processes: argv without a shell, stdin from /dev/null, in their own process group so that
// a cancel reaches everything the command started.
import { spawn } from 'node:child_process';
import { groupAlive, killGroup } from '../process/groups.js';
import type { OutputSink, RunHandle, RunResult, RunSpec, Runner } from './runner.js';

export interface LocalRunnerOptions {
  /** How long output may stay open after the main process exited before leftovers are stopped. */
  lingerMs: number;
  /** Grace between SIGTERM and SIGKILL for those leftovers. */
  graceMs: number;
}

export class LocalRunner implements Runner {
  constructor(private readonly opts: LocalRunnerOptions) {}

  start(spec: RunSpec, sink: OutputSink): RunHandle {
    const [file, ...args] = spec.argv;
    const child = spawn(file, args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true, // its own process group (setsid), so kill(-pid) reaches every descendant
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdoutAs = spec.stdoutAs ?? 'stdout';
    child.stdout.on('data', (b: Buffer) => sink.write(stdoutAs, b));
    child.stderr.on('data', (b: Buffer) => sink.write('stderr', b));

    const timers = new Set<NodeJS.Timeout>();
    const later = (ms: number, fn: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    };
    let killTimerArmed = false;
    const terminate = (graceMs: number) => {
      if (child.pid === undefined) return;
      killGroup(child.pid, 'SIGTERM');
      if (killTimerArmed) return;
      killTimerArmed = true;
      later(graceMs, () => killGroup(child.pid!, 'SIGKILL'));
    };

    const done = new Promise<RunResult>((resolve) => {
      let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
      let strays = false;
      child.once('error', (err) => {
        for (const t of timers) clearTimeout(t);
        resolve({ exitCode: null, signal: null, error: err.message });
      });
      child.once('exit', (code, signal) => {
        exit = { code, signal };
        // Background children may hold our pipes open; give them a moment, then stop the group.
        later(this.opts.lingerMs, () => {
          strays = groupAlive(child.pid!);
          killGroup(child.pid!, 'SIGTERM');
          later(this.opts.graceMs, () => killGroup(child.pid!, 'SIGKILL'));
        });
      });
      child.once('close', () => {
        for (const t of timers) clearTimeout(t);
        // Leftovers that closed their output but still run are stopped too.
        if (child.pid !== undefined && groupAlive(child.pid)) {
          strays = true;
          killGroup(child.pid, 'SIGKILL');
        }
        if (exit)
          resolve({ exitCode: exit.code, signal: exit.signal, ...(strays ? { strays } : {}) });
      });
    });

    return {
      pid: child.pid,
      done,
      cancel: terminate,
      pause: () => {
        child.stdout.pause();
        child.stderr.pause();
      },
      resume: () => {
        child.stdout.resume();
        child.stderr.resume();
      },
    };
  }
}
