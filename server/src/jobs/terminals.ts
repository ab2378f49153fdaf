// Live terminal sessions: who may type into which pty, resizes, the idle timeout that closes a
// forgotten session, the cap on open terminals, and the desktop "open in my terminal app".
import type { JobFacts, User } from '@vmo/protocol';
import { factsOf, type Access } from '../auth/permissions.js';
import type { JobRow } from '../db/jobs.repository.js';
import { AppError } from '../errors.js';
import { spawnDesktopTerminal, terminalCommand } from '../runners/desktop-terminal.runner.js';
import type { PtyHandle } from '../runners/pty.runner.js';
import type { OutputSink } from '../runners/runner.js';

export interface TerminalLimits {
  idleSeconds: number;
  maxOpen: number;
  /** The server runs on the user's desktop: "open in my terminal app" is allowed. */
  desktop: boolean;
  graceSeconds: number;
  /** Who may type into a terminal: `can(job.input)`. */
  access: Access;
}

interface Session {
  facts: JobFacts;
  handle: PtyHandle | null;
  timer: NodeJS.Timeout | null;
  onIdle: () => void;
}

export class Terminals {
  private readonly sessions = new Map<string, Session>();
  /** Terminal jobs started and not yet ended (counted against maxOpen). */
  private open = 0;

  constructor(private readonly limits: TerminalLimits) {}

  /** Refuses a new terminal past `terminal.maxOpen`; the caller calls `closed()` when it ends. */
  reserve(): void {
    if (this.open >= this.limits.maxOpen) {
      throw new AppError(
        'RATE_LIMITED',
        `${this.open} terminals are open already (terminal.maxOpen is ${this.limits.maxOpen}); close one first`,
      );
    }
    this.open++;
  }

  /** A reserved terminal that was never started (its request failed). */
  unreserve(): void {
    this.open = Math.max(0, this.open - 1);
  }

  closed(jobId: string): void {
    const s = this.sessions.get(jobId);
    if (s?.timer) clearTimeout(s.timer);
    this.sessions.delete(jobId);
    this.unreserve();
  }

  /** Wraps the pipeline so output keeps the session awake, and registers the pty for input. */
  attach(
    row: JobRow,
    sink: OutputSink,
    start: (sink: OutputSink) => PtyHandle,
    onIdle: (seconds: number) => void,
  ): PtyHandle {
    const session: Session = {
      facts: { ...factsOf(row), status: 'running' },
      handle: null,
      timer: null,
      onIdle: () => onIdle(this.limits.idleSeconds),
    };
    const handle = start({
      write: (stream, data) => {
        this.touch(session);
        sink.write(stream, data);
      },
    });
    session.handle = handle;
    this.sessions.set(row.id, session);
    this.touch(session);
    return handle;
  }

  isOpen(jobId: string): boolean {
    return !!this.sessions.get(jobId)?.handle;
  }

  input(jobId: string, data: string, user: User): void {
    const s = this.session(jobId, user);
    this.touch(s);
    s.handle!.write(data);
  }

  resize(jobId: string, cols: number, rows: number, user: User): void {
    this.session(jobId, user).handle!.resize(cols, rows);
  }

  /** Opens the user's terminal emulator on this machine; the job is then `spawned`. */
  async desktop(
    argv: string[],
    env: NodeJS.ProcessEnv,
  ): Promise<{ emulator: string; pid: number | undefined; argv: string[] }> {
    if (!this.limits.desktop) {
      throw new AppError(
        'FORBIDDEN',
        'opening a desktop terminal is turned off (terminal.desktop): the server does not run on your desktop',
      );
    }
    let cmd: { argv: string[]; emulator: string };
    try {
      cmd = terminalCommand(argv, { termCmd: env.TERM_CMD });
    } catch (err) {
      throw new AppError('VALIDATION', (err as Error).message);
    }
    try {
      const { pid } = await spawnDesktopTerminal(cmd.argv, env);
      return { emulator: cmd.emulator, pid, argv: cmd.argv };
    } catch (err) {
      throw new AppError('VALIDATION', `could not open ${cmd.emulator}: ${(err as Error).message}`);
    }
  }

  private session(jobId: string, user: User): Session {
    const s = this.sessions.get(jobId);
    if (!s?.handle) throw new AppError('JOB_FINISHED', `job ${jobId} has no open terminal`);
    this.limits.access.assert(user, 'job.input', s.facts);
    return s;
  }

  private touch(s: Session): void {
    if (s.timer) clearTimeout(s.timer);
    s.timer = setTimeout(s.onIdle, this.limits.idleSeconds * 1000);
    s.timer.unref();
  }
}
