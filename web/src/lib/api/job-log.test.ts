import { describe, expect, it } from 'vitest';
import { jobLogFilename, jobLogLink, jobLogPath, saveBlob, type SaveEnv } from './job-log.js';

const ID = '1f2e3d4c-0000-4000-8000-000000000001';

/** A SaveEnv that records what it was asked to do, and runs "later" only when told. */
function recordingEnv(opts: { followThrows?: boolean } = {}) {
  const calls: string[] = [];
  const pending: (() => void)[] = [];
  let made = 0;
  const env: SaveEnv = {
    createObjectURL: () => `blob:test/${++made}`,
    revokeObjectURL: (url) => void calls.push(`revoke ${url}`),
    follow(href, filename) {
      calls.push(`follow ${href} as ${filename}`);
      if (opts.followThrows) throw new Error('the click was refused');
    },
    later: (fn) => void pending.push(fn),
  };
  const runLater = () => pending.splice(0).forEach((fn) => fn());
  return { env, calls, pending, runLater };
}

describe('the job log download', () => {
  it('is a same-origin link without an override', () => {
    expect(jobLogLink(ID, null)).toBe(`/api/jobs/${ID}/log`);
  });

  it('has no link under an override: the log must be fetched with the token', () => {
    expect(jobLogLink(ID, { url: 'https://vmo.example.com', token: 'vmo_abc' })).toBeNull();
  });

  it('escapes an id that is not a plain uuid, so it cannot leave the log route', () => {
    expect(jobLogPath('../users?x=1')).toBe('/api/jobs/..%2Fusers%3Fx%3D1/log');
  });

  it('saves the file under the name the server gives it', () => {
    expect(jobLogFilename(ID)).toBe(`job-${ID}.log`);
  });
});

describe(saveBlob.name, () => {
  it('follows an object URL as the file, and revokes that URL afterwards', () => {
    const { env, calls, pending, runLater } = recordingEnv();
    saveBlob(new Blob(['hello\n']), 'job-1.log', env);
    expect(calls).toEqual(['follow blob:test/1 as job-1.log']);
    expect(pending).toHaveLength(1); // not revoked yet: the browser may still be reading it
    runLater();
    expect(calls).toEqual(['follow blob:test/1 as job-1.log', 'revoke blob:test/1']);
  });

  it('still revokes the URL when the download cannot start', () => {
    const { env, calls, runLater } = recordingEnv({ followThrows: true });
    expect(() => saveBlob(new Blob(['x']), 'job-2.log', env)).toThrow('the click was refused');
    runLater();
    expect(calls).toEqual(['follow blob:test/1 as job-2.log', 'revoke blob:test/1']);
  });

  it('gives every download its own URL and revokes each one', () => {
    const { env, calls, runLater } = recordingEnv();
    saveBlob(new Blob(['a']), 'job-a.log', env);
    saveBlob(new Blob(['b']), 'job-b.log', env);
    runLater();
    expect(calls.filter((c) => c.startsWith('revoke'))).toEqual([
      'revoke blob:test/1',
      'revoke blob:test/2',
    ]);
  });
});
