// A project's make targets from make's own database (`make -pRrq :`, which runs no recipe), with
// the `## description` and annotations written beside each target in the Makefile text; or, for an
// mkcli alias on PATH, from `<alias> --list-targets`.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAnnotations, type Annotations } from './annotations.js';

export interface MakeTarget extends Omit<Annotations, 'problems'> {
  name: string;
  phony: boolean;
}

export interface Discovery {
  targets: MakeTarget[];
  /** The makefiles read (absolute), for the cache to watch. */
  files: string[];
  /** Annotations that could not be read, for the log. */
  problems: string[];
}

export class MakeError extends Error {
  override name = 'MakeError';
}

const NAME = /^([^\s:#=%$.][^\s:#=%$]*)::?(?:\s|$)/;
const TARGET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_./+-]*$/;

interface RawTarget {
  name: string;
  phony: boolean;
  recipe: boolean;
  /** Has prerequisites (an aggregate such as `all: build test`). */
  deps?: boolean;
}

/** The explicit targets of `make -pRrq` output: no special, pattern or non-targets. */
export function parseMakeDatabase(output: string): { targets: RawTarget[]; makefiles: string[] } {
  const makefiles = /^MAKEFILE_LIST :?= (.*)$/m.exec(output)?.[1]?.trim().split(/\s+/) ?? [];
  const start = output.indexOf('\n# Files\n');
  const end = output.indexOf('\n# files hash-table stats', start);
  const section = start < 0 ? '' : output.slice(start, end < 0 ? undefined : end);
  const targets = new Map<string, RawTarget>();
  for (const paragraph of section.split(/\n\n+/)) {
    const lines = paragraph.split('\n');
    if (lines.some((l) => l === '# Not a target:')) continue;
    const head = lines.find((l) => l && !l.startsWith('#'));
    const match = head ? NAME.exec(head) : null;
    if (!match) continue;
    const name = match[1]!;
    const prev = targets.get(name);
    const phony = lines.some((l) => l.startsWith('#  Phony target'));
    const recipe = lines.some((l) => l.startsWith('\t'));
    const deps = lines.some((l) => {
      const rest = l.startsWith(name + ':') ? l.slice(name.length).replace(/^::?/, '').trim() : '';
      return rest !== '' && !/^\S+\s*(=|:=|::=|\?=|\+=)/.test(rest);
    });
    // Double-colon rules come as several paragraphs of one target.
    targets.set(name, {
      name,
      phony: phony || !!prev?.phony,
      recipe: recipe || !!prev?.recipe,
      deps: deps || !!prev?.deps,
    });
  }
  return { targets: [...targets.values()], makefiles };
}

/** `target other: deps ## text` lines; the first description of a target wins. */
export function parseDescriptions(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m =
      /^([A-Za-z0-9_./+-]+(?:[ \t]+[A-Za-z0-9_./+-]+)*)[ \t]*::?(?!=)[^#]*##[ \t]*(.*?)\s*$/.exec(
        line,
      );
    if (!m) continue;
    for (const name of m[1]!.split(/[ \t]+/)) if (!found.has(name)) found.set(name, m[2]!);
  }
  return found;
}

/**
 * What a user means by "a target": documented ones (`##`), phony ones that do something (a recipe
 * or prerequisites), and ones with a recipe not named like a file (no `.` or `/`): `app.tar.gz: …`
 * builds a file and is left out, and so is a name only listed in `.PHONY`.
 */
export function isUserTarget(t: RawTarget, described: boolean): boolean {
  if (!TARGET_NAME.test(t.name)) return false;
  if (described) return true;
  if (t.phony) return t.recipe || !!t.deps;
  return t.recipe && !/[./]/.test(t.name);
}

function run(
  file: string,
  args: string[],
  opts: { cwd?: string; timeoutMs: number },
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        env: { ...process.env, LC_ALL: 'C', MAKEFLAGS: '', MFLAGS: '', GNUMAKEFLAGS: '' },
        timeout: opts.timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown; killed?: boolean }) | null;
        if (e?.killed)
          return reject(
            new MakeError(
              `${path.basename(file)} did not answer within ${opts.timeoutMs / 1000} s`,
            ),
          );
        if (e && typeof e.code !== 'number') return reject(new MakeError(e.message));
        resolve({ stdout, stderr, code: e ? (e.code as number) : 0 });
      },
    );
  });
}

export async function discoverTargets(
  dir: string,
  opts: { timeoutMs?: number } = {},
): Promise<Discovery> {
  const { stdout, stderr } = await run('make', ['-C', dir, '--no-print-directory', '-pRrq', ':'], {
    timeoutMs: opts.timeoutMs ?? 10_000,
  });
  return fromMakeDatabase(stdout, stderr, async (names) => {
    const files = names.map((f) => path.resolve(dir, f));
    const texts = await Promise.all(files.map((f) => readFile(f, 'utf8').catch(() => '')));
    return { files, text: texts.join('\n') };
  });
}

/**
 * The targets in make's database output (local or from a remote host). `readMakefiles` returns the
 * text of the makefiles make read (for `##` descriptions) and their paths (for the cache).
 */
export async function fromMakeDatabase(
  stdout: string,
  stderr: string,
  readMakefiles: (names: string[]) => Promise<{ files: string[]; text: string }>,
): Promise<Discovery> {
  // `:` is no target, so make ends with "No rule to make target ':'" after printing its database;
  // -q also answers 1 when something is out of date. Fatal errors say `***`; warnings (clock skew,
  // overriding recipes) are passed on as problems.
  const lines = stderr
    .split('\n')
    .filter((l) => l.trim() && !/No rule to make target ':'\./.test(l));
  const fatal = lines.filter((l) => l.includes('***'));
  if (fatal.length || !stdout.includes('\n# Files\n')) {
    throw new MakeError(fatal.join('\n') || lines.join('\n') || 'make printed no database');
  }
  const { targets, makefiles } = parseMakeDatabase(stdout);
  const { files, text } = await readMakefiles(makefiles);
  const descriptions = parseDescriptions(text);
  const problems: string[] = lines;
  const found = targets
    .filter((t) => isUserTarget(t, descriptions.has(t.name)))
    .map((t) => {
      const { problems: p, ...annotations } = parseAnnotations(descriptions.get(t.name) ?? '');
      problems.push(...p.map((x) => `${t.name}: ${x}`));
      return { name: t.name, phony: t.phony, ...annotations };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return { targets: found, files, problems };
}

/** The mkcli convention: `<alias> --list-targets` prints one target per line and exits 0. */
export async function listTargetsVia(
  executable: string,
  dir: string,
  opts: { timeoutMs?: number } = {},
): Promise<Discovery> {
  const { stdout, stderr, code } = await run(executable, ['--list-targets'], {
    cwd: dir,
    timeoutMs: opts.timeoutMs ?? 10_000,
  });
  if (code !== 0)
    throw new MakeError(
      `${path.basename(executable)} --list-targets exited with ${code}: ${stderr.trim().slice(0, 500)}`,
    );
  const names = [
    ...new Set(
      stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => TARGET_NAME.test(l)),
    ),
  ];
  return {
    targets: names.sort().map((name) => ({ name, phony: true, description: '' })),
    files: [],
    problems: [],
  };
}
