// The desktop terminal: $TERM_CMD split like sh without a shell, {command} placement and quoting
// (checked against a real sh), the emulator fallbacks, Terminal.app, and a real detached spawn of
// a stand-in emulator that records its argv.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  commandLine,
  HOLD,
  spawnDesktopTerminal,
  splitWords,
  terminalCommand,
} from './desktop-terminal.runner.js';

/** The words a real sh makes of a command line. */
function shWords(line: string): string[] {
  const out = execFileSync('sh', [
    '-c',
    `set -f; set -- ${line}; for a; do printf '%s\\0' "$a"; done`,
  ]);
  return out.toString().split('\0').slice(0, -1);
}

const command = ['make', '-C', '/home/me/my proj', '--', 'ssh', `NAME=it's "x"`, 'E=$HOME', ''];
const line = commandLine(command);
const none = () => null;

describe(commandLine.name, () => {
  it('quotes what sh would change, so sh reads back exactly the same words', () => {
    expect(line).toBe(`make -C '/home/me/my proj' -- ssh 'NAME=it'\\''s "x"' 'E=$HOME' ''`);
    expect(shWords(line)).toEqual(command);
    const odd = ['a*b', '~', 'x;y', '$(id)', '`id`', 'tab\there', 'new\nline', '\\', "'"];
    expect(shWords(commandLine(odd))).toEqual(odd);
  });
});

describe(splitWords.name, () => {
  it('splits like sh, with quotes and backslashes and nothing expanded', () => {
    const cases = [
      'xterm -e',
      `  spaced   out\twords  `,
      `a\\ b "c d" 'e f'`,
      `"x \\"y\\" \\$z \\\\ \\q" 'it'\\''s'`,
      `'' "" x`,
      `joined'single'"double"\\ bare`,
      `--title="My VM" -e {command}`,
    ];
    for (const c of cases) expect(splitWords(c)).toEqual(shWords(c));
    expect(splitWords(`"x \\q"`)).toEqual(['x \\q']);
    // sh would expand these; TERM_CMD keeps them as written.
    expect(splitWords('$HOME * ~ ? "$(id)" `id`')).toEqual([
      '$HOME',
      '*',
      '~',
      '?',
      '$(id)',
      '`id`',
    ]);
    expect(splitWords('')).toEqual([]);
  });

  it('refuses an unterminated quote', () => {
    expect(() => splitWords(`xterm -e 'oops`)).toThrow(/unterminated ' quote/);
    expect(() => splitWords(`xterm -e "oops`)).toThrow(/unterminated " quote/);
  });
});

describe(terminalCommand.name, () => {
  it('puts the command line, as one argument, where TERM_CMD says {command}', () => {
    expect(terminalCommand(command, { termCmd: `foot --title "My VM" -e {command}` })).toEqual({
      argv: ['foot', '--title', 'My VM', '-e', line],
      emulator: 'foot',
    });
  });

  it('substitutes {command} inside a word, in the middle of TERM_CMD', () => {
    const { argv, emulator } = terminalCommand(command, {
      termCmd: `/opt/bin/kitty --hold bash -c '{command}; exec bash' --class vmo`,
    });
    expect(emulator).toBe('kitty');
    expect(argv).toEqual([
      '/opt/bin/kitty',
      '--hold',
      'bash',
      '-c',
      `${line}; exec bash`,
      '--class',
      'vmo',
    ]);
  });

  it('appends -e and the command as separate arguments when TERM_CMD has no {command}', () => {
    expect(terminalCommand(['ssh', 'web 1'], { termCmd: 'alacritty --class vmo' }).argv).toEqual([
      'alacritty',
      '--class',
      'vmo',
      '-e',
      'sh',
      '-c',
      HOLD,
      'sh',
      'ssh',
      'web 1',
    ]);
    expect(terminalCommand(['top'], { termCmd: 'gnome-terminal --' }).argv).toEqual([
      'gnome-terminal',
      '--',
      'sh',
      '-c',
      HOLD,
      'sh',
      'top',
    ]);
  });

  it('takes the first emulator found when TERM_CMD is unset or blank', () => {
    const found =
      (...names: string[]) =>
      (n: string) =>
        names.includes(n) ? `/usr/bin/${n}` : null;
    expect(terminalCommand(['top'], { which: found('xterm', 'x-terminal-emulator') })).toEqual({
      argv: ['/usr/bin/x-terminal-emulator', '-e', 'sh', '-c', HOLD, 'sh', 'top'],
      emulator: 'x-terminal-emulator',
    });
    expect(terminalCommand(['top'], { termCmd: '  ', which: found('gnome-terminal') })).toEqual({
      argv: ['/usr/bin/gnome-terminal', '--', 'sh', '-c', HOLD, 'sh', 'top'],
      emulator: 'gnome-terminal',
    });
    expect(terminalCommand(['top'], { which: found('konsole', 'xterm') }).argv[0]).toBe(
      '/usr/bin/konsole',
    );
    expect(terminalCommand(['top'], { which: found('xterm'), platform: 'linux' }).argv).toEqual([
      '/usr/bin/xterm',
      '-e',
      'sh',
      '-c',
      HOLD,
      'sh',
      'top',
    ]);
  });

  it('says what it tried when no emulator is found', () => {
    expect(() => terminalCommand(['top'], { which: none, platform: 'linux' })).toThrow(
      'no terminal emulator found: TERM_CMD is not set and none of x-terminal-emulator, gnome-terminal, konsole, xterm is on PATH; set TERM_CMD (e.g. TERM_CMD="xterm -e")',
    );
    expect(() => terminalCommand(['top'], { platform: 'win32' })).toThrow(/Windows/);
    expect(() => terminalCommand([], { termCmd: 'xterm -e' })).toThrow(/no command/);
  });

  it('opens Terminal.app on macOS with the command escaped for AppleScript', () => {
    const { argv, emulator } = terminalCommand(['echo', 'say "hi"', 'back\\slash'], {
      platform: 'darwin',
      which: none,
    });
    expect(emulator).toBe('Terminal.app');
    expect(argv).toEqual([
      'osascript',
      '-e',
      `tell application "Terminal" to do script "echo 'say \\"hi\\"' 'back\\\\slash'"`,
      '-e',
      'tell application "Terminal" to activate',
    ]);
  });

  it('keeps the window open after the command, showing its status', () => {
    const { argv } = terminalCommand(['sh', '-c', 'echo "$1"; exit 3', 'sh', 'a b'], {
      which: (n) => (n === 'xterm' ? '/usr/bin/xterm' : null),
    });
    const [, , ...inTerminal] = argv; // what xterm -e would run
    const out = execFileSync(inTerminal[0]!, inTerminal.slice(1), { input: '\n' }).toString();
    expect(out).toBe('a b\n\n[exited with status 3; press Enter to close] ');
  });
});

describe(spawnDesktopTerminal.name, () => {
  let dir: string;
  let emulator: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vmo-term-'));
    emulator = path.join(dir, 'fake term');
    // A stand-in emulator: records its argv (NUL-separated) and its session id, then exits.
    await writeFile(
      emulator,
      `#!/bin/sh\n{ for a; do printf '%s\\0' "$a"; done; } > "$ARGV_OUT.tmp"\n` +
        `ps -o sid= -p $$ > "$ARGV_OUT.sid"\nmv "$ARGV_OUT.tmp" "$ARGV_OUT"\n`,
    );
    await chmod(emulator, 0o755);
  });

  async function recorded(file: string): Promise<string[]> {
    const raw = await vi.waitFor(() => readFile(file), { timeout: 5000, interval: 20 });
    return raw.toString().split('\0').slice(0, -1);
  }

  it('starts TERM_CMD detached in its own session, with the command as one argument', async () => {
    const out = path.join(dir, 'argv-1');
    const termCmd = `'${emulator}' --title "VM \\"one\\"" -e {command}`;
    const { argv } = terminalCommand(command, { termCmd });
    const { pid } = await spawnDesktopTerminal(argv, { ...process.env, ARGV_OUT: out });
    expect(pid).toEqual(expect.any(Number));
    expect(await recorded(out)).toEqual(['--title', 'VM "one"', '-e', line]);
    expect(Number(await readFile(`${out}.sid`, 'utf8'))).toBe(pid); // setsid: its own session
  });

  it('passes the command as separate arguments after -e without {command}', async () => {
    const out = path.join(dir, 'argv-2');
    const { argv } = terminalCommand(['ssh', 'web 1'], { termCmd: `"${emulator}"` });
    await spawnDesktopTerminal(argv, { ...process.env, ARGV_OUT: out });
    expect(await recorded(out)).toEqual(['-e', 'sh', '-c', HOLD, 'sh', 'ssh', 'web 1']);
  });

  it('rejects, saying so, when the emulator cannot be started', async () => {
    await expect(spawnDesktopTerminal(['/no/such/term', '-e', 'top'], process.env)).rejects.toThrow(
      'cannot start the terminal emulator "/no/such/term": not found',
    );
    await expect(spawnDesktopTerminal([dir], process.env)).rejects.toThrow(
      /cannot start the terminal emulator ".*": .*EACCES/,
    );
    await expect(spawnDesktopTerminal([], process.env)).rejects.toThrow(/no terminal emulator/);
    await expect(spawnDesktopTerminal(['a\0b'], process.env)).rejects.toThrow(/cannot start/);
  });
});

describe('desktop terminal edge cases', () => {
  it('refuses an empty command or an empty emulator command', async () => {
    expect(() => terminalCommand([], { termCmd: 'xterm -e' })).toThrow(
      'no command to open in a terminal',
    );
    await expect(spawnDesktopTerminal([], {})).rejects.toThrow(
      'no terminal emulator command to start',
    );
  });

  it('says why a program that is not executable cannot start', async () => {
    await expect(spawnDesktopTerminal(['/etc'], process.env)).rejects.toThrow(
      /cannot start the terminal emulator "\/etc": /,
    );
  });

  it('refuses Windows without TERM_CMD, and keeps a trailing backslash', () => {
    expect(() => terminalCommand(['make'], { platform: 'win32', which: () => null })).toThrow(
      /Windows/,
    );
    expect(splitWords('a\\')).toEqual(['a\\']);
    expect(splitWords('a\\\nb')).toEqual(['ab']);
    expect(splitWords('"a\\\nb"')).toEqual(['ab']);
  });
});

describe('desktop terminal defaults', () => {
  it('looks the emulators up on PATH by default, and says so when none is there', () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      expect(() => terminalCommand(['make'], { platform: 'linux' })).toThrow(
        /no terminal emulator found/,
      );
    } finally {
      process.env.PATH = saved;
    }
  });

  it('reads a backslash at the start of a word', () => {
    expect(splitWords('\\a b')).toEqual(['a', 'b']);
    expect(splitWords('\\')).toEqual(['\\']);
  });
});
