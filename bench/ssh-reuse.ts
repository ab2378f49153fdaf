// Repeated short ssh command to one host (SPEC §5: ≤ 100 ms each with connection reuse, ≈ 265 ms
// fresh): the exact argv the ssh runner builds, against a private sshd on loopback.
// Run: node --import tsx bench/ssh-reuse.ts [--smoke]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sshArgv } from '../server/src/runners/ssh.runner.ts';
import { startSshd } from '../server/test/fixtures/sshd.ts';

const runs = process.argv.includes('--smoke') ? 5 : 30;
const sshd = await startSshd();
const controlDir = mkdtempSync(path.join(tmpdir(), 'vmo-bench-cm-'));
const settings = {
  configFile: sshd.configFile,
  strictHostKeyChecking: 'accept-new' as const,
  connectTimeoutSeconds: 10,
  controlDir,
};

function time(argv: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`ssh failed (${r.status}): ${r.stderr.toString()}`);
  return performance.now() - t0;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const reused = sshArgv(settings, { destination: 'vmo-test', command: 'true', tty: false });
  const fresh = reused.map((a) =>
    a.startsWith('ControlPath=')
      ? 'ControlPath=none'
      : a.startsWith('ControlMaster=')
        ? 'ControlMaster=no'
        : a,
  );
  const freshTimes = Array.from({ length: runs }, () => time(fresh));
  const first = time(reused); // opens the master
  const reusedTimes = Array.from({ length: runs }, () => time(reused));
  console.log(`ssh: fresh connection, ${runs} runs: median ${median(freshTimes).toFixed(0)} ms`);
  console.log(`ssh: first with ControlMaster (opens the master): ${first.toFixed(0)} ms`);
  console.log(
    `ssh: reused connection, ${runs} runs: median ${median(reusedTimes).toFixed(0)} ms, max ${Math.max(...reusedTimes).toFixed(0)} ms (target ≤ 100 ms)`,
  );
} finally {
  spawnSync(
    'ssh',
    [
      '-F',
      sshd.configFile,
      '-o',
      `ControlPath=${path.join(controlDir, '*')}`,
      '-O',
      'exit',
      'vmo-test',
    ],
    { stdio: 'ignore' },
  );
  await sshd.stop();
  rmSync(controlDir, { recursive: true, force: true });
}
