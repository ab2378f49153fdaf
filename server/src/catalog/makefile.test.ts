import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  discoverTargets,
  isUserTarget,
  listTargetsVia,
  MakeError,
  parseDescriptions,
} from './makefile.js';

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmo-make-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

const MAKEFILE = `include inc.mk
-include optional.mk
OBJ := a.o b.o
LOOKS_LIKE: a-target
deploy: ENV = staging
.PHONY: deploy clean test all ghost
all: build test
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
test lint: ## Check things
\t@echo $@
only-deps: build
.DEFAULT_GOAL := build
`;

describe(discoverTargets.name, () => {
  it('finds the explicit targets make knows, with descriptions and annotations, following includes', async () => {
    const dir = project({
      Makefile: MAKEFILE,
      'inc.mk': 'included: ## From the include\n\t@echo inc\n',
    });
    const { targets, files, problems } = await discoverTargets(dir);
    expect(targets.map((t) => t.name)).toEqual([
      'all',
      'build',
      'clean',
      'deploy',
      'docs/index.html',
      'included',
      'lint',
      'test',
    ]);
    expect(targets.find((t) => t.name === 'deploy')).toEqual({
      name: 'deploy',
      phony: true,
      description: 'Deploy it',
      params: [{ name: 'ENV', choices: ['staging', 'prod'], default: 'staging', required: false }],
      confirm: true,
      exclusive: true,
    });
    expect(targets.find((t) => t.name === 'clean')).toMatchObject({
      phony: true,
      description: 'Remove outputs',
    });
    expect(targets.find((t) => t.name === 'included')).toMatchObject({
      description: 'From the include',
      phony: false,
    });
    expect(targets.find((t) => t.name === 'lint')).toMatchObject({ description: 'Check things' });
    expect(targets.find((t) => t.name === 'build')).toEqual({
      name: 'build',
      phony: false,
      description: '',
    });
    expect(files).toEqual([path.join(dir, 'Makefile'), path.join(dir, 'inc.mk')]);
    expect(problems).toEqual([]);
  });

  it('runs no recipe while it looks', async () => {
    const dir = project({ Makefile: 'all:\n\ttouch ran\nfile: \n\ttouch ran2\n' });
    await discoverTargets(dir);
    const { existsSync } = await import('node:fs');
    expect(existsSync(path.join(dir, 'ran'))).toBe(false);
    expect(existsSync(path.join(dir, 'ran2'))).toBe(false);
  });

  it('reports a broken Makefile with make’s own words', async () => {
    const dir = project({ Makefile: 'all:\n\techo hi\nifeq (\n' });
    await expect(discoverTargets(dir)).rejects.toThrow(MakeError);
    await expect(discoverTargets(dir)).rejects.toThrow(/invalid syntax in conditional/);
  });

  it('reports a missing folder', async () => {
    await expect(discoverTargets('/nonexistent/project')).rejects.toThrow(
      /No such file or directory/,
    );
  });

  it('reports annotation problems without dropping the target', async () => {
    const dir = project({ Makefile: 'go: ## Go @param 9X\n\t@true\n' });
    const { targets, problems } = await discoverTargets(dir);
    expect(targets).toEqual([{ name: 'go', phony: false, description: 'Go' }]);
    expect(problems).toEqual(['go: @param 9X: "9X" is not a make variable name']);
  });
});

describe(parseDescriptions.name, () => {
  it('reads `names: deps ## text`, ignores := and the rest', () => {
    const text =
      'a b: c ## Both\nX := y ## not a target\nc: ## C\nc: ## second C\n\t@echo ## in a recipe\n';
    expect([...parseDescriptions(text)]).toEqual([
      ['a', 'Both'],
      ['b', 'Both'],
      ['c', 'C'],
    ]);
  });
});

describe(isUserTarget.name, () => {
  it.each([
    [{ name: 'build', phony: false, recipe: true }, false, true],
    [{ name: 'out.txt', phony: false, recipe: true }, false, false],
    [{ name: 'out.txt', phony: false, recipe: true }, true, true],
    [{ name: 'dir/x', phony: true, recipe: false, deps: true }, false, true],
    [{ name: 'listed-only', phony: true, recipe: false }, false, false],
    [{ name: 'deps-only', phony: false, recipe: false }, false, false],
    [{ name: '-evil', phony: true, recipe: true }, true, false],
  ])('%j described=%j → %j', (t, described, want) => {
    expect(isUserTarget(t, described)).toBe(want);
  });
});

describe(listTargetsVia.name, () => {
  it('reads one target per line from `<alias> --list-targets`', async () => {
    const dir = project({
      tool: '#!/bin/sh\n[ "$1" = --list-targets ] || exit 9\nprintf "deploy\\nbuild\\n\\nbad name\\n-x\\nbuild\\n"\n',
    });
    chmodSync(path.join(dir, 'tool'), 0o755);
    expect((await listTargetsVia(path.join(dir, 'tool'), dir)).targets).toEqual([
      { name: 'build', phony: true, description: '' },
      { name: 'deploy', phony: true, description: '' },
    ]);
  });

  it('fails clearly on a non-zero exit or a hang', async () => {
    const dir = project({
      bad: '#!/bin/sh\necho broken >&2; exit 3\n',
      slow: '#!/bin/sh\nexec sleep 30\n',
    });
    chmodSync(path.join(dir, 'bad'), 0o755);
    chmodSync(path.join(dir, 'slow'), 0o755);
    await expect(listTargetsVia(path.join(dir, 'bad'), dir)).rejects.toThrow(
      'bad --list-targets exited with 3: broken',
    );
    await expect(listTargetsVia(path.join(dir, 'slow'), dir, { timeoutMs: 300 })).rejects.toThrow(
      'slow did not answer within 0.3 s',
    );
  });
});
