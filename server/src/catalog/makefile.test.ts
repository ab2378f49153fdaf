import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDescriptions } from './makefile-docs.js';
import {
  discoverTargets,
  isFolded,
  isUserTarget,
  listTargets,
  localHost,
  MakeError,
  type ListingHost,
} from './makefile.js';

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmo-make-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** This machine without the privilege to make a mount namespace, as in an unprivileged container. */
function unprivileged(): ListingHost {
  const local = localHost();
  return {
    ...local,
    run: (argv, what) =>
      local.run(
        ['setpriv', '--bounding-set=-sys_admin', '--inh-caps=-sys_admin', '--', ...argv],
        what,
      ),
  };
}

const MAKEFILE = `include inc.mk
-include optional.mk
OBJ := a.o b.o
LOOKS_LIKE: a-target
deploy: ENV = staging
.PHONY: deploy clean test all ghost lint
all: build test
##@ Shipping
deploy: ## Deploy it @param ENV=staging|prod @confirm @exclusive
\t@echo deploying $(ENV)
clean:: ## Remove outputs
\t@echo one
clean::
\t@echo two
%.o: %.c
\tcc -c $<
app.tar.gz: Makefile
\ttar czf $@ Makefile
docs/index.html: ## Build the docs page
\t@echo docs
build:
\t@echo build
##@ Checks
test lint: ## Check things
\t@echo $@
only-deps: build
prog: main.o util.o
.DEFAULT_GOAL := build
`;

describe(discoverTargets.name, () => {
  it('ranks documented targets in file order with their sections, then the other tasks, then files', async () => {
    const dir = project({
      Makefile: MAKEFILE,
      'inc.mk': 'included: ## From the include\n\t@echo inc\n',
    });
    const { targets, files, problems, listing } = await discoverTargets(dir);
    expect(listing).toEqual({ mode: 'isolated' });
    expect(targets.map((t) => [t.name, t.section, t.more])).toEqual([
      ['deploy', 'Shipping', false],
      ['clean', 'Shipping', false],
      ['docs/index.html', 'Shipping', false],
      ['test', 'Checks', false],
      ['lint', 'Checks', false],
      ['included', 'Checks', false],
      ['all', null, false],
      ['build', null, false],
      ['LOOKS_LIKE', null, false],
      ['only-deps', null, false],
      ['app.tar.gz', null, true],
      ['prog', null, true],
    ]);
    expect(targets.find((t) => t.name === 'deploy')).toEqual({
      name: 'deploy',
      phony: true,
      description: 'Deploy it',
      params: [{ name: 'ENV', choices: ['staging', 'prod'], default: 'staging', required: false }],
      confirm: true,
      exclusive: true,
      section: 'Shipping',
      more: false,
    });
    expect(targets.find((t) => t.name === 'included')).toMatchObject({
      description: 'From the include',
      phony: false,
    });
    expect(files).toEqual([path.join(dir, 'Makefile'), path.join(dir, 'inc.mk')]);
    expect(problems).toEqual([]);
  });

  it('lists a generated include’s targets, generated in the sandbox only', async () => {
    const dir = project({
      Makefile: 'include gen.mk\ngen.mk: gen.in\n\tcp gen.in $@\nown: ## Own\n\t@true\n',
      'gen.in': 'generated: ## Made by make\n\t@true\n',
    });
    const { targets } = await discoverTargets(dir);
    expect(targets.map((t) => [t.name, t.description])).toEqual([
      ['own', 'Own'],
      ['generated', 'Made by make'],
      ['gen.mk', ''],
    ]);
    expect(existsSync(path.join(dir, 'gen.mk'))).toBe(false);
  });

  it('runs no recipe and keeps parse-time writes in the sandbox', async () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'vmo-outside-'));
    const dir = project({
      Makefile: `X := $(shell touch parsed ${outside}/marker)\nall:\n\ttouch ran\nMakefile: stamp\n\t+touch stamp2\n\t$(MAKE) -v > made\nstamp:\n\t+touch stamp\n`,
    });
    await discoverTargets(dir);
    for (const f of ['ran', 'parsed', 'stamp', 'stamp2', 'made'])
      expect(existsSync(path.join(dir, f)), f).toBe(false);
    expect(existsSync(path.join(outside, 'marker'))).toBe(false);
  });

  it('reports a broken Makefile with make’s own words', async () => {
    const dir = project({ Makefile: 'all:\n\techo hi\nifeq (\n' });
    await expect(discoverTargets(dir)).rejects.toThrow(MakeError);
    await expect(discoverTargets(dir)).rejects.toThrow(/invalid syntax in conditional/);
    const stops = project({ Makefile: '$(error PROJECT_ROOT is not set)\nall:\n\ttrue\n' });
    await expect(discoverTargets(stops)).rejects.toThrow(/PROJECT_ROOT is not set/);
  });

  it('reports a missing folder', async () => {
    await expect(discoverTargets('/nonexistent/project')).rejects.toThrow(
      /No such file or directory/,
    );
  });

  it('reports annotation problems without dropping the target', async () => {
    const dir = project({ Makefile: 'go: ## Go @param 9X\n\t@true\n' });
    const { targets, problems } = await discoverTargets(dir);
    expect(targets).toEqual([
      { name: 'go', phony: false, description: 'Go', section: null, more: false },
    ]);
    expect(problems).toEqual(['go: @param 9X: "9X" is not a make variable name']);
  });

  it('lists the short names a `%: common-%` rule forwards, with their descriptions', async () => {
    const dir = project({
      Makefile:
        'include Makefile.common\n%: common-% ;\n.PHONY: release\nrelease: ## Cut a release\n\t@true\n',
      'Makefile.common':
        '.PHONY: common-build common-test\ncommon-build: ## Build the binaries\n\t@true\ncommon-test: ## Run the tests\n\t@true\ncommon-lint:\n\t@true\n',
    });
    const { targets } = await discoverTargets(dir);
    expect(targets.map((t) => [t.name, t.description, t.more])).toEqual([
      ['release', 'Cut a release', false],
      ['build', 'Build the binaries', false],
      ['test', 'Run the tests', false],
      ['lint', '', false],
      ['common-build', 'Build the binaries', true],
      ['common-lint', '', true],
      ['common-test', 'Run the tests', true],
    ]);
  });
});

describe('the safe mode', () => {
  it('lists from the makefile text when the host gives no isolation, and says why', async () => {
    const dir = project({
      Makefile: `include mk/*.mk\ninclude $(TOP)/x.mk\nX := $(shell touch parsed)\n.PHONY: a\n##@ Main\na: ## The A\n\t@true\nb: a\nfoo.o: foo.c\n\tcc -c foo.c\ndefine TEMPLATE\nfake: ## not a rule\nendef\n`,
    });
    const mk = path.join(dir, 'mk');
    (await import('node:fs')).mkdirSync(mk);
    writeFileSync(path.join(mk, 'extra.mk'), 'extra: ## Extra\n\t@true\n');
    const { targets, listing, problems, files } = await listTargets(unprivileged(), dir);
    expect(listing.mode).toBe('safe');
    expect(listing.reason).toMatch(/unshare failed: Operation not permitted/);
    expect(targets.map((t) => [t.name, t.section, t.more])).toEqual([
      ['a', 'Main', false],
      ['extra', 'Main', false],
      ['b', null, false],
      ['foo.o', null, true],
    ]);
    expect(problems).toEqual(['safe mode: include $(TOP)/x.mk not followed (needs make)']);
    expect(files).toEqual([path.join(dir, 'Makefile'), path.join(dir, 'mk/extra.mk')]);
    expect(existsSync(path.join(dir, 'parsed'))).toBe(false);
  });

  it('says so when unshare is not there at all', async () => {
    const dir = project({ Makefile: 'a:\n\t@true\n' });
    const { listing } = await discoverTargets(dir, { env: { PATH: '/nonexistent' } });
    expect(listing).toEqual({ mode: 'safe', reason: 'unshare (util-linux) is not installed' });
  });
});

describe(parseDescriptions.name, () => {
  it('reads `names: deps ## text`, `.PHONY: name ## text` and `##@` sections, in file order', () => {
    const text = [
      'a b: c ## Both',
      'X := y ## not a target',
      '##@ Later',
      '.PHONY: c ## C from .PHONY',
      'c: ## second C',
      '\t@echo ## in a recipe',
    ].join('\n');
    expect([...parseDescriptions([text, 'd: ## In another file'])]).toEqual([
      ['a', { description: 'Both', section: null, order: 0 }],
      ['b', { description: 'Both', section: null, order: 1 }],
      ['c', { description: 'C from .PHONY', section: 'Later', order: 2 }],
      ['d', { description: 'In another file', section: 'Later', order: 3 }],
    ]);
  });
});

describe(isUserTarget.name, () => {
  it.each([
    [{ name: 'build', phony: false, recipe: true, prereqs: [] }, false, true],
    [{ name: 'check', phony: false, recipe: false, prereqs: ['test'] }, false, true],
    [{ name: 'dir/x', phony: true, recipe: false, prereqs: ['a'] }, false, true],
    [{ name: 'listed-only', phony: true, recipe: false, prereqs: [] }, false, false],
    [{ name: 'listed-only', phony: true, recipe: false, prereqs: [] }, true, true],
    [{ name: '-evil', phony: true, recipe: true, prereqs: [] }, true, false],
  ])('%j described=%j → %j', (t, described, want) => {
    expect(isUserTarget(t, described)).toBe(want);
  });
});

describe(isFolded.name, () => {
  const t = (name: string, prereqs: string[] = [], phony = false) => ({
    name,
    phony,
    recipe: true,
    prereqs,
  });
  it.each([
    [t('out.txt'), false],
    [t('myapp/fast'), false],
    [t('myapp', ['src/main.o', 'src/util.o']), false],
    [t('check', ['test', 'lint']), true],
    [t('docs'), false],
    [t('deploy'), true],
    [t('install.sh', [], true), false],
    [t('test/unit', [], true), false],
  ])('%j → a task: %j', (target, task) => {
    expect(isFolded(target, new Set(['docs']))).toBe(!task);
  });
});

describe('an mkcli alias', () => {
  it('reads one target per line from `<alias> --list-targets`, in the sandbox', async () => {
    const dir = project({
      tool: '#!/bin/sh\n[ "$1" = --list-targets ] || exit 9\ntouch listed\nprintf "deploy\\nbuild\\n\\nbad name\\n-x\\nbuild\\n"\n',
    });
    chmodSync(path.join(dir, 'tool'), 0o755);
    const found = await discoverTargets(dir, { via: path.join(dir, 'tool') });
    expect(found.targets).toEqual([
      { name: 'build', phony: true, description: '', section: null, more: false },
      { name: 'deploy', phony: true, description: '', section: null, more: false },
    ]);
    expect(existsSync(path.join(dir, 'listed'))).toBe(false);
  });

  it('fails clearly on a non-zero exit or a hang', async () => {
    const dir = project({
      bad: '#!/bin/sh\necho broken >&2; exit 3\n',
      slow: '#!/bin/sh\nexec sleep 30\n',
    });
    chmodSync(path.join(dir, 'bad'), 0o755);
    chmodSync(path.join(dir, 'slow'), 0o755);
    await expect(discoverTargets(dir, { via: path.join(dir, 'bad') })).rejects.toThrow(
      'bad --list-targets exited with 3: broken',
    );
    await expect(
      discoverTargets(dir, { via: path.join(dir, 'slow'), timeoutMs: 300 }),
    ).rejects.toThrow('slow --list-targets did not answer within 0.3 s');
  });
});
