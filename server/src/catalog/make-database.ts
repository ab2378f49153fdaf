// What make's own database (`make -pRrq :`) says of a project's rules: its explicit targets with
// their prerequisites and recipes, and the catch-all forwarders (`%: common-%`) among its pattern
// rules. Also the same read from the makefile text alone, for the safe mode that runs nothing.

export interface RawTarget {
  name: string;
  phony: boolean;
  recipe: boolean;
  /** Normal prerequisites (order-only ones left out). */
  prereqs: string[];
}

/** A match-anything rule `%: <prefix>%<suffix>`: `make X` runs `<prefix>X<suffix>`. */
export interface Forwarder {
  prefix: string;
  suffix: string;
}

export interface RuleSet {
  targets: RawTarget[];
  forwarders: Forwarder[];
  /** MAKEFILE_LIST as make left it: every makefile read, in order. */
  makefiles: string[];
}

/** One database of make's output, with the folder that make ran in. */
export interface Database extends RuleSet {
  curdir: string | null;
  /** A `.DEFAULT` rule that runs a sub-make: unknown goals go to another makefile. */
  defaultSubmake: boolean;
}

const NAME = /^([^\s:#=%$.][^\s:#=%$]*)(::?)(?:\s|$)/;
const ASSIGNMENT = /^\S+\s*(=|:=|::=|\?=|\+=|!=)/;

/** The prerequisites after `name:` on a rule line, without order-only ones and target variables. */
function prereqsOf(line: string, name: string, colon: string): string[] {
  const rest = line.slice(name.length + colon.length).trim();
  if (!rest || ASSIGNMENT.test(rest)) return [];
  return (rest.split('|')[0] ?? '').split(/\s+/).filter(Boolean);
}

const DB_START = '\n# Make data base, printed on';

/**
 * Every database in `make -p` output, in order. When make remade an included makefile it restarts
 * and prints a second one; a sub-make (`$(MAKE)` in a rule make ran while reading, or `.DEFAULT`
 * taking the listing's goal) prints its own before the main one ends. The last is make's own.
 */
export function parseDatabases(output: string): Database[] {
  const starts: number[] = [];
  for (let at = output.indexOf(DB_START); at >= 0; at = output.indexOf(DB_START, at + 1))
    starts.push(at);
  if (!starts.length) return [parseOne(output)];
  return starts.map((from, i) => parseOne(output.slice(from, starts[i + 1])));
}

/** The database of make itself: the last one printed. */
export function parseMakeDatabase(output: string): Database {
  return parseDatabases(output).at(-1)!;
}

function parseOne(db: string): Database {
  const variable = (name: string) =>
    [...db.matchAll(new RegExp(`^${name} :?= (.*)$`, 'gm'))].at(-1)?.[1]?.trim();
  const makefiles = variable('MAKEFILE_LIST')?.split(/\s+/).filter(Boolean);
  const section = (start: string, end: string) => {
    const from = db.indexOf(start);
    if (from < 0) return '';
    const to = db.indexOf(end, from);
    return db.slice(from, to < 0 ? undefined : to);
  };
  const targets = new Map<string, RawTarget>();
  let defaultSubmake = false;
  for (const paragraph of section('\n# Files\n', '\n# files hash-table stats').split(/\n\n+/)) {
    const lines = paragraph.split('\n');
    const head = lines.find((l) => l && !l.startsWith('#'));
    if (head?.startsWith('.DEFAULT:'))
      defaultSubmake ||= lines.some((l) => l.startsWith('\t') && /\$[({]MAKE[)}]/.test(l));
    if (lines.some((l) => l === '# Not a target:')) continue;
    const match = head ? NAME.exec(head) : null;
    if (!head || !match) continue;
    const name = match[1]!;
    const prev = targets.get(name);
    // Double-colon rules come as several paragraphs of one target.
    targets.set(name, {
      name,
      phony: lines.some((l) => l.startsWith('#  Phony target')) || !!prev?.phony,
      recipe: lines.some((l) => l.startsWith('\t')) || !!prev?.recipe,
      prereqs: [...(prev?.prereqs ?? []), ...prereqsOf(head, name, match[2]!)],
    });
  }
  const forwarders: Forwarder[] = [];
  for (const paragraph of section('\n# Implicit Rules\n', '\n# Files\n').split(/\n\n+/)) {
    const head = paragraph.split('\n').find((l) => l && !l.startsWith('#'));
    const forwarder = head ? forwarderOf(head) : null;
    if (forwarder) forwarders.push(forwarder);
  }
  return {
    targets: [...targets.values()],
    forwarders,
    makefiles: makefiles ?? [],
    curdir: variable('CURDIR') ?? null,
    defaultSubmake,
  };
}

/** `%: common-%` (or `%:: pre-%-post`) → its prefix and suffix; any other rule → null. */
export function forwarderOf(line: string): Forwarder | null {
  const m = /^%::?\s+([^\s%|;]*)%([^\s%|;]*)\s*(?:;.*)?$/.exec(line.trimEnd());
  if (!m || (!m[1] && !m[2])) return null;
  return { prefix: m[1]!, suffix: m[2]! };
}

const SPECIAL = /^\.[A-Z_]+$/;

/**
 * The safe mode: the rules as written in the makefile text, without running make. It cannot expand
 * variables, so `$(…)` names and conditionals are taken literally (all branches count), and only
 * rules written out are found.
 */
export function parseMakefileText(texts: string[]): Omit<RuleSet, 'makefiles'> {
  const targets = new Map<string, RawTarget>();
  const phony = new Set<string>();
  const forwarders: Forwarder[] = [];
  let current: RawTarget[] = [];
  for (const text of texts) {
    let inDefine = false;
    for (const raw of joinContinuations(text)) {
      // A `define … endef` body is a variable's value, whatever it looks like.
      if (inDefine) {
        inDefine = !/^\s*endef\b/.test(raw);
        continue;
      }
      if (/^\s*(?:(?:export|override|private)\s+)*define\b/.test(raw)) {
        inDefine = true;
        continue;
      }
      if (raw.startsWith('\t')) {
        for (const t of current) t.recipe = true;
        continue;
      }
      current = [];
      const line = stripComment(raw);
      if (!line.trim() || ASSIGNMENT.test(line.trim()) || /^\s/.test(line)) continue;
      const colon = /^([^:=]+?)\s*(::?)(?!=)(.*)$/.exec(line);
      if (!colon) continue;
      const names = colon[1]!.split(/\s+/).filter(Boolean);
      const rest = colon[3]!;
      if (ASSIGNMENT.test(rest.trim())) continue; // target-specific variable
      const [deps, inline] = splitInlineRecipe(rest);
      const prereqs = (deps.split('|')[0] ?? '').split(/\s+/).filter(Boolean);
      if (names.includes('.PHONY')) {
        prereqs.forEach((p) => phony.add(p));
        continue;
      }
      for (const name of names) {
        if (name.includes('%')) {
          const f = forwarderOf(`${name}${colon[2]} ${deps}`);
          if (f) forwarders.push(f);
          continue;
        }
        if (SPECIAL.test(name) || name.includes('$')) continue;
        const t = targets.get(name) ?? { name, phony: false, recipe: false, prereqs: [] };
        t.prereqs.push(...prereqs);
        t.recipe ||= inline;
        targets.set(name, t);
        current.push(t);
      }
    }
  }
  for (const t of targets.values()) t.phony = phony.has(t.name);
  return { targets: [...targets.values()], forwarders };
}

function joinContinuations(text: string): string[] {
  return text.replace(/\\\r?\n[ \t]*/g, ' ').split(/\r?\n/);
}

function stripComment(line: string): string {
  const hash = line.indexOf('#');
  return hash < 0 ? line : line.slice(0, hash);
}

/** `deps ; recipe` → the deps, and whether an inline recipe follows. */
function splitInlineRecipe(rest: string): [string, boolean] {
  const semi = rest.indexOf(';');
  return semi < 0 ? [rest, false] : [rest.slice(0, semi), true];
}

/**
 * The makefiles a directory's make would read, as far as the text says: the first of GNUmakefile,
 * makefile, Makefile, then every `include`/`-include`/`sinclude` naming files outright (globs in the
 * last part allowed), relative to the directory. Includes built from variables are skipped and said.
 */
export function includesOf(text: string): { literal: string[]; skipped: string[] } {
  const literal: string[] = [];
  const skipped: string[] = [];
  for (const line of joinContinuations(text)) {
    const m = /^\s*(?:-include|sinclude|include)\s+(.+)$/.exec(stripComment(line));
    if (!m) continue;
    for (const word of m[1]!.trim().split(/\s+/))
      (word.includes('$') ? skipped : literal).push(word);
  }
  return { literal, skipped };
}

export const MAKEFILE_NAMES = ['GNUmakefile', 'makefile', 'Makefile'];
