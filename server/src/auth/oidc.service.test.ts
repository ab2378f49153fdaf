import { describe, expect, it } from 'vitest';
import { roleFromGroups } from './oidc.service.js';
import { safeReturnTo } from '../http/auth.routes.js';

describe(roleFromGroups.name, () => {
  const map = { ops: 'admin', deployers: 'operator', staff: 'viewer' } as const;

  it('gives the highest role among the mapped groups, and names the groups that gave it', () => {
    expect(roleFromGroups(['staff', 'deployers', 'x'], map, null)).toEqual({
      role: 'operator',
      from: ['deployers'],
    });
    expect(roleFromGroups(['ops', 'staff', 'ops'], map, null)).toEqual({
      role: 'admin',
      from: ['ops'],
    });
  });

  it('falls back to the default role, or to none', () => {
    expect(roleFromGroups(['marketing'], map, 'viewer')).toEqual({ role: 'viewer', from: [] });
    expect(roleFromGroups([], map, null)).toBeNull();
  });

  it('never maps a name of the object prototype', () => {
    expect(roleFromGroups(['constructor', 'toString', '__proto__'], map, null)).toBeNull();
  });
});

describe(safeReturnTo.name, () => {
  it.each([
    ['/jobs?status=failed', '/jobs?status=failed'],
    ['/', '/'],
    [undefined, '/'],
    ['', '/'],
    ['https://evil.example/', '/'],
    ['//evil.example/', '/'],
    ['/\\evil.example', '/'],
    ['/jobs\n', '/'],
    ['jobs', '/'],
  ])('%j lands on %j', (value, expected) => {
    expect(safeReturnTo(value)).toBe(expected);
  });
});
