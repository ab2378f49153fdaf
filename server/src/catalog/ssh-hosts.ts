// Hosts from the user's ssh config: concrete `Host` names (every `Include` followed), each resolved by the real `ssh -G`.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, realpath } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';
import SSHConfig, { type Directive, type Line } from 'ssh-config';
import { expandGlob, includePath } from './ssh-glob.js';

export interface SshHost {
  alias: string;
  hostname: string;
  user: string | null;
  port: number;
  /** The ProxyJump chain ssh -G resolves, first hop first; absent when there is none. */
  proxyJump?: string[];
  /** A ProxyCommand is set (its text is not shown: it may name keys and paths). */
  proxyCommand?: boolean;
  /** ssh's own message when `ssh -G` rejects the host (then the other fields are placeholders). */
  error?: string;
}

export interface LoadSshHostsOptions {
  /**
   * The home directory for `~` and relative Include paths, also handed to `ssh -G` as HOME so
   * both read the same files. Default: what ssh's glob(3) uses, $HOME, else the passwd entry's.
   */
  home?: string;
  /** Per `ssh -G` call. */
  timeoutMs?: number;
}

/** OpenSSH's READCONF_MAX_DEPTH: the top file is depth 0. */
const MAX_INCLUDE_DEPTH = 16;
const MAX_PARALLEL = 8;
const DEFAULT_TIMEOUT_MS = 5_000;
const MAX_OUTPUT = 1 << 20;
// Such a name would be read as an ssh option, or could not be passed as one clean argument.
// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
const UNSAFE_ALIAS = /^-|[\s"'`\\\u0000-\u001f\u007f]/;

interface Walk {
  home: string;
  seen: Set<string>;
  files: string[];
  names: string[];
  errors: string[];
}

export async function loadSshHosts(
  configFile: string,
  opts: LoadSshHostsOptions = {},
): Promise<{ hosts: SshHost[]; errors: string[] }> {
  const file = path.resolve(configFile);
  const walk: Walk = {
    home: opts.home ?? defaultHome(),
    seen: new Set(),
    files: [],
    names: [],
    errors: [],
  };
  await walkFile(file, 0, walk);
  const aliases: string[] = [];
  for (const name of new Set(walk.names)) {
    if (isPattern(name)) continue;
    if (UNSAFE_ALIAS.test(name))
      walk.errors.push(`ssh host ${JSON.stringify(name)} skipped: not a safe alias`);
    else aliases.push(name);
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const resolved = await mapLimit(aliases, MAX_PARALLEL, (alias) =>
    resolveHost({ configFile: file, alias, timeoutMs, home: walk.home }, walk.files),
  );
  // Errors in alias order, whatever order the ssh calls ended in.
  for (const r of resolved) if (r.error) walk.errors.push(r.error);
  const hosts = resolved.map((r) => r.host);
  return { hosts, errors: walk.errors };
}

interface SshG {
  configFile: string;
  alias: string;
  timeoutMs: number;
  home: string;
}

/** A host ssh rejects stays listed, with ssh's message: it is the user's host, and unusable. */
async function resolveHost(
  call: SshG,
  configFiles: string[],
): Promise<{ host: SshHost; error?: string }> {
  try {
    return { host: parseSshG(await sshG(call), call.alias) };
  } catch (err) {
    const message = redactPaths(reason(err), configFiles);
    return {
      host: { alias: call.alias, hostname: call.alias, user: null, port: 22, error: message },
      error: `ssh -G ${call.alias}: ${message}`,
    };
  }
}

/** ssh's glob(3) expands `~` (also the `~/.ssh/` it puts before a relative Include) from $HOME first. */
function defaultHome(): string {
  if (process.env.HOME) return process.env.HOME;
  try {
    return userInfo().homedir;
  } catch {
    return homedir();
  }
}

function isPattern(name: string): boolean {
  return name.startsWith('!') || /[*?]/.test(name);
}

async function walkFile(file: string, depth: number, walk: Walk): Promise<void> {
  let real: string;
  let text: string;
  try {
    real = await realpath(file);
    // Each file once: that ends include cycles, and a repeated include adds no new host.
    if (walk.seen.has(real)) return;
    walk.seen.add(real);
    text = await readFile(real, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A missing include is normal for ssh too, and it reads nothing from a folder; anything else is worth a word.
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR')
      walk.errors.push(`cannot read ssh config ${file}: ${code ?? String(err)}`);
    return;
  }
  walk.files.push(file, real);
  let lines: Line[];
  try {
    lines = SSHConfig.parse(text);
  } catch (err) {
    walk.errors.push(`cannot parse ssh config ${file}: ${reason(err)}`);
    return;
  }
  await walkLines(lines, file, depth, walk);
}

async function walkLines(lines: Line[], file: string, depth: number, walk: Walk): Promise<void> {
  for (const line of lines) {
    if (line.type !== SSHConfig.DIRECTIVE) continue;
    const param = line.param.toLowerCase();
    if (param === 'host') walk.names.push(...values(line.value));
    if (param === 'include') await walkInclude(values(line.value), file, depth, walk);
    // Host and Match sections hold their lines, Includes among them.
    if ('config' in line) await walkLines(line.config, file, depth, walk);
  }
}

async function walkInclude(patterns: string[], file: string, depth: number, walk: Walk) {
  for (const pattern of patterns) {
    for (const included of await expandGlob(includePath(pattern, walk.home))) {
      if (depth >= MAX_INCLUDE_DEPTH) {
        walk.errors.push(`ssh config ${file}: Include nested deeper than ${MAX_INCLUDE_DEPTH}`);
        return;
      }
      await walkFile(included, depth + 1, walk);
    }
  }
}

/** ssh-config splits `a=b` into two values where ssh reads one word: join them back. */
function values(value: Directive['value']): string[] {
  if (typeof value === 'string') return value ? [value] : [];
  const words: string[] = [];
  for (const [i, v] of value.entries()) {
    if (i > 0 && v.separator === '=') words.push(`${words.pop() ?? ''}=${v.val}`);
    else words.push(v.val);
  }
  return words;
}

/** The real `ssh -G`, without a shell, in its own process group so a hung `Match exec` dies too. */
function sshG({ configFile, alias, timeoutMs, home }: SshG): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', ['-G', '-F', configFile, '--', alias], {
      env: { ...process.env, LC_ALL: 'C', HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += c;
    });
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // Children a `Match exec` left behind would hold the pipes open: they go with ssh.
    child.on('exit', () => killGroup(child));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(firstMessage(stderr) ?? `exit code ${code ?? 'none'}`));
    });
  });
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** ssh's own chatter is not the reason it failed. */
function firstMessage(stderr: string): string | undefined {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('Pseudo-terminal will not be allocated'));
}

/**
 * Only what the catalog shows of the route: hostname, user, port and the ProxyJump chain, and
 * whether a ProxyCommand is set; never identityfile, the command's text or the like.
 */
export function parseSshG(stdout: string, alias: string): SshHost {
  const fields = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^(hostname|user|port|proxyjump|proxycommand) (.+)$/.exec(line.trim());
    if (match && !fields.has(match[1]!)) fields.set(match[1]!, match[2]!.trim());
  }
  const port = Number(fields.get('port'));
  const jump = fields.get('proxyjump');
  const hops =
    jump && jump !== 'none'
      ? jump
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean)
      : [];
  const command = fields.get('proxycommand');
  return {
    alias,
    hostname: fields.get('hostname') || alias,
    user: fields.get('user') || null,
    port: Number.isInteger(port) && port > 0 && port < 65536 ? port : 22,
    ...(hops.length ? { proxyJump: hops } : {}),
    ...(command && command !== 'none' ? { proxyCommand: true } : {}),
  };
}

function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // eslint-disable-next-line no-control-regex -- a message goes into a log line: no control characters
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 300);
}

/** An ssh message may name a key or other file: only the config files themselves are shown. */
export function redactPaths(message: string, allowed: string[]): string {
  return message.replace(/(^|[\s'"(=])((?:~|\/)[^\s'"(),:]*)/g, (all, pre: string, p: string) =>
    allowed.includes(p) ? all : `${pre}<path>`,
  );
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>) {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
