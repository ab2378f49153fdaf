import { describe, expect, it } from 'vitest';
import type { Role, User } from '@vmo/protocol';
import { assertCanCancel, canSeeOutput, isAdHoc } from './permissions.js';

const user = (role: Role, id = `${role}-id`): User => ({ id, username: role, role, createdAt: '' });
const job = (
  type: 'stream' | 'ssh' | 'terminal' | 'group',
  more: Record<string, unknown> = {},
) => ({
  type,
  preset: null,
  target: null,
  requested_by: 'owner-id',
  ...more,
});

describe('permissions (SPEC §4)', () => {
  it('tells ad-hoc commands from presets and remote targets', () => {
    expect(isAdHoc(job('ssh'))).toBe(true);
    expect(isAdHoc(job('ssh', { preset: 'docker-ps' }))).toBe(false);
    expect(isAdHoc(job('ssh', { target: 'deploy' }))).toBe(false);
    expect(isAdHoc(job('stream'))).toBe(false);
  });

  it.each([
    ['stream', {}, { viewer: true, operator: true, admin: true, owner: true }],
    ['group', {}, { viewer: true, operator: true, admin: true, owner: true }],
    ['ssh', { preset: 'docker-ps' }, { viewer: true, operator: true, admin: true, owner: true }],
    ['ssh', {}, { viewer: false, operator: false, admin: true, owner: false }],
    ['terminal', {}, { viewer: false, operator: false, admin: true, owner: true }],
  ] as const)('output of a %s job %j', (type, more, want) => {
    expect(canSeeOutput(user('viewer'), job(type, more))).toBe(want.viewer);
    expect(canSeeOutput(user('operator'), job(type, more))).toBe(want.operator);
    expect(canSeeOutput(user('admin'), job(type, more))).toBe(want.admin);
    expect(canSeeOutput(user('operator', 'owner-id'), job(type, more))).toBe(want.owner);
  });

  it('lets operators cancel catalog jobs, owners their terminals, admins everything', () => {
    expect(() => assertCanCancel(user('viewer'), job('stream'))).toThrow('operator');
    expect(() => assertCanCancel(user('operator'), job('stream'))).not.toThrow();
    expect(() => assertCanCancel(user('operator'), job('ssh'))).toThrow('ad-hoc');
    expect(() => assertCanCancel(user('operator'), job('terminal'))).toThrow('owner');
    expect(() => assertCanCancel(user('operator', 'owner-id'), job('terminal'))).not.toThrow();
    for (const j of [job('ssh'), job('terminal'), job('stream')])
      expect(() => assertCanCancel(user('admin'), j)).not.toThrow();
  });
});
