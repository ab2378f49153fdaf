import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProjects, parseRegistry } from './projects.js';

describe(parseRegistry.name, () => {
  it('reads alias=dir lines, skipping blanks and comments; the last duplicate wins', () => {
    const text = '# mine\n\nweb = /srv/web\napi=~/api\nbad line\n=nope\nweb=/srv/web2\n';
    expect(parseRegistry(text)).toEqual([
      { alias: 'web', dir: '/srv/web2' },
      { alias: 'api', dir: path.join(homedir(), 'api') },
    ]);
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
    const projects = loadProjects({
      mkcli: { registry },
      projects: [{ alias: 'a', dir: path.join(root, 'a') }],
    });
    expect(projects).toEqual([
      { alias: 'a', dir: path.join(root, 'a'), source: 'config', available: true },
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
  });

  it('works without a registry file', () => {
    expect(loadProjects({ mkcli: { registry: '/nonexistent/registry' }, projects: [] })).toEqual(
      [],
    );
  });
});
