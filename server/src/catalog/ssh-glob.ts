// The files an ssh `Include` names, as OpenSSH finds them: glob(3) with GLOB_TILDE, walked here by
// tinyglobby. glob(3) knows only `*`, `?` and `[…]`; braces, extglobs, `**` and a leading `!` are
// plain characters to it, so they are escaped before tinyglobby (picomatch) sees the pattern.
import path from 'node:path';
import { glob } from 'tinyglobby';

/**
 * ssh_config(5): a relative Include of a user config is in ~/.ssh (ssh prefixes `~/.ssh/`, then
 * glob(3) expands the `~` from $HOME).
 */
export function includePath(p: string, home: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(home, p.slice(1));
  return path.isAbsolute(p) ? path.normalize(p) : path.join(home, '.ssh', p);
}

// A backslash quotes the next character in glob(3): such a segment goes through the translation too.
const MAGIC = /[*?[\\]/;

/**
 * The files an absolute glob(3) pattern matches, sorted by byte as glob(3) sorts them; none is not
 * an error. A pattern without wildcards is returned as it is: ssh skips a missing file quietly.
 * Wildcards do not match a leading dot. Directories are left out: ssh reads nothing from them.
 */
export async function expandGlob(abs: string): Promise<string[]> {
  const segments = abs.split('/').filter(Boolean);
  const first = segments.findIndex((s) => MAGIC.test(s));
  if (first < 0) return [path.normalize(abs)];
  const patterns = segments.slice(first);
  const found = await glob(patterns.map(toPicomatch).join('/'), {
    // The fixed part is the folder to walk, so none of its characters is read as a pattern.
    cwd: `/${segments.slice(0, first).join('/')}`,
    absolute: true,
    dot: false,
    braceExpansion: false,
    extglob: false,
    globstar: false,
    expandDirectories: false,
    onlyFiles: true,
    followSymbolicLinks: true,
    caseSensitiveMatch: true,
  });
  const dotWritten = patterns.map((p) => p.startsWith('.') || p.startsWith('\\.'));
  return found
    .filter((file) =>
      // picomatch lets `[!a]` match a leading dot; glob(3) wants that dot written out.
      file
        .split('/')
        .slice(first + 1)
        .every((name, i) => !name.startsWith('.') || dotWritten[i]),
    )
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

// What picomatch would read as syntax where glob(3) reads a plain character.
const PICOMATCH_SPECIAL = /[()[\]{}*?|!+@\\^$]/;
const literal = (c: string) => (PICOMATCH_SPECIAL.test(c) ? `\\${c}` : c);

/** One glob(3) path segment as the picomatch pattern that matches the same names. */
export function toPicomatch(segment: string): string {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*' || c === '?') {
      out += c;
    } else if (c === '[') {
      const end = bracketEnd(segment, i);
      if (end < 0) {
        out += '\\[';
      } else {
        out += bracket(segment.slice(i + 1, end));
        i = end;
      }
    } else if (c === '\\' && i + 1 < segment.length) {
      out += literal(segment[++i]!);
    } else {
      out += literal(c);
    }
  }
  return out;
}

/**
 * Where the bracket expression opened at `open` closes, or -1 when it does not (then glob(3)
 * reads the `[` as itself). A `]` right after `[` or `[!` is a member, and `[:class:]` is one.
 */
function bracketEnd(segment: string, open: number): number {
  let i = open + 1;
  if (segment[i] === '!') i++;
  if (i >= segment.length) return -1;
  if (segment[i] === ']') i++; // a member there, not the end
  while (i < segment.length) {
    if (segment.startsWith('[:', i)) {
      const close = segment.indexOf(':]', i + 2);
      if (close >= 0) {
        i = close + 2;
        continue;
      }
    }
    if (segment[i] === ']') return i;
    i++;
  }
  return -1;
}

/** A bracket body of glob(3) for picomatch: `!` negates; a leading `]` or `^` is a member. */
function bracket(body: string): string {
  const negate = body.startsWith('!');
  const members = negate ? body.slice(1) : body;
  const head = members[0] === ']' || members[0] === '^' ? `\\${members[0]}` : members[0]!;
  return `[${negate ? '!' : ''}${head}${members.slice(1).replaceAll('\\', '\\\\')}]`;
}
