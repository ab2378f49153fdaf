import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '@vmo/protocol';
import { describeDetails, isJobTarget } from './audit-format.js';

const entry = (action: string, details: AuditEntry['details']): AuditEntry => ({
  id: '1',
  ts: '2026-01-01T00:00:00.000Z',
  user: { id: null, username: 'ann' },
  action,
  target: 'x',
  source: '127.0.0.1',
  details,
});

describe('audit entries in the table', () => {
  it('writes details as short text', () => {
    expect(describeDetails(entry('job.run', { command: 'make hello', project: 'demo' }))).toBe(
      'command: make hello · project: demo',
    );
    expect(describeDetails(entry('user.update', { role: { from: 'viewer', to: 'admin' } }))).toBe(
      'role: {"from":"viewer","to":"admin"}',
    );
    expect(describeDetails(entry('logout', null))).toBe('');
  });

  it('links job actions only', () => {
    expect(isJobTarget(entry('job.cancel', null))).toBe(true);
    expect(isJobTarget(entry('user.delete', null))).toBe(false);
  });
});
