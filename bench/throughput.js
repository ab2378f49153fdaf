// One job's throughput, stored and delivered byte-exact (SPEC §5: ≥ 100 MB/s). A `blast` job
// writes MB MiB as fast as it can; timed from the POST to `job:done` on one follower holding every
// byte, checked by length and sha256 against the generator's known content and the stored outputBytes.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { MB, fmtCpu, projectDir, timeBlastJob, withServer } from './lib.js';
import { JobsClient } from './jobs-client.js';
import { BLOCK_BYTES, blastBlock } from './project/content.js';

/** The generator alone, read by this process through a pipe: the ceiling for the server. */
async function generatorAlone(mb) {
  const t0 = performance.now();
  const proc = spawn('make', ['-s', '-C', projectDir, 'blast', `MB=${mb}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, MAKEFLAGS: '' },
  });
  let bytes = 0;
  proc.stdout.on('data', (d) => (bytes += d.length));
  await new Promise((r) => proc.once('close', r));
  return { bytes, seconds: (performance.now() - t0) / 1000 };
}

export async function benchThroughput({ smoke = false } = {}) {
  const mb = smoke ? 20 : 200;
  const expectedBytes = mb * BLOCK_BYTES;
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(BLOCK_BYTES);
  for (let k = 0; k < mb; k++) hash.update(blastBlock(k, buf));
  const expectedSha = hash.digest('hex');

  const alone = await generatorAlone(mb);
  return withServer(async (server) => {
    const result = { name: 'throughput', ok: true, lines: [], figures: {} };
    const say = (s) => (console.log(s), result.lines.push(s));
    say(
      `throughput: generator alone into a pipe: ${(alone.bytes / MB).toFixed(0)} MB in ${alone.seconds.toFixed(2)} s = ${(alone.bytes / MB / alone.seconds).toFixed(0)} MB/s`,
    );
    const client = await new JobsClient(server).connect();
    try {
      const bench0 = process.cpuUsage();
      const { t0, seconds, cpu, tracker: t, job } = await timeBlastJob(server, client, mb);
      const bench = process.cpuUsage(bench0);
      const firstByteMs = t.firstStdoutAt - (performance.timeOrigin + t0);
      const sha = t.stdoutHash.digest('hex');
      const got = t.streamBytes.stdout;
      const mbps = got / MB / seconds;
      say(
        `throughput: one blast job of ${(expectedBytes / MB).toFixed(0)} MB (${mb} MiB), POST → job:done with every byte: ` +
          `${seconds.toFixed(2)} s = ${mbps.toFixed(0)} MB/s (target ≥ 100 MB/s); first byte after ${firstByteMs.toFixed(0)} ms, ${t.events} events`,
      );
      say(
        `throughput: during the job: ${fmtCpu(cpu, seconds, { jobs: true })}; this benchmark's process (the follower) ${((bench.user + bench.system) / 1e6).toFixed(1)} s`,
      );
      const checks = {
        'received length': got === expectedBytes,
        'sha256 of stdout': sha === expectedSha,
        'stored outputBytes': job.outputBytes === got + t.streamBytes.stderr,
        'status success': job.status === 'success' && t.done.status === 'success',
        'seqs 1..lastSeq once, in order':
          t.lostUpTo(job.lastSeq) === 0 &&
          t.duplicates === 0 &&
          t.reordered === 0 &&
          t.lastSeq === job.lastSeq,
      };
      const failed = Object.entries(checks)
        .filter(([, v]) => !v)
        .map(([k]) => k);
      say(
        failed.length
          ? `throughput: CHECK FAILED: ${failed.join(', ')} (received ${got} B of ${expectedBytes}, stored ${job.outputBytes}, ` +
              `sha ${sha.slice(0, 12)} vs ${expectedSha.slice(0, 12)}, status ${job.status}, seqs lost ${t.lostUpTo(job.lastSeq)} dup ${t.duplicates} reordered ${t.reordered})`
          : `throughput: byte-exact: ${got} B, sha256 ${sha.slice(0, 16)}…, stored outputBytes ${job.outputBytes}, seqs 1..${job.lastSeq} once and in order (${t.resyncs} resyncs)`,
      );
      if (failed.length) result.ok = false;
      if (server.problems.length)
        say(
          `throughput: the server logged ${server.problems.length} warnings/errors, first: ${server.problems[0].msg}`,
        );
      result.figures = { seconds, mbps, bytes: got, firstByteMs, cpu, alone };
      result.targetsMissed = mbps < 100 ? ['throughput'] : [];
      return result;
    } finally {
      client.close();
    }
  });
}
