// A project's make targets, found without changing anything: make's own database (`make -pRrq :`)
// read inside a throwaway sandbox (make-sandbox.ts), or, where the host offers no isolation, the
// makefile text alone (the safe mode, which runs nothing). For an mkcli alias on PATH, its
// `<alias> --list-targets`, sandboxed the same way. Then ranked as a user reads a `make help`.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ListingMode } from '@vmo/protocol';
import { parseAnnotations, type Annotations } from './annotations.js';
import {
  includesOf,
  MAKEFILE_NAMES,
  parseDatabases,
  parseMakefileText,
  type Database,
  type Forwarder,
  type RawTarget,
  type RuleSet,
} from './make-database.js';
import { parseDescriptions, type TargetDoc } from './makefile-docs.js';
import { sandboxArgv, sandboxFailure, splitListing, splitSandboxStderr } from './make-sandbox.js';

export interface MakeTarget extends Omit<Annotations, 'problems'> {
  name: string;
  phony: boolean;
  /** The `##@` section it is documented under. */
  section: string | null;
  /** Folded under "more": a file make builds rather than a task a user runs. */
  more: boolean;
}

export interface Discovery {
  /** Ranked: documented targets in file order, then the other tasks, then the folded ones. */
  targets: MakeTarget[];
  /** The makefiles read (absolute), for the cache to watch. */
  files: string[];
  /** Annotations that could not be read and make's warnings, for the log. */
  problems: string[];
  /** How the list was found, and why not isolated when it was not. */
  listing: { mode: ListingMode; reason?: string };
}

export class MakeError extends Error {
  override name = 'MakeError';
}

const TARGET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_./+-]*$/;
const FILE_LIKE = /[./]/;

/** Where a listing runs: this machine, or a remote host over ssh. */
export interface ListingHost {
  /** Runs the argv to its end; a timeout or a failure to start is a MakeError naming `what`. */
  run(argv: string[], what: string): Promise<{ stdout: string; stderr: string; code: number }>;
  /** The files that exist among these (relative to dir), with their text. For the safe mode. */
  read(dir: string, names: string[]): Promise<{ name: string; text: string }[]>;
  /** The names in dir, for the safe mode. */
  entries(dir: string): Promise<string[]>;
  /** The path the cache watches for a file make read (absolute, or host-qualified). */
  locate(dir: string, name: string): string;
}

/** A task a user runs, or one to fold under "more" (see docs/CATALOG.md, "How targets are ranked"). */
export function isFolded(t: RawTarget, entries: ReadonlySet<string>): boolean {
  // Named like a file (CMake declares its `*.o` and `*/fast` targets phony all the same).
  if (FILE_LIKE.test(t.name)) return true;
  if (t.phony) return false;
  // A program built from sources (`app: main.o util.o`), or a file that is there already.
  if (t.prereqs.length > 0 && t.prereqs.every((p) => FILE_LIKE.test(p))) return true;
  return entries.has(t.name);
}

/**
 * Keeps what a user would call a target: documented ones, phony ones that do something, and
 * others with a recipe or prerequisites; a name only listed in `.PHONY` is none.
 */
export function isUserTarget(t: RawTarget, described: boolean): boolean {
  if (!TARGET_NAME.test(t.name)) return false;
  return described || t.recipe || t.prereqs.length > 0;
}

/**
 * `%: common-%`: each `common-X` target makes `X` a target, unless X is one already; every
 * `common-X` is the shared makefile's own, folded under "more".
 */
function forwarded(
  targets: RawTarget[],
  forwarders: Forwarder[],
): { short: Map<string, string>; reached: Set<string> } {
  const names = new Set(targets.map((t) => t.name));
  const short = new Map<string, string>(); // X → common-X
  const reached = new Set<string>();
  for (const { prefix, suffix } of forwarders)
    for (const t of targets) {
      if (!t.name.startsWith(prefix) || !t.name.endsWith(suffix)) continue;
      const stem = t.name.slice(prefix.length, t.name.length - suffix.length);
      if (!stem || !TARGET_NAME.test(stem)) continue;
      reached.add(t.name);
      if (!names.has(stem) && !short.has(stem)) short.set(stem, t.name);
    }
  return { short, reached };
}

/** Rules and docs → the targets in the order of the first screen, then "more". */
export function rankTargets(
  rules: Omit<RuleSet, 'makefiles'>,
  docs: Map<string, TargetDoc>,
  entries: ReadonlySet<string>,
): { targets: MakeTarget[]; problems: string[] } {
  const problems: string[] = [];
  const { short, reached } = forwarded(rules.targets, rules.forwarders);
  const raw: RawTarget[] = [
    ...rules.targets,
    ...[...short].map(([name, to]) => ({ name, phony: true, recipe: true, prereqs: [to] })),
  ];
  const ranked = raw
    .map((t) => {
      const doc =
        docs.get(t.name) ?? (short.has(t.name) ? docs.get(short.get(t.name)!) : undefined);
      return { t, doc };
    })
    .filter(({ t, doc }) => isUserTarget(t, !!doc))
    .map(({ t, doc }) => {
      const { problems: p, ...annotations } = parseAnnotations(doc?.description ?? '');
      problems.push(...p.map((x) => `${t.name}: ${x}`));
      const more = reached.has(t.name) || (!doc && isFolded(t, entries));
      const target: MakeTarget = {
        name: t.name,
        phony: t.phony,
        ...annotations,
        section: doc?.section ?? null,
        more,
      };
      return { target, order: doc && !more ? doc.order : Infinity };
    });
  const tier = (x: { target: MakeTarget; order: number }) =>
    x.order !== Infinity ? 0 : x.target.more ? 2 : 1;
  ranked.sort(
    (a, b) => tier(a) - tier(b) || a.order - b.order || a.target.name.localeCompare(b.target.name),
  );
  return { targets: ranked.map((r) => r.target), problems };
}

const MAKE_DB = ['make', '--no-print-directory', '-pRrq', ':'];

/**
 * Lists a project's targets on a host: in the sandbox when the host has one, else in the safe mode.
 * `via` is an mkcli executable whose `--list-targets` replaces make's database.
 */
export async function listTargets(
  host: ListingHost,
  dir: string,
  opts: { via?: string } = {},
): Promise<Discovery> {
  const boundary = `vmo-${randomBytes(8).toString('hex')}`;
  const command = opts.via ? [opts.via, '--list-targets'] : MAKE_DB;
  const what = opts.via ? `${path.basename(opts.via)} --list-targets` : 'make';
  const { stdout, stderr, code } = await host.run(sandboxArgv(command, dir, boundary), what);
  const { ready, rest } = splitSandboxStderr(stderr);
  if (!ready) return safeMode(host, dir, sandboxFailure(stderr));
  const listing = splitListing(stdout, boundary);
  const entries = new Set(listing.entries);
  if (opts.via) return fromTargetList(opts.via, listing.output, rest, code);
  return fromMakeDatabase(listing.output, rest, {
    texts: listing.files,
    entries,
    locate: (name) => host.locate(dir, name),
  });
}

/** The targets in make's database output, with the text of the makefiles make read. */
export function fromMakeDatabase(
  stdout: string,
  stderr: string,
  read: {
    texts: { name: string; text: string }[];
    entries: ReadonlySet<string>;
    locate: (name: string) => string;
  },
): Discovery {
  // `:` is no target, so make ends with "No rule to make target ':'" after printing its database;
  // -q also answers 1 when something is out of date. Fatal errors say `***`; warnings (clock skew,
  // overriding recipes) are passed on as problems.
  // A `.DEFAULT` rule takes `:` for a goal too, and its sub-make fails on it: `[Makefile:6: :]`.
  const lines = stderr
    .split('\n')
    .filter((l) => l.trim() && !/No rule to make target ':'\.|\[[^\]]*: :\] Error \d+$/.test(l));
  // Fatal is what stops make reading the makefiles (`***` … `Stop.`): a syntax error, `$(error)`, a
  // missing include. A recipe that fails while make remakes a makefile (MakeMaker's rebuild) is
  // not: make still printed the database it read, and the failure is a problem for the log.
  const fatal = lines.filter((l) => l.includes('***') && /Stop\.\s*$/.test(l));
  if (fatal.length || !stdout.includes('\n# Files\n'))
    throw new MakeError(fatal.join('\n') || lines.join('\n') || 'make printed no database');
  const dbs = parseDatabases(stdout);
  const main = dbs.at(-1)!;
  const abs = (db: Database, f: string) => path.posix.resolve(db.curdir ?? '/', f);
  // `.DEFAULT: ; cd src && $(MAKE) $@` (redis's style): what make does not know goes to the
  // sub-make, whose database the listing's own goal made it print. Its targets are this
  // project's too, as the sub-make's `make help` shows them.
  const subs = main.defaultSubmake
    ? dbs.slice(0, -1).filter((d) => d.curdir && d.curdir !== main.curdir)
    : [];
  const known = new Set(main.targets.map((t) => t.name));
  const rules = {
    targets: [
      ...main.targets,
      ...subs.flatMap((d) => d.targets).filter((t) => !known.has(t.name) && known.add(t.name)),
    ],
    forwarders: main.forwarders,
  };
  const byPath = new Map(read.texts.map((f) => [path.posix.resolve('/', f.name), f.text]));
  const makefiles = [main, ...subs].flatMap((d) => d.makefiles.map((f) => abs(d, f)));
  const docs = parseDescriptions(makefiles.map((f) => byPath.get(f) ?? ''));
  const { targets, problems } = rankTargets(rules, docs, read.entries);
  return {
    targets,
    files: [...new Set(makefiles)].map(read.locate),
    problems: [...lines, ...problems],
    listing: { mode: 'isolated' },
  };
}

/** The mkcli convention: `<alias> --list-targets` prints one target per line and exits 0. */
function fromTargetList(via: string, stdout: string, stderr: string, code: number): Discovery {
  if (code !== 0)
    throw new MakeError(
      `${path.basename(via)} --list-targets exited with ${code}: ${stderr.trim().slice(0, 500)}`,
    );
  const names = new Set(
    stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => TARGET_NAME.test(l)),
  );
  return {
    targets: [...names]
      .sort()
      .map((name) => ({ name, phony: true, description: '', section: null, more: false })),
    files: [],
    problems: [],
    listing: { mode: 'isolated' },
  };
}

/** Reads the makefile text, follows literal includes, and ranks what is written there. */
async function safeMode(host: ListingHost, dir: string, reason: string): Promise<Discovery> {
  const [main] = await host.read(dir, MAKEFILE_NAMES);
  if (!main) throw new MakeError(`no Makefile in ${dir}`);
  const texts = [main];
  const problems: string[] = [];
  const seen = new Set([main.name]);
  for (let i = 0; i < texts.length && texts.length < 64; i++) {
    const { literal, skipped } = includesOf(texts[i]!.text);
    problems.push(...skipped.map((s) => `safe mode: include ${s} not followed (needs make)`));
    const names = await expandIncludes(host, dir, literal);
    for (const file of await host.read(
      dir,
      names.filter((n) => !seen.has(n)),
    )) {
      seen.add(file.name);
      texts.push(file);
    }
  }
  const rules = parseMakefileText(texts.map((t) => t.text));
  const docs = parseDescriptions(texts.map((t) => t.text));
  const ranked = rankTargets(rules, docs, new Set(await host.entries(dir)));
  return {
    targets: ranked.targets,
    files: texts.map((t) => host.locate(dir, t.name)),
    problems: [...problems, ...ranked.problems],
    listing: { mode: 'safe', reason },
  };
}

/** `mk/*.mk` style includes: a glob in the last part, matched against that folder's entries. */
async function expandIncludes(host: ListingHost, dir: string, names: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const name of names) {
    if (!/[*?[]/.test(path.posix.basename(name)) || /[*?[]/.test(path.posix.dirname(name))) {
      out.push(name);
      continue;
    }
    const folder = path.posix.dirname(name);
    const re = globToRegExp(path.posix.basename(name));
    const found = (await host.entries(path.posix.resolve(dir, folder))).filter((e) => re.test(e));
    out.push(...found.sort().map((e) => path.posix.join(folder, e)));
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const c of glob)
    re += c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${re}$`);
}

/** This machine. */
export function localHost(opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): ListingHost {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return {
    run: (argv, what) =>
      new Promise((resolve, reject) => {
        execFile(
          argv[0]!,
          argv.slice(1),
          {
            env: opts.env ?? process.env,
            timeout: timeoutMs,
            // unshare ignores TERM while it waits; its death takes the whole namespace with it.
            killSignal: 'SIGKILL',
            maxBuffer: 64 * 1024 * 1024,
          },
          (err, stdout, stderr) => {
            const e = err as (Error & { code?: unknown; killed?: boolean }) | null;
            if (e?.killed)
              return reject(new MakeError(`${what} did not answer within ${timeoutMs / 1000} s`));
            if (e && typeof e.code !== 'number') return reject(new MakeError(e.message));
            resolve({ stdout, stderr, code: e ? (e.code as number) : 0 });
          },
        );
      }),
    read: async (dir, names) => {
      const files = await Promise.all(
        names.map(async (name) => {
          const text = await readFile(path.resolve(dir, name), 'utf8').catch(() => null);
          return text === null ? null : { name, text };
        }),
      );
      return files.filter((f) => f !== null);
    },
    entries: (dir) => readdir(dir).catch(() => []),
    locate: (dir, name) => path.resolve(dir, name),
  };
}

/** The local listing, for the catalog. */
export function discoverTargets(
  dir: string,
  opts: { timeoutMs?: number; via?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Discovery> {
  return listTargets(localHost(opts), dir, { via: opts.via });
}
