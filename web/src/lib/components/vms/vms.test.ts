import type { VmInfo } from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import { groupByEnvironment } from './group.js';
import { isContainerParam, presetProblem } from './preset-params.js';

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
});
