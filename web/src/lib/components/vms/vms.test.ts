import type { HostInfo, VmInfo } from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import { groupByEnvironment } from './group.js';
import { isContainerParam, presetProblem } from './preset-params.js';
import { sharedSshError, unusableTitle } from './ssh-problems.js';

const vm = (environment: string, name: string): VmInfo => ({
  id: `${environment}/${name}`,
  name,
  environment,
  host: 'h',
  user: null,
  sshAlias: null,
});

describe('VM helpers', () => {
  it('groups VMs by environment, both in name order', () => {
    const groups = groupByEnvironment([vm('prod', 'b'), vm('lab', 'x'), vm('prod', 'a')]);
    expect(groups.map((g) => [g.environment, g.vms.map((v) => v.name)])).toEqual([
      ['lab', ['x']],
      ['prod', ['a', 'b']],
    ]);
  });

  it("checks a preset's values against its own regexes", () => {
    const params = { container: '^[a-z][a-z0-9-]*$' };
    expect(presetProblem(params, { container: 'api-1' })).toBeNull();
    expect(presetProblem(params, { container: '' })).toBe('container is needed');
    expect(presetProblem(params, {})).toBe('container is needed');
    expect(presetProblem(params, { container: 'Api; rm' })).toContain('must match');
    expect(presetProblem(params, { container: 'a'.repeat(1025) })).toContain('too long');
    // A regex the browser cannot compile is left to the server.
    expect(presetProblem({ x: '(?<' }, { x: 'v' })).toBeNull();
    expect(isContainerParam('container')).toBe(true);
    expect(isContainerParam('unit')).toBe(false);
  });

  it('says a config-wide ssh error once, and a single host’s error only on that host', () => {
    const host = (alias: string, error?: string): HostInfo => ({
      alias,
      hostname: alias,
      user: null,
      port: 22,
      ...(error ? { error } : {}),
    });
    const loop = 'Too many recursive configuration includes';
    expect(sharedSshError([host('a', loop), host('b', loop)])).toBe(loop);
    expect(sharedSshError([host('a', loop), host('b')])).toBeNull();
    expect(sharedSshError([host('a', loop), host('b', 'other')])).toBeNull();
    // One host alone: its own row says it.
    expect(sharedSshError([host('a', loop)])).toBeNull();
    expect(sharedSshError([])).toBeNull();
    expect(unusableTitle('printer', 'unknown key %l')).toBe(
      'Unavailable: ssh rejects “printer”: unknown key %l',
    );
  });
});
