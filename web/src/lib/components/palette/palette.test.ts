import type { PresetInfo, TargetInfo, VmInfo } from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import {
  entryDetail,
  entryLabel,
  filterEntries,
  paletteAction,
  paletteEntries,
} from './palette.js';

const target = (name: string, over: Partial<TargetInfo> = {}): TargetInfo => ({
  name,
  description: `${name} it`,
  interactive: false,
  phony: true,
  ...over,
});
const vm = (environment: string, name: string, sshAlias: string | null): VmInfo => ({
  id: `${environment}/${name}`,
  name,
  environment,
  host: '10.0.0.1',
  user: null,
  sshAlias,
});
const uptime: PresetInfo = { name: 'uptime', params: {}, follow: false };
const logs: PresetInfo = { name: 'docker-logs', params: { container: '^[a-z]+$' }, follow: true };

const entries = paletteEntries({
  targets: [
    {
      alias: 'app',
      targets: [target('build'), target('deploy', { confirm: true }), target('test')],
    },
    { alias: 'site', targets: [target('build'), target('shell', { interactive: true })] },
  ],
  presets: [uptime, logs],
  vms: [vm('prod', 'web1', 'web1'), vm('lab', 'box', null)],
  hosts: [
    { alias: 'web1', hostname: '10.0.0.1', user: null, port: 22 },
    { alias: 'bastion', hostname: '10.0.0.9', user: 'ops', port: 22 },
  ],
  isFavourite: (alias, name) => alias === 'site' && name === 'build',
});

describe('the command palette', () => {
  it('lists every target and every preset on every VM; parameterless presets on other hosts', () => {
    expect(entries.map(entryLabel)).toEqual([
      'make build',
      'make deploy',
      'make test',
      'make build',
      'make shell',
      'uptime on prod/web1',
      'uptime on lab/box',
      'uptime on bastion', // web1 is already there as a VM
      'docker-logs on prod/web1',
      'docker-logs on lab/box',
    ]);
    const box = entries.find((e) => e.id === 'p:uptime@vm:lab/box');
    expect(box?.kind === 'preset' && box.hostAlias).toBe('vm:lab/box');
  });

  it('finds by every typed word in any order, favourites and name prefixes first', () => {
    expect(filterEntries(entries, 'build').map((e) => e.id)).toEqual([
      't:site/build',
      't:app/build',
    ]);
    expect(filterEntries(entries, 'web1 UPTIME').map((e) => e.id)).toEqual([
      'p:uptime@vm:prod/web1',
    ]);
    expect(filterEntries(entries, 'logs box').map((e) => e.id)).toEqual([
      'p:docker-logs@vm:lab/box',
    ]);
    expect(filterEntries(entries, 'nothing like this')).toEqual([]);
    expect(filterEntries(entries, '')).toHaveLength(entries.length);
    expect(filterEntries(entries, '', 3)).toHaveLength(3);
  });

  it('runs at once only what needs no form; the rest opens its page', () => {
    const byId = (id: string) => entries.find((e) => e.id === id)!;
    expect(paletteAction(byId('t:app/build'), true)).toEqual({
      do: 'stream',
      alias: 'app',
      target: 'build',
    });
    expect(paletteAction(byId('t:app/deploy'), true)).toEqual({
      do: 'open',
      path: '/projects/app?run=deploy',
    });
    expect(paletteAction(byId('t:site/shell'), true)).toMatchObject({ do: 'terminal' });
    expect(paletteAction(byId('p:uptime@vm:prod/web1'), true)).toEqual({
      do: 'preset',
      hostAlias: 'vm:prod/web1',
      preset: 'uptime',
    });
    expect(paletteAction(byId('p:docker-logs@vm:prod/web1'), true)).toEqual({
      do: 'open',
      path: '/vms/prod/web1?preset=docker-logs',
    });
  });

  it('opens the page that says why, rather than running on a host ssh rejects', () => {
    const loop = 'Too many recursive configuration includes';
    const broken = paletteEntries({
      targets: [],
      presets: [uptime],
      vms: [{ ...vm('prod', 'web1', 'web1'), sshError: loop }],
      hosts: [
        { alias: 'web1', hostname: 'web1', user: null, port: 22, error: loop },
        { alias: 'bastion', hostname: 'bastion', user: null, port: 22, error: loop },
      ],
      isFavourite: () => false,
    });
    expect(broken.map((e) => [e.id, paletteAction(e, true), entryDetail(e)])).toEqual([
      ['p:uptime@vm:prod/web1', { do: 'open', path: '/vms/prod/web1' }, 'ssh rejects this host'],
      ['p:uptime@bastion', { do: 'open', path: '/vms' }, 'ssh rejects this host'],
    ]);
  });

  it('opens the form, which asks for the name, for anything in a protected project or environment', () => {
    const guarded = paletteEntries({
      targets: [{ alias: 'billing', targets: [target('build')], protected: true }],
      presets: [uptime],
      vms: [{ ...vm('prod', 'web1', 'web1'), protected: true }, vm('lab', 'box', null)],
      hosts: [],
      isFavourite: () => false,
    });
    expect(guarded.map((e) => [e.id, paletteAction(e, true)])).toEqual([
      ['t:billing/build', { do: 'open', path: '/projects/billing?run=build' }],
      ['p:uptime@vm:prod/web1', { do: 'open', path: '/vms/prod/web1?preset=uptime' }],
      ['p:uptime@vm:lab/box', { do: 'preset', hostAlias: 'vm:lab/box', preset: 'uptime' }],
    ]);
  });

  it('lists two VMs that share one ssh entry as two, each run as itself', () => {
    const shared = paletteEntries({
      targets: [],
      presets: [uptime],
      vms: [vm('prod', 'app8', 'web1'), vm('prod', 'app9', 'web1')],
      hosts: [{ alias: 'web1', hostname: '10.0.0.1', user: null, port: 22 }],
      isFavourite: () => false,
    });
    expect(shared.map((e) => e.id)).toEqual(['p:uptime@vm:prod/app8', 'p:uptime@vm:prod/app9']);
    expect(new Set(shared.map((e) => e.id)).size).toBe(shared.length);
    // Typing the ssh entry's name finds the VMs it reaches.
    expect(filterEntries(shared, 'web1')).toHaveLength(2);
  });

  it('only opens pages for a viewer', () => {
    for (const entry of entries) expect(paletteAction(entry, false).do).toBe('open');
  });
});
