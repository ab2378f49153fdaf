// Concurrent short commands to one host over a fresh control folder: one of them sets the master
// connection up, the others share it or connect on their own, and no job's output carries ssh's
// "ControlSocket … already exists" complaint (issue 19).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRunner } from '../../src/runners/local.runner.js';
import { SshRunner } from '../../src/runners/ssh.runner.js';
import { startSshd, type SshdFixture } from '../fixtures/sshd.js';

describe('ssh master connections under concurrency', () => {
  let sshd: SshdFixture;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('starts eight commands at once to one host: all succeed, none prints a control socket clash', async () => {
    const controlDir = mkdtempSync(path.join(tmpdir(), 'vmo-ctl-'));
    const runner = new SshRunner(new LocalRunner({ lingerMs: 200, graceMs: 500 }), {
      configFile: sshd.configFile,
      strictHostKeyChecking: 'accept-new',
      connectTimeoutSeconds: 10,
      controlDir,
      controlPersistSeconds: 2,
    });
    const runs = Array.from({ length: 8 }, (_, i) => {
      let out = '';
      const handle = runner.start(
        { destination: 'vmo-test', command: `echo job ${i}`, tty: false, env: process.env },
        { write: (_stream, data) => void (out += data.toString('utf8')) },
      );
      return handle.done.then((r) => ({ r, out }));
    });
    const results = await Promise.all(runs);
    results.forEach(({ r, out }, i) => {
      expect(r.exitCode, out).toBe(0);
      expect(out).toContain(`job ${i}`);
      expect(out).not.toMatch(/ControlSocket|disabling multiplexing/);
    });
    // And later commands share the master the first one left.
    let out = '';
    const later = await runner.start(
      { destination: 'vmo-test', command: 'echo later', tty: false, env: process.env },
      { write: (_s, d) => void (out += d.toString('utf8')) },
    ).done;
    expect(later.exitCode).toBe(0);
    expect(out).toBe('later\n');
  });
});
