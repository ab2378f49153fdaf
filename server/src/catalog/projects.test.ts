import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProjects, parseRegistry } from './projects.js';

describe(parseRegistry.name, () => {
  it('reads alias=dir lines with spaces, comments, blanks and ~; the last duplicate wins, with a warning', () => {
    const text = '# mine\n\n  web = /srv/web  \napi=~/api\nweb=/srv/web2\n';
    expect(parseRegistry(text)).toEqual({
      entries: [
        { alias: 'api', dir: path.join(homedir(), 'api') },
        { alias: 'web', dir: '/srv/web2' },
      ],
      warnings: ['line 5: "web" appears again; this line wins'],
    });
  });

  it.each([
    ['no equals sign', 'bad line', 'line 1: expected alias=/abs/dir'],
    ['no alias', '=/srv/x', 'line 1: expected alias=/abs/dir'],
    ['no dir', 'x=', 'line 1: expected alias=/abs/dir'],
    ['a traversing alias', '../../etc=/srv/x', 'line 1: "../../etc" is not a valid alias'],
    ['an alias with a slash', 'a/b=/srv/x', 'line 1: "a/b" is not a valid alias'],
    ['an alias with ..', 'a..b=/srv/x', 'line 1: "a..b" is not a valid alias'],
    ['a relative dir', 'x=../etc', 'line 1: "../etc" is not an absolute path'],
  ])('skips %s with a warning', (_what, text, warning) => {
    expect(parseRegistry(text)).toEqual({ entries: [], warnings: [warning] });
  });
});

describe(loadProjects.name, () => {
  it('lists config and registry projects, unavailable ones with the reason', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'vmo-projects-'));
    mkdirSync(path.join(root, 'a'));
    writeFileSync(path.join(root, 'a', 'Makefile'), 'all:\n');
    mkdirSync(path.join(root, 'b'));
    const registry = path.join(root, 'registry');
    writeFileSync(registry, `b=${root}/b\nc=${root}/missing\na=${root}/elsewhere\n`);
    const { projects, warnings } = loadProjects({
      mkcli: { registry },
      projects: [{ alias: 'a', dir: path.join(root, 'a'), interactive: ['x'] }],
    });
    expect(projects).toEqual([
      {
        alias: 'a',
        dir: path.join(root, 'a'),
        source: 'config',
        available: true,
        interactive: ['x'],
      },
      {
        alias: 'b',
        dir: path.join(root, 'b'),
        source: 'mkcli',
        available: false,
        error: `no Makefile in ${root}/b`,
      },
      {
        alias: 'c',
        dir: path.join(root, 'missing'),
        source: 'mkcli',
        available: false,
        error: `directory ${root}/missing does not exist`,
      },
    ]);
    expect(warnings).toEqual([
      `${registry}: "a" is in the registry and the config file; the config file wins`,
    ]);
  });

  it('works without a registry file', () => {
    expect(loadProjects({ mkcli: { registry: '/nonexistent/registry' }, projects: [] })).toEqual({
      projects: [],
      warnings: [],
    });
  });
});
