import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '@vmo/protocol';
import { describeDetails, isJobTarget, shortTarget } from './audit-format.js';

const entry = (
  action: string,
  details: AuditEntry['details'],
  target: string | null = 'x',
): AuditEntry => ({
  id: '1',
  prevHash: '0'.repeat(64),
  hash: 'a'.repeat(64),
  ts: '2026-01-01T00:00:00.000Z',
  user: { id: null, username: 'ann' },
  action,
  target,
  source: '127.0.0.1',
  details,
});

describe('audit entries in the table', () => {
  it('writes details as short text', () => {
    expect(describeDetails(entry('job.run', { command: 'make hello', project: 'demo' }))).toBe(
      'command: make hello · project: demo',
    );
    expect(describeDetails(entry('logout', null))).toBe('');
  });

  it('writes a change from → to, whatever order its keys come in', () => {
    expect(describeDetails(entry('user.update', { role: { to: 'admin', from: 'viewer' } }))).toBe(
      'role: viewer → admin',
    );
    expect(describeDetails(entry('user.update', { disabled: true, passwordReset: true }))).toBe(
      'disabled: true · passwordReset: true',
    );
  });

  it('keeps other nested values as JSON, a look-alike of a change included', () => {
    expect(describeDetails(entry('job.run', { args: { NAME: 'dana' } }))).toBe(
      'args: {"NAME":"dana"}',
    );
    expect(describeDetails(entry('x', { v: { from: 1, to: 2, by: 'ann' } }))).toBe(
      'v: {"from":1,"to":2,"by":"ann"}',
    );
    expect(describeDetails(entry('x', { v: null, list: ['a'] }))).toBe('v: null · list: ["a"]');
  });

  it('shortens the ids of jobs and tokens, not the names of users', () => {
    const id = 'eaf972b5-c6e4-47c5-8d8b-28c685e9db01';
    expect(shortTarget(entry('token.revoke', null, id))).toBe('eaf972b5');
    expect(shortTarget(entry('job.run', null, id))).toBe('eaf972b5');
    expect(shortTarget(entry('user.update', null, 'a-rather-long-user-name'))).toBe(
      'a-rather-long-user-name',
    );
    expect(shortTarget(entry('login', null, null))).toBe('');
  });

  it('links job actions only', () => {
    expect(isJobTarget(entry('job.cancel', null))).toBe(true);
    expect(isJobTarget(entry('user.delete', null))).toBe(false);
  });
});
