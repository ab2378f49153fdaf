// A project's make targets from make's own database (`make -pRrq :`, which runs no recipe),
// with the `## description` written beside each target in the Makefile text.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface MakeTarget {
  name: string;
  description: string;
  phony: boolean;
}

const NAME = /^([^\s:#=%$.][^\s:#=%$]*)::?(?:\s|$)/;

/** The explicit targets of `make -pRrq` output: no special, pattern or non-targets; phony or with a recipe. */
export function parseMakeDatabase(output: string): {
  targets: Omit<MakeTarget, 'description'>[];
  makefiles: string[];
} {
  const makefiles = /^MAKEFILE_LIST :?= (.*)$/m.exec(output)?.[1]?.trim().split(/\s+/) ?? [];
  const start = output.indexOf('\n# Files\n');
  const end = output.indexOf('\n# files hash-table stats', start);
  const section = start < 0 ? '' : output.slice(start, end < 0 ? undefined : end);
  const targets = new Map<string, { name: string; phony: boolean }>();
  for (const paragraph of section.split(/\n\n+/)) {
    const lines = paragraph.split('\n');
    if (lines.some((l) => l === '# Not a target:')) continue;
    const head = lines.find((l) => l && !l.startsWith('#'));
    const match = head ? NAME.exec(head) : null;
    if (!match) continue;
    const phony = lines.some((l) => l.startsWith('#  Phony target'));
    const recipe = lines.some((l) => l.startsWith('\t'));
    if (phony || recipe) targets.set(match[1]!, { name: match[1]!, phony });
  }
  return { targets: [...targets.values()], makefiles };
}

/** `target other: deps ## text` lines; the first description of a target wins. */
export function parseDescriptions(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m =
      /^([A-Za-z0-9_./-]+(?:[ \t]+[A-Za-z0-9_./-]+)*)[ \t]*::?(?!=)[^#]*##[ \t]*(.*?)\s*$/.exec(
        line,
      );
    if (!m) continue;
    for (const name of m[1]!.split(/[ \t]+/)) if (!found.has(name)) found.set(name, m[2]!);
  }
  return found;
}

export class MakeError extends Error {
  override name = 'MakeError';
}

export async function discoverTargets(
  dir: string,
  opts: { timeoutMs?: number } = {},
): Promise<MakeTarget[]> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      'make',
      ['-C', dir, '--no-print-directory', '-pRrq', ':'],
      {
        env: { ...process.env, LC_ALL: 'C', MAKEFLAGS: '', MFLAGS: '', GNUMAKEFLAGS: '' },
        timeout: opts.timeoutMs ?? 10_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        // `:` is no target, so make ends with "No rule to make target ':'" after printing its database;
        // -q also answers 1 when something is out of date. Any other complaint is the Makefile's own.
        const complaint = stderr
          .replace(/^make: \*\*\* No rule to make target ':'\.\s+Stop\.$/m, '')
          .trim();
        if (err && (complaint || !stdout.includes('\n# Files\n')))
          return reject(new MakeError(complaint || err.message));
        resolve(stdout);
      },
    );
  });
  const { targets, makefiles } = parseMakeDatabase(output);
  const descriptions = new Map<string, string>();
  for (const file of makefiles) {
    const text = await readFile(path.resolve(dir, file), 'utf8').catch(() => '');
    for (const [name, text_] of parseDescriptions(text))
      if (!descriptions.has(name)) descriptions.set(name, text_);
  }
  return targets
    .map((t) => ({ ...t, description: descriptions.get(t.name) ?? '' }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
