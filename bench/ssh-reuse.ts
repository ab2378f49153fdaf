// Repeated short ssh job to one host (SPEC §5: ≤ 100 ms each with connection reuse, ≈ 265 ms
// fresh; issue 26: a job through the server ≤ 1.15× a bare `ssh` through the same ControlMaster,
// measured in the same run). A private sshd on loopback. Three sides, `true` each time:
//   - bare ssh with the exact argv of the ssh runner, fresh (no reuse) and through a master;
//   - the whole job through a server of our own (POST → its `job:done` on a socket: the job's
//     row and audit, the spawn, ssh through the server's master, the output and end committed),
//     interleaved with a bare `ssh` through that same master socket.
// Run: node --import tsx bench/ssh-reuse.ts [--smoke]   (after `npm run build -w @vmo/server`)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { controlDirFor, sshArgv } from '../server/src/runners/ssh.runner.ts';
import { startSshd } from '../server/test/fixtures/sshd.ts';
import { api, loadavg, withServer } from './lib.js';
import { JobsClient } from './jobs-client.js';

const runs = process.argv.includes('--smoke') ? 5 : 30;
const sshd = await startSshd();
const controlDir = mkdtempSync(path.join(tmpdir(), 'vmo-bench-cm-'));
const settings = {
  configFile: sshd.configFile,
  strictHostKeyChecking: 'accept-new' as const,
  connectTimeoutSeconds: 10,
  controlDir,
};

/** One ssh run, start to exit, without blocking this process (a server's socket events keep arriving). */
function time(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0
        ? resolve(performance.now() - t0)
        : reject(new Error(`ssh failed (${code}): ${err}`)),
    ),
  );
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stopMaster = (dir: string) =>
  spawnSync(
    'ssh',
    ['-F', sshd.configFile, '-o', `ControlPath=${path.join(dir, '*')}`, '-O', 'exit', 'vmo-test'],
    { stdio: 'ignore' },
  );

/** The server's side: one `nothing` preset job after another, each against a bare ssh. */
async function throughServer(): Promise<void> {
  const extraConfig = [
    `ssh:\n  config: ${JSON.stringify(sshd.configFile)}`,
    `presets:\n  - name: nothing\n    command: "true"`,
    '',
  ].join('\n');
  await withServer(
    async (server: { dataDir: string; url: string; cookie: string }) => {
      const client = await new JobsClient(server).connect();
      const job = async () => {
        const t0 = performance.now();
        const res = await api(server, 'POST', '/api/jobs/ssh-logs', {
          hostAlias: 'vmo-test',
          preset: 'nothing',
        });
        if (res.status !== 201) throw new Error(`start: ${res.status} ${await res.text()}`);
        const { jobId } = (await res.json()) as { jobId: string };
        const t = await client.follow(jobId).promise;
        if (t.done.status !== 'success') throw new Error(`job ${jobId}: ${t.done.status}`);
        return performance.now() - t0;
      };
      try {
        await job(); // opens the server's master
        await job();
        const sockets = readdirSync(controlDirFor(server.dataDir));
        if (sockets.length !== 1)
          throw new Error(`expected the server's one master socket: ${sockets}`);
        const bare = [
          'ssh',
          '-F',
          sshd.configFile,
          '-o',
          `ControlPath=${path.join(controlDirFor(server.dataDir), sockets[0]!)}`,
          '-o',
          'ControlMaster=no',
          'vmo-test',
          'true',
        ];
        const jobs: number[] = [];
        const bares: number[] = [];
        for (let i = 0; i < runs; i++) {
          // Alternate which goes first, so neither always follows the other.
          if (i % 2) {
            jobs.push(await job());
            bares.push(await time(bare));
          } else {
            bares.push(await time(bare));
            jobs.push(await job());
          }
        }
        const ratio = median(jobs) / median(bares);
        console.log(
          `ssh: through the server, ${runs} jobs interleaved with as many bare ssh through its master: ` +
            `job median ${median(jobs).toFixed(0)} ms (max ${Math.max(...jobs).toFixed(0)}), bare ssh median ${median(bares).toFixed(0)} ms ` +
            `(max ${Math.max(...bares).toFixed(0)}): ${ratio.toFixed(2)}× (target ≤ 1.15×)`,
        );
      } finally {
        client.close();
        stopMaster(controlDirFor(server.dataDir));
      }
    },
    { extraConfig },
  );
}

try {
  console.log(`ssh: load average before: ${loadavg()}`);
  const reused = sshArgv(settings, { destination: 'vmo-test', command: 'true', tty: false });
  const fresh = reused.map((a) =>
    a.startsWith('ControlPath=')
      ? 'ControlPath=none'
      : a.startsWith('ControlMaster=')
        ? 'ControlMaster=no'
        : a,
  );
  const freshTimes: number[] = [];
  for (let i = 0; i < runs; i++) freshTimes.push(await time(fresh));
  const first = await time(reused); // opens the master
  const reusedTimes: number[] = [];
  for (let i = 0; i < runs; i++) reusedTimes.push(await time(reused));
  console.log(`ssh: fresh connection, ${runs} runs: median ${median(freshTimes).toFixed(0)} ms`);
  console.log(`ssh: first with ControlMaster (opens the master): ${first.toFixed(0)} ms`);
  console.log(
    `ssh: reused connection, ${runs} runs: median ${median(reusedTimes).toFixed(0)} ms, max ${Math.max(...reusedTimes).toFixed(0)} ms (target ≤ 100 ms)`,
  );
  await throughServer();
} finally {
  stopMaster(controlDir);
  await sshd.stop();
  rmSync(controlDir, { recursive: true, force: true });
}
