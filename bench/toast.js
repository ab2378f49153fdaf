// How a job's output is best kept by Postgres (issue 26: "compressed … with TOAST compression off —
// measure each step and keep only what pays"): the same build, one 200 MiB `blast` job per run, with
// job_events.chunk_bin at Postgres's default pglz, at lz4, or uncompressed (STORAGE EXTERNAL),
// interleaved in rotating order. Per run: MB/s stored and delivered byte-exact, Postgres's and the
// server's CPU, and the table's size on disk. `node bench/toast.js [rounds]` after a build.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { BLOCK_BYTES } from './project/content.js';
import { MB, timeBlastJob, withServer } from './lib.js';
import { JobsClient } from './jobs-client.js';

const VARIANTS = {
  pglz: 'ALTER TABLE job_events ALTER COLUMN chunk_bin SET COMPRESSION pglz',
  lz4: 'ALTER TABLE job_events ALTER COLUMN chunk_bin SET COMPRESSION lz4',
  external: 'ALTER TABLE job_events ALTER COLUMN chunk_bin SET STORAGE EXTERNAL',
};
const MiB = 200;

/** The embedded cluster of a bench server: its port from postmaster.pid, its password file. */
function embeddedUrl(dataDir) {
  const dir = path.join(dataDir, 'pg');
  const port = readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[3].trim();
  const password = readFileSync(path.join(dir, 'vmo-password'), 'utf8').trim();
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/vmo`;
}

async function once(variant) {
  return withServer(async (server) => {
    const db = new pg.Client({ connectionString: embeddedUrl(server.dataDir) });
    await db.connect();
    const client = await new JobsClient(server).connect();
    try {
      try {
        await db.query(VARIANTS[variant]);
      } catch (err) {
        return { variant, unsupported: String(err.message) }; // lz4: not in every build of Postgres
      }
      const { seconds, cpu, tracker: t, job } = await timeBlastJob(server, client, MiB);
      const exact =
        t.streamBytes.stdout === MiB * BLOCK_BYTES && job.outputBytes === MiB * BLOCK_BYTES;
      await db.query('CHECKPOINT');
      const size = Number(
        (await db.query("select pg_total_relation_size('job_events') as n")).rows[0].n,
      );
      return { variant, mbps: t.streamBytes.stdout / MB / seconds, seconds, cpu, size, exact };
    } finally {
      client.close();
      await db.end();
    }
  });
}

const rounds = Number(process.argv[2] ?? 3);
const names = Object.keys(VARIANTS);
const results = [];
const unsupported = new Set();
for (let r = 0; r < rounds; r++) {
  const order = names.map((_, i) => names[(i + r) % names.length]);
  for (const variant of order) {
    if (unsupported.has(variant)) continue;
    const res = await once(variant);
    if (res.unsupported) {
      unsupported.add(variant);
      console.log(`toast: ${variant}: ${res.unsupported}; left out`);
      continue;
    }
    results.push(res);
    console.log(
      `toast: round ${r + 1} ${variant.padEnd(8)} ${res.mbps.toFixed(1)} MB/s (${res.seconds.toFixed(2)} s), ` +
        `Postgres CPU ${res.cpu.postgres.toFixed(2)} s, server CPU ${res.cpu.server.toFixed(2)} s, ` +
        `job_events ${(res.size / MB).toFixed(1)} MB on disk, ${res.exact ? 'byte-exact' : 'NOT EXACT'}`,
    );
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const v of names) {
  const mine = results.filter((x) => x.variant === v);
  if (!mine.length) continue;
  console.log(
    `toast: ${v.padEnd(8)} median ${median(mine.map((x) => x.mbps)).toFixed(1)} MB/s ` +
      `(${mine.map((x) => x.mbps.toFixed(1)).join(', ')}), Postgres CPU ${median(mine.map((x) => x.cpu.postgres)).toFixed(2)} s, ` +
      `${(median(mine.map((x) => x.size)) / MB).toFixed(1)} MB on disk`,
  );
}
if (results.some((x) => !x.exact)) process.exitCode = 1;
