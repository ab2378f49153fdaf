// can()'s whole table (SPEC §4): every action, for each role, the owner and not, every kind of job
// and status, under every setting of security.allowAdHoc and terminal.hostShells. The expected
// answers are written out here, row by row, not derived from the code under test.
import { describe, expect, it } from 'vitest';
import {
  can,
  decide,
  GLOBAL_ACTIONS,
  JOB_ACTIONS,
  type HostShells,
  type JobFacts,
  type JobStatus,
  type Policy,
  type Role,
} from '@vmo/protocol';
import { Access, factsOf } from './permissions.js';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];
const policy = (allowAdHoc: boolean, hostShells: HostShells = 'admin'): Policy => ({
  allowAdHoc,
  hostShells,
});
const subject = (role: Role, p = policy(true), id = `${role}-id`) => ({ id, role, policy: p });

/** Global actions: [viewer, operator, admin] with ad-hoc allowed and host shells for admins. */
const GLOBAL: Record<(typeof GLOBAL_ACTIONS)[number], [boolean, boolean, boolean]> = {
  'catalog.read': [true, true, true],
  'catalog.refresh': [false, true, true],
  'jobs.list': [true, true, true],
  'job.run': [false, true, true],
  'terminal.open': [false, true, true],
  'hostShell.open': [false, false, true],
  'adhoc.run': [false, false, true],
  'tokens.manage': [true, true, true],
  'users.manage': [false, false, true],
  'audit.read': [false, false, true],
  'schedules.manage': [false, true, true],
  'triggers.manage': [false, false, true],
  'notifications.manage': [false, false, true],
};

type Kind = 'target' | 'remote-target' | 'preset' | 'adhoc' | 'terminal' | 'host-shell' | 'group';
const KINDS: Kind[] = [
  'target',
  'remote-target',
  'preset',
  'adhoc',
  'terminal',
  'host-shell',
  'group',
];

function job(kind: Kind, status: JobStatus, owner = 'owner-id'): JobFacts {
  const base = { status, requestedBy: { id: owner }, preset: null, target: null, project: null };
  switch (kind) {
    case 'target':
      return { ...base, type: 'stream', project: 'app', target: 'deploy' };
    case 'remote-target':
      return { ...base, type: 'ssh', project: 'app', target: 'deploy' };
    case 'preset':
      return { ...base, type: 'ssh', preset: 'docker-ps' };
    case 'adhoc':
      return { ...base, type: 'ssh' };
    case 'terminal':
      return { ...base, type: 'terminal', project: 'app', target: 'shell' };
    case 'host-shell':
      return { ...base, type: 'terminal' };
    case 'group':
      return { ...base, type: 'group', preset: 'docker-ps' };
  }
}

/** Who: the three roles as strangers to the job, and an operator and a viewer who started it. */
const WHO = ['viewer', 'operator', 'admin', 'owner-operator', 'owner-viewer'] as const;
type Who = (typeof WHO)[number];
const who = (w: Who, p: Policy) =>
  w === 'owner-operator'
    ? subject('operator', p, 'owner-id')
    : w === 'owner-viewer'
      ? subject('viewer', p, 'owner-id')
      : subject(w, p);

/** [viewer, operator, admin, owner-operator, owner-viewer] per kind, for a running job, ad-hoc allowed. */
const RUNNING: Record<Kind, Record<(typeof JOB_ACTIONS)[number], string>> = {
  //                      v o a O V
  target: {
    'job.readOutput': '11111',
    'job.readCommand': '11111',
    'job.cancel': '01110',
    'job.rerun': '01110',
    'job.input': '00000',
  },
  'remote-target': {
    'job.readOutput': '11111',
    'job.readCommand': '11111',
    'job.cancel': '01110',
    'job.rerun': '01110',
    'job.input': '00000',
  },
  preset: {
    'job.readOutput': '11111',
    'job.readCommand': '11111',
    'job.cancel': '01110',
    'job.rerun': '01110',
    'job.input': '00000',
  },
  adhoc: {
    'job.readOutput': '00100',
    'job.readCommand': '00100',
    'job.cancel': '00100',
    'job.rerun': '00100',
    'job.input': '00000',
  },
  terminal: {
    'job.readOutput': '00111',
    'job.readCommand': '11111',
    'job.cancel': '00110',
    'job.rerun': '00000',
    'job.input': '00111',
  },
  'host-shell': {
    'job.readOutput': '00111',
    'job.readCommand': '11111',
    'job.cancel': '00110',
    'job.rerun': '00100',
    'job.input': '00111',
  },
  group: {
    'job.readOutput': '11111',
    'job.readCommand': '11111',
    'job.cancel': '01110',
    'job.rerun': '01110',
    'job.input': '00000',
  },
};

describe('can(): the one permission function (SPEC §4)', () => {
  it.each(GLOBAL_ACTIONS)('%s for each role', (action) => {
    expect(ROLES.map((r) => can(subject(r), action))).toEqual(GLOBAL[action]);
  });

  it.each(KINDS.flatMap((k) => JOB_ACTIONS.map((a) => [k, a] as const)))(
    'a running %s job: %s',
    (kind, action) => {
      const want = RUNNING[kind][action].split('').map((c) => c === '1');
      expect(WHO.map((w) => can(who(w, policy(true)), action, job(kind, 'running')))).toEqual(want);
    },
  );

  it.each(['success', 'failed', 'canceled', 'interrupted', 'spawned'] as JobStatus[])(
    'a %s job cannot be canceled or typed into by anyone; re-run and reading are as when it ran',
    (status) => {
      for (const kind of KINDS)
        for (const w of WHO) {
          const s = who(w, policy(true));
          expect(can(s, 'job.cancel', job(kind, status))).toBe(false);
          expect(can(s, 'job.input', job(kind, status))).toBe(false);
          expect(can(s, 'job.rerun', job(kind, status))).toBe(
            can(s, 'job.rerun', job(kind, 'running')),
          );
          expect(can(s, 'job.readOutput', job(kind, status))).toBe(
            can(s, 'job.readOutput', job(kind, 'running')),
          );
        }
      expect(decide(subject('admin'), 'job.cancel', job('target', status))).toEqual({
        allowed: false,
        reason: `it has already ended (${status})`,
      });
    },
  );

  it('a queued job can be canceled like a running one, and takes no input yet', () => {
    for (const kind of KINDS)
      for (const w of WHO) {
        const s = who(w, policy(true));
        expect(can(s, 'job.cancel', job(kind, 'queued'))).toBe(
          can(s, 'job.cancel', job(kind, 'running')),
        );
        expect(can(s, 'job.input', job(kind, 'queued'))).toBe(false);
      }
  });

  it('security.allowAdHoc off: no ad-hoc command and no host shell for anyone, old ones still readable', () => {
    const off = policy(false);
    for (const r of ROLES) {
      expect(can(subject(r, off), 'adhoc.run')).toBe(false);
      expect(can(subject(r, off), 'hostShell.open')).toBe(false);
      expect(can(subject(r, off), 'job.rerun', job('adhoc', 'success'))).toBe(false);
      expect(can(subject(r, off), 'job.rerun', job('host-shell', 'success'))).toBe(false);
    }
    expect(can(subject('admin', off), 'job.readOutput', job('adhoc', 'success'))).toBe(true);
    expect(decide(subject('admin', off), 'hostShell.open')).toEqual({
      allowed: false,
      reason:
        'a shell on a host is an ad-hoc command, and those are turned off (security.allowAdHoc)',
    });
  });

  it.each([
    ['admin', [false, false, true]],
    ['operator', [false, true, true]],
    ['off', [false, false, false]],
  ] as [HostShells, boolean[]][])('terminal.hostShells: %s', (setting, want) => {
    const p = policy(true, setting);
    expect(ROLES.map((r) => can(subject(r, p), 'hostShell.open'))).toEqual(want);
    expect(ROLES.map((r) => can(subject(r, p), 'job.rerun', job('host-shell', 'success')))).toEqual(
      want,
    );
    // Ad-hoc commands stay the admins' whatever the shell setting.
    expect(ROLES.map((r) => can(subject(r, p), 'adhoc.run'))).toEqual([false, false, true]);
  });

  it('says why, in words a tooltip can show', () => {
    expect(decide(subject('viewer'), 'job.run')).toEqual({
      allowed: false,
      reason: 'this needs the operator role',
    });
    expect(decide(subject('operator'), 'job.input', job('terminal', 'running'))).toEqual({
      allowed: false,
      reason: 'only the owner of a terminal (or an admin) may type into it',
    });
    expect(decide(subject('operator'), 'job.rerun', job('terminal', 'success'))).toEqual({
      allowed: false,
      reason: 'open a terminal again from its target',
    });
    expect(() => decide(subject('admin'), 'job.cancel')).toThrow(/needs the job/);
  });
});

describe('Access: the server asking can()', () => {
  const access = new Access(policy(true));
  const row = {
    id: 'j1',
    type: 'ssh' as const,
    status: 'running' as const,
    preset: null,
    target: null,
    project: null,
    requested_by: 'owner-id',
  };

  it('answers 403 with the reason', () => {
    expect(() => access.assert({ id: 'v', role: 'viewer' }, 'job.run')).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN', message: 'this needs the operator role' }),
    );
    expect(() =>
      access.assert({ id: 'a', role: 'admin' }, 'job.readOutput', factsOf(row)),
    ).not.toThrow();
  });

  it("gives each caller the job with its own `can`, and hides an ad-hoc command's text from non-admins", () => {
    const record = {
      id: 'j1',
      type: 'ssh' as const,
      status: 'running' as const,
      project: null,
      host: 'web1',
      target: null,
      args: {},
      preset: null,
      command: 'ssh web1 -- cat /etc/shadow',
      environment: null,
      vm: null,
      exitCode: null,
      signal: null,
      createdAt: '',
      startedAt: null,
      finishedAt: null,
      requestedBy: { id: 'owner-id', username: 'root' },
      parentId: null,
      lastSeq: 0,
      outputBytes: 0,
      truncated: false,
      protection: null,
      trigger: { kind: 'manual' as const, id: null },
    };
    const asViewer = access.present(record, { id: 'v', role: 'viewer' });
    expect(asViewer.command).toBe('ssh web1 -- (ad-hoc command, shown to admins only)');
    expect(asViewer.can).toEqual({ cancel: false, rerun: false, readOutput: false, input: false });
    const asAdmin = access.present(record, { id: 'a', role: 'admin' });
    expect(asAdmin.command).toBe('ssh web1 -- cat /etc/shadow');
    expect(asAdmin.can).toEqual({ cancel: true, rerun: true, readOutput: true, input: false });
    // On a VM the command names the VM, and so does what hides it.
    const onVm = { ...record, command: 'cat /etc/shadow @ prod/app9', vm: 'prod/app9' };
    expect(access.present(onVm, { id: 'v', role: 'viewer' }).command).toBe(
      '(ad-hoc command, shown to admins only) @ prod/app9',
    );
    expect(access.permissions({ id: 'o', role: 'operator' })).toMatchObject({
      'job.run': true,
      'hostShell.open': false,
      'users.manage': false,
    });
  });
});
