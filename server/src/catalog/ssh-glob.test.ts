import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandGlob, includePath, toPicomatch } from './ssh-glob.js';

/** A temp home whose `.ssh/d/` holds files with every character glob(3) or picomatch cares about. */
function tricky(): string {
  const home = mkdtempSync(path.join(tmpdir(), 'vmo-glob-'));
  const d = path.join(home, '.ssh/d');
  for (const dir of ['sub', '.hid', 'adir.conf', 'x(y)'])
    mkdirSync(path.join(d, dir), { recursive: true });
  const names = [
    'a1.conf',
    'b1.conf',
    'c1.conf',
    'A1.conf',
    'a.conf',
    'b.conf',
    '.dot.conf',
    '{a,b}.conf',
    '(a|b).conf',
    'x+y.conf',
    '+(x)',
    '@x',
    '!x',
    'x',
    'y',
    ']',
    '^',
    'br[x',
    'a-b',
    'a]b',
    'sub/last',
    '.hid/last',
    'x(y)/z',
  ];
  for (const name of names) writeFileSync(path.join(d, name), '');
  symlinkSync('a1.conf', path.join(d, 'link.conf'));
  return home;
}

/** The files ssh itself includes for `Include <pattern>`, from its debug log. */
function sshIncludes(home: string, pattern: string): string[] {
  const config = path.join(home, '.ssh/config');
  writeFileSync(config, `Include "${pattern}"\n`);
  const run = spawnSync('ssh', ['-vvv', '-G', '-F', config, 'probe'], {
    env: { ...process.env, HOME: home, LC_ALL: 'C' },
    encoding: 'utf8',
  });
  // ssh lists directories too, and reads nothing from them.
  return [...run.stderr.matchAll(/Including file (.*) depth \d+/g)]
    .map((m) => m[1]!)
    .filter((f) => statSync(f).isFile());
}

describe(expandGlob.name, () => {
  it('finds exactly the files ssh’s own glob(3) includes', async () => {
    const home = tricky();
    const patterns = [
      'd/[ab]*.conf',
      'd/[a-c]1.conf',
      'd/[!x]',
      'd/?',
      'd/*',
      'd/*/last',
      'd/.*',
      'd/*.conf',
      '~/.ssh/d/[!a]*',
      'd/**',
      'd/{a,b}.conf',
      'd/(a|b).conf',
      'd/+(x)',
      'd/@x',
      'd/!x',
      'd/[]]',
      'd/[^x]',
      'd/br[x',
      'd/a[]-]b',
      'd/a[!]]b',
      'd/[[:upper:]]1.conf',
      'd/x(y)/*',
      'd/nothing*',
      'd/a1.conf',
      'd/missing.conf',
    ];
    for (const pattern of patterns) {
      const ours = await expandGlob(includePath(pattern, home));
      const ssh = sshIncludes(home, pattern);
      // A pattern without wildcards comes back as it is, found or not, as glob(3) hands it to ssh.
      if (pattern === 'd/missing.conf') expect(ssh).toEqual([]);
      else expect({ pattern, files: ours }).toEqual({ pattern, files: ssh });
    }
  });

  it('spells out the cases that matter for ssh configs', async () => {
    const home = tricky();
    const d = path.join(home, '.ssh/d');
    const names = async (p: string) =>
      (await expandGlob(includePath(p, home))).map((f) => path.relative(d, f));
    expect(await names('d/[ab]*.conf')).toEqual(['a.conf', 'a1.conf', 'b.conf', 'b1.conf']);
    // No brace expansion in ssh: `{a,b}` is the name of a file.
    expect(await names('d/{a,b}.conf')).toEqual(['{a,b}.conf']);
    // `*` and `[!a]` pass over dot files; a written dot matches them.
    expect(await names('d/[!a]*.conf')).toEqual([
      '(a|b).conf',
      'A1.conf',
      'b.conf',
      'b1.conf',
      'c1.conf',
      'link.conf',
      'x+y.conf',
      '{a,b}.conf',
    ]);
    expect(await names('d/.*')).toEqual(['.dot.conf']);
    expect(await names('d/?')).toEqual([']', '^', 'x', 'y']);
    // Sorted by byte: capitals first.
    expect(await names('d/?1.conf')).toEqual(['A1.conf', 'a1.conf', 'b1.conf', 'c1.conf']);
    expect(await names('d/nothing*')).toEqual([]);
    expect(await expandGlob('/nonexistent/*/x')).toEqual([]);
  });
});

describe(toPicomatch.name, () => {
  it('keeps * ? and brackets, escapes what only picomatch would read as syntax', () => {
    expect(toPicomatch('[ab]*.conf')).toBe('[ab]*.conf');
    expect(toPicomatch('[!x]?')).toBe('[!x]?');
    expect(toPicomatch('{a,b}')).toBe('\\{a,b\\}');
    expect(toPicomatch('!(a|b)')).toBe('\\!\\(a\\|b\\)');
    expect(toPicomatch('[^x]')).toBe('[\\^x]');
    expect(toPicomatch('[]x]')).toBe('[\\]x]');
    expect(toPicomatch('br[x')).toBe('br\\[x');
    expect(toPicomatch('\\*')).toBe('\\*');
  });
});

describe(includePath.name, () => {
  it('puts relative paths in ~/.ssh and expands ~', () => {
    expect(includePath('a/b.conf', '/home/u')).toBe('/home/u/.ssh/a/b.conf');
    expect(includePath('~/x.conf', '/home/u')).toBe('/home/u/x.conf');
    expect(includePath('/etc/ssh/x', '/home/u')).toBe('/etc/ssh/x');
  });
});
