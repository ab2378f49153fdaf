import type { TargetInfo } from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import { groupTargets } from './target-groups.js';

const t = (name: string, section: string | null = null, more = false): TargetInfo => ({
  name,
  description: '',
  interactive: false,
  phony: true,
  section,
  more,
});

describe(groupTargets.name, () => {
  it('keeps the server’s order, one group per run of a section, files under more', () => {
    const { groups, more } = groupTargets([
      t('up', 'Dev'),
      t('down', 'Dev'),
      t('deploy', 'Ship'),
      t('clean'),
      t('all'),
      t('main.o', null, true),
      t('app/fast', null, true),
    ]);
    expect(groups.map((g) => [g.title, g.targets.map((x) => x.name)])).toEqual([
      ['Dev', ['up', 'down']],
      ['Ship', ['deploy']],
      [null, ['clean', 'all']],
    ]);
    expect(more.map((x) => x.name)).toEqual(['main.o', 'app/fast']);
  });

  it('treats targets from an older server (no section, no more) as one plain group', () => {
    const old = { name: 'x', description: '', interactive: false, phony: true };
    expect(groupTargets([old])).toEqual({ groups: [{ title: null, targets: [old] }], more: [] });
  });
});
