// The catalog on Makefiles written in the styles real projects use (test/fixtures/makefiles, one
// folder each, with what a user should see in expect.json): each listing matches the Makefile's own
// `make help`, and listing, a refresh and the re-read after a change leave the project's tree
// (content and mtimes) and a marker outside it exactly as they were.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { CatalogService } from './catalog.service.js';
import { parseMakeDatabase } from './make-database.js';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/makefiles', import.meta.url));
/** The folder the parse-writes fixture writes into when make runs bare. */
const OUTSIDE = '/tmp/vmo-fixture-outside';

interface Expect {
  style: string;
  help: boolean;
  first: { name: string; section: string | null; description: string }[];
  more: string[];
  absent: string[];
  error: string | null;
  sideEffects: string[];
  touchNewer?: string[];
}

const styles = existsSync(FIXTURES)
  ? readdirSync(FIXTURES).filter((d) => existsSync(path.join(FIXTURES, d, 'expect.json')))
  : [];
const root = mkdtempSync(path.join(tmpdir(), 'vmo-fixtures-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A copy of a fixture with sensible mtimes (git keeps none): older files first, as on a checkout. */
function copyOf(style: string, expect: Expect, into = root): string {
  const dir = path.join(into, style);
  cpSync(path.join(FIXTURES, style), dir, { recursive: true });
  rmSync(path.join(dir, 'expect.json'));
  const base = Date.now() / 1000 - 3600;
  for (const f of walk(dir)) utimesSync(path.join(dir, f.path), base, base);
  for (const f of expect.touchNewer ?? []) utimesSync(path.join(dir, f), base + 60, base + 60);
  return dir;
}

interface Entry {
  path: string;
  kind: string;
  mtimeMs: number;
  hash?: string;
}

function walk(dir: string, rel = ''): Entry[] {
  const out: Entry[] = [];
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const p = path.join(rel, name);
    const st = lstatSync(path.join(dir, p));
    const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'file';
    const hash =
      kind === 'file'
        ? createHash('sha1')
            .update(readFileSync(path.join(dir, p)))
            .digest('hex')
        : undefined;
    out.push({ path: p, kind, mtimeMs: st.mtimeMs, hash });
    if (kind === 'dir') out.push(...walk(dir, p));
  }
  return out;
}

/** The tree and the marker outside it, to compare before and after. */
function snapshot(dir: string, marker: string) {
  return { tree: walk(dir), outside: readdirSync(OUTSIDE), marker: statSync(marker).mtimeMs };
}

/** Target names in `make help` output that make knows as targets, in the order help prints them. */
async function helpNames(style: string, expect: Expect): Promise<string[]> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'vmo-help-'));
  try {
    const dir = copyOf(style, expect, scratch);
    const env = { ...process.env, LC_ALL: 'C', MAKEFLAGS: '' };
    const help = await run('make', ['-s', '--no-print-directory', 'help'], { cwd: dir, env });
    const db = await run('make', ['--no-print-directory', '-pRrq', ':'], { cwd: dir, env }).catch(
      (e: { stdout: string }) => e,
    );
    const known = new Set(parseMakeDatabase(db.stdout).targets.map((t) => t.name));
    const seen: string[] = [];
    for (const raw of help.stdout.split('\n')) {
      const line = raw.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
      const word = /^[\s.]*([A-Za-z0-9_][A-Za-z0-9_./+-]*)/.exec(line)?.[1];
      if (word && (known.has(word) || known.has(`common-${word}`)) && !seen.includes(word))
        seen.push(word);
    }
    return seen;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The side effects expect.json names that bare `make -pRrq :` really has, on a scratch copy. */
async function bareEffects(style: string, expected: Expect): Promise<string[]> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'vmo-bare-'));
  try {
    const dir = copyOf(style, expected, scratch);
    const before = new Map(walk(dir).map((f) => [f.path, f]));
    rmSync(OUTSIDE, { recursive: true, force: true });
    mkdirSync(OUTSIDE, { recursive: true });
    const env = { ...process.env, LC_ALL: 'C', MAKEFLAGS: '' };
    await run('make', ['--no-print-directory', '-pRrq', ':'], { cwd: dir, env }).catch(() => null);
    const after = new Map(walk(dir).map((f) => [f.path, f]));
    return expected.sideEffects.filter((e) => {
      if (path.isAbsolute(e)) return existsSync(e);
      const [a, b] = [before.get(e), after.get(e)];
      return !a !== !b || a?.hash !== b?.hash || a?.mtimeMs !== b?.mtimeMs;
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(OUTSIDE, { recursive: true, force: true });
    mkdirSync(OUTSIDE, { recursive: true });
  }
}

describe.skipIf(styles.length === 0)('listing real-world Makefile styles', () => {
  it.each(styles)('%s: lists as its own help shows it, and changes nothing', async (style) => {
    const expected = JSON.parse(
      readFileSync(path.join(FIXTURES, style, 'expect.json'), 'utf8'),
    ) as Expect;
    const dir = copyOf(style, expected);
    rmSync(OUTSIDE, { recursive: true, force: true });
    mkdirSync(OUTSIDE, { recursive: true });
    const marker = path.join(root, `${style}.marker`);
    writeFileSync(marker, 'untouched');
    const before = snapshot(dir, marker);
    const catalog = new CatalogService({
      config: {
        projects: [{ alias: style, dir }],
        mkcli: { registry: path.join(root, 'no-registry') },
        ssh: { config: path.join(root, 'no-ssh-config') } as never,
        vmConfig: { dir: path.join(root, 'no-environments') },
      },
      presets: [],
      log: pino({ level: 'silent' }),
    });
    await catalog.refresh();
    const list = () => catalog.targets(style);

    if (expected.error) {
      const err = await list().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'MAKEFILE_ERROR' });
      expect((err as Error).message).toContain(expected.error);
      const [state] = await catalog.states();
      expect(state).toMatchObject({ available: false, errorCode: 'MAKEFILE_ERROR' });
      expect(snapshot(dir, marker)).toEqual(before);
      return;
    }

    const targets = await list();
    expect(snapshot(dir, marker)).toEqual(before);
    const first = targets
      .filter((t) => !t.more)
      .map((t) => ({ name: t.name, section: t.section ?? null, description: t.description }));
    expect(first).toEqual(expected.first);
    expect(targets.filter((t) => t.more).map((t) => t.name)).toEqual(
      expect.arrayContaining(expected.more) as unknown,
    );
    expect(targets.filter((t) => t.more)).toHaveLength(expected.more.length);
    const names = targets.map((t) => t.name);
    for (const absent of expected.absent) expect(names, absent).not.toContain(absent);

    if (expected.help) {
      const shown = await helpNames(style, expected);
      expect(shown.length).toBeGreaterThan(0);
      // Everything help names is listed; the documented ones in help's order.
      expect(names).toEqual(expect.arrayContaining(shown) as unknown);
      const documented = first.filter((t) => t.description).map((t) => t.name);
      expect(documented.filter((n) => shown.includes(n))).toEqual(
        shown.filter((n) => documented.includes(n)),
      );
    }

    // A refresh, and the re-read a changed makefile brings, change nothing either.
    await catalog.refresh();
    expect(await list()).toEqual(targets);
    const makefile = path.join(dir, 'Makefile');
    const later = Date.now() / 1000;
    utimesSync(makefile, later, later);
    const touched = snapshot(dir, marker);
    expect(await list()).toEqual(targets);
    expect(snapshot(dir, marker)).toEqual(touched);
    const [state] = await catalog.states();
    expect(state).toMatchObject({ available: true, listing: { mode: 'isolated' } });
    // Bare make does what expect.json says it does: the sandbox is what kept things as they were.
    expect(await bareEffects(style, expected)).toEqual(expected.sideEffects);
  });
});
