import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import { rerunRequest, storedRequest } from './stored.js';

const base = {
  type: 'stream' as const,
  project: null,
  target: null,
  host: null,
  preset: null,
  args: {},
  command: '',
  request: null,
};
const noChildren = () => Promise.resolve([] as string[]);

describe('storedRequest', () => {
  it('reads the stored request as data, whatever the command line shown says', async () => {
    const request = {
      kind: 'stream',
      request: { alias: 'web', target: 'deploy', args: { A: '1' } },
    };
    expect(
      await storedRequest({ ...base, command: 'something else entirely', request }, noChildren),
    ).toEqual(request);
  });

  it('refuses a stored request the protocol no longer accepts, in words', async () => {
    const bad = { ...base, request: { kind: 'stream', request: { alias: 'web' } } };
    await expect(storedRequest(bad, noChildren)).rejects.toThrow(
      new AppError('VALIDATION', 'the stored request of this job cannot be read again'),
    );
  });

  it.each([
    [
      'a host shell',
      { type: 'terminal', host: 'web1' },
      { kind: 'terminal', request: { hostAlias: 'web1' } },
    ],
    [
      'a local target',
      { project: 'web', target: 'build', args: { V: '1' } },
      { kind: 'stream', request: { alias: 'web', target: 'build', args: { V: '1' }, force: true } },
    ],
    [
      'a remote target',
      { type: 'ssh', project: 'web', target: 'build', host: 'web1' },
      {
        kind: 'stream',
        request: { alias: 'web', target: 'build', args: {}, force: true, hostAlias: 'web1' },
      },
    ],
    [
      'a preset',
      { type: 'ssh', host: 'web1', preset: 'uptime', args: { n: '1' } },
      { kind: 'ssh', request: { hostAlias: 'web1', preset: 'uptime', params: { n: '1' } } },
    ],
    [
      'an ad-hoc command',
      { type: 'ssh', host: 'web1', command: 'ssh web1 -- df -h' },
      { kind: 'ssh', request: { hostAlias: 'web1', command: 'df -h' } },
    ],
    [
      "an environment's fan-out of a preset",
      { type: 'group', host: 'prod', preset: 'uptime' },
      { kind: 'fanout', request: { environment: 'prod', preset: 'uptime', params: {} } },
    ],
  ] as const)(
    'builds the request of %s stored before 0007 from its columns',
    async (_, row, want) => {
      expect(await storedRequest({ ...base, ...row }, noChildren)).toEqual(want);
    },
  );

  it("takes an old fan-out's hosts from its children, and says when none are left", async () => {
    const group = { ...base, type: 'group' as const, project: 'web', target: 'deploy' };
    expect(await storedRequest(group, () => Promise.resolve(['b', 'a', 'b', '']))).toEqual({
      kind: 'fanout',
      request: { hostAliases: ['b', 'a'], alias: 'web', target: 'deploy', args: {} },
    });
    await expect(storedRequest(group, noChildren)).rejects.toThrow(/hosts of this fan-out/);
  });

  it('says which old jobs cannot be re-run', async () => {
    await expect(
      storedRequest({ ...base, type: 'ssh', host: 'web1', command: 'docker ps' }, noChildren),
    ).rejects.toThrow('a ssh job cannot be re-run from here');
    await expect(storedRequest({ ...base, project: 'web' }, noChildren)).rejects.toThrow(
      'a stream job cannot be re-run from here',
    );
  });
});

describe('rerunRequest', () => {
  it('replaces the arguments or params and adds the confirmation, and keeps the rest', () => {
    expect(
      rerunRequest(
        { kind: 'stream', request: { alias: 'w', target: 't', args: { A: '1' }, hostAlias: 'h' } },
        { args: { A: '2' }, confirm: true },
      ),
    ).toEqual({
      kind: 'stream',
      request: { alias: 'w', target: 't', args: { A: '2' }, hostAlias: 'h', confirm: true },
    });
    expect(
      rerunRequest(
        { kind: 'ssh', request: { hostAlias: 'h', preset: 'p', params: { a: '1' } } },
        {
          args: { a: '2' },
        },
      ),
    ).toEqual({ kind: 'ssh', request: { hostAlias: 'h', preset: 'p', params: { a: '2' } } });
    expect(
      rerunRequest(
        { kind: 'ssh', request: { hostAlias: 'h', command: 'id' } },
        {
          args: { a: '2' },
          confirm: 'prod',
        },
      ),
    ).toEqual({ kind: 'ssh', request: { hostAlias: 'h', command: 'id', confirm: 'prod' } });
  });

  it('re-runs terminals and fan-outs the same way', () => {
    expect(
      rerunRequest({ kind: 'terminal', request: { hostAlias: 'h' } }, { args: { x: '1' } }),
    ).toEqual({
      kind: 'terminal',
      request: { hostAlias: 'h' },
    });
    expect(
      rerunRequest(
        { kind: 'terminal', request: { alias: 'w', target: 'sh' } },
        { args: { x: '1' } },
      ),
    ).toEqual({ kind: 'terminal', request: { alias: 'w', target: 'sh', args: { x: '1' } } });
    expect(
      rerunRequest(
        { kind: 'fanout', request: { environment: 'e', preset: 'p' } },
        { args: { x: '1' } },
      ),
    ).toEqual({ kind: 'fanout', request: { environment: 'e', preset: 'p', params: { x: '1' } } });
    expect(
      rerunRequest({ kind: 'fanout', request: { environment: 'e', alias: 'w', target: 't' } }, {}),
    ).toEqual({ kind: 'fanout', request: { environment: 'e', alias: 'w', target: 't' } });
    expect(
      rerunRequest(
        { kind: 'fanout', request: { environment: 'e', alias: 'w', target: 't' } },
        {
          args: { A: '1' },
          confirm: 'e',
        },
      ),
    ).toEqual({
      kind: 'fanout',
      request: { environment: 'e', alias: 'w', target: 't', args: { A: '1' }, confirm: 'e' },
    });
  });
});
