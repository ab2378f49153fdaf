// "Open in my terminal app" (SPEC §1 story 3): the user's own terminal emulator, started detached
// on the machine the server runs on with the job's command in it; the job is then `spawned`.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { shellQuote } from '../process/shell.js';
import { findOnPath } from '../process/programs.js';

export interface TerminalCommandOptions {
  /** `$TERM_CMD`: the emulator's command line, `{command}` marking where the command goes. */
  termCmd?: string;
  platform?: NodeJS.Platform;
  /** Finds a program on PATH; the default searches the server's PATH. */
  which?: (name: string) => string | null;
}

/** Tried in this order when `$TERM_CMD` is not set, each with the flag before the command. */
const EMULATORS = [
  { name: 'x-terminal-emulator', flag: '-e' },
  { name: 'gnome-terminal', flag: '--' },
  { name: 'konsole', flag: '-e' },
  { name: 'xterm', flag: '-e' },
] as const;

/** Flags after which an emulator takes the program and its arguments as separate words. */
const COMMAND_FLAGS = new Set(['-e', '-x', '--']);

/**
 * Keeps the window open once the command ends, so its last words (an error, a summary) can be
 * read: `sh -c HOLD sh <command…>` runs the command as argv, with no second parsing.
 */
export const HOLD = '"$@"; printf "\\n[exited with status %s; press Enter to close] " "$?"; read _';

/**
 * The argv that opens `command` in a terminal window:
 * - `$TERM_CMD` first, split into words as sh would (quotes and backslashes; no variables or
 *   globbing, and no shell is run). Every `{command}` in it becomes the shell-quoted command line,
 *   so a word that is just `{command}` is one argument (`… -e bash -c {command}`), and one such as
 *   `'{command}; exec bash'` hands a shell more to do. Without `{command}`, the command follows as
 *   separate arguments after `-e` (xterm's convention, also x-terminal-emulator's, konsole's,
 *   urxvt's and alacritty's), or directly when `$TERM_CMD` already ends with `-e`, `-x` or `--`;
 *   the window then waits for Enter after the command ends.
 * - on macOS, Terminal.app through osascript (its window stays open by itself);
 * - else the first of x-terminal-emulator, gnome-terminal, konsole and xterm found on PATH, the
 *   window waiting for Enter after the command ends.
 * Throws when none applies, saying what was tried.
 */
export function terminalCommand(
  command: string[],
  opts: TerminalCommandOptions = {},
): { argv: string[]; emulator: string } {
  if (command.length === 0) throw new Error('no command to open in a terminal');
  const words = opts.termCmd === undefined ? [] : splitWords(opts.termCmd);
  if (words[0] !== undefined) {
    const emulator = path.basename(words[0]);
    if (words.some((w) => w.includes('{command}'))) {
      const line = commandLine(command);
      return { argv: words.map((w) => w.replaceAll('{command}', line)), emulator };
    }
    const flag = COMMAND_FLAGS.has(words.at(-1)!) ? [] : ['-e'];
    return { argv: [...words, ...flag, ...held(command)], emulator };
  }

  const platform = opts.platform ?? process.platform;
  if (platform === 'darwin') {
    const script = `tell application "Terminal" to do script "${appleScriptString(commandLine(command))}"`;
    return {
      argv: ['osascript', '-e', script, '-e', 'tell application "Terminal" to activate'],
      emulator: 'Terminal.app',
    };
  }
  if (platform === 'win32')
    throw new Error('no terminal emulator on Windows: set TERM_CMD to open a terminal app');

  const which = opts.which ?? ((name: string) => findOnPath(name, process.env.PATH));
  for (const { name, flag } of EMULATORS) {
    const found = which(name);
    if (found) return { argv: [found, flag, ...held(command)], emulator: name };
  }
  throw new Error(
    `no terminal emulator found: TERM_CMD is not set and none of ${EMULATORS.map((e) => e.name).join(', ')} is on PATH; set TERM_CMD (e.g. TERM_CMD="xterm -e")`,
  );
}

/**
 * Starts the terminal emulator in its own session, detached from the server, with no stdio, and
 * without waiting for it. Resolves once it runs; rejects, saying why, when it cannot be started.
 */
export function spawnDesktopTerminal(
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ pid: number | undefined }> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (!file) {
      reject(new Error('no terminal emulator command to start'));
      return;
    }
    const fail = (err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'not found' : err instanceof Error ? err.message : String(err);
      reject(new Error(`cannot start the terminal emulator "${file}": ${why}`));
    };
    try {
      const child = spawn(file, args, { detached: true, stdio: 'ignore', env });
      // Kept for the child's lifetime, so a late error never goes unhandled.
      child.on('error', fail);
      child.once('spawn', () => {
        child.unref();
        resolve({ pid: child.pid });
      });
    } catch (err) {
      fail(err); // bad arguments, e.g. a NUL byte
    }
  });
}

/**
 * Splits a command line into words as sh does, without running a shell: blanks separate words,
 * '…' is literal, "…" is literal except for \" \\ \$ \` and \<newline>, and an unquoted
 * backslash takes the next character literally. Nothing is expanded: $VAR, *, ~ stay as written.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null; // null between words
  let i = 0;
  const unterminated = (q: string) =>
    new Error(`TERM_CMD has an unterminated ${q} quote: ${JSON.stringify(line)}`);
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (word !== null) words.push(word);
      word = null;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw unterminated("'");
      word = (word ?? '') + line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      word ??= '';
      for (i++; ; i++) {
        const d = line[i];
        if (d === undefined) throw unterminated('"');
        if (d === '"') break;
        const next = line[i + 1];
        if (d === '\\' && next !== undefined && '"\\$`\n'.includes(next)) {
          if (next !== '\n') word += next;
          i++;
        } else word += d;
      }
      i++;
    } else if (c === '\\') {
      const next = line[i + 1];
      if (next === undefined) word = (word ?? '') + c;
      else if (next !== '\n') word = (word ?? '') + next; // \<newline> joins lines
      i += 2;
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** The command as one line for sh: plain words stay bare, others are single-quoted. */
export function commandLine(command: string[]): string {
  return command.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : shellQuote(w))).join(' ');
}

function held(command: string[]): string[] {
  return ['sh', '-c', HOLD, 'sh', ...command];
}

function appleScriptString(s: string): string {
  return s.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
}
