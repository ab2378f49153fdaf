// The audit trail at size (issue 28): N entries (a million by default) in a valid hash chain,
// written straight into a database of the machine's PostgreSQL, then through the server: the chain
// verified (GET /api/audit/verify, timed), the whole log exported as JSON lines and as CSV (timed,
// bytes counted, every line read by this client), and the server's memory sampled meanwhile (its
// RSS before and at its peak: the export streams, so it must not grow with N). Also the writer:
// entries appended by the server's own chain writer (its module, on two pools) from 16 callers.
// The history is kept between runs (database vmo_bench_audit_<n>): --fresh rebuilds it.
// Run: node bench/audit.js [--smoke] [--entries N] [--fresh]  (build first: npm run build)
import pg from 'pg';
import { api, MB, rssKb, sleep, withServer } from './lib.js';
import { contentOf, hashOf, ZERO_HASH } from '../server/dist/audit/chain.js';
import { openDb } from '../server/dist/db/client.js';
import { AuditRepository } from '../server/dist/db/audit.repository.js';
import { createLogger } from '../server/dist/logger.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};
const smoke = process.argv.includes('--smoke');
const N = arg('entries', smoke ? 20_000 : 1_000_000);
const ADMIN_URL = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const DB = `vmo_bench_audit_${N}`;

const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB])).rowCount;
if (exists && process.argv.includes('--fresh')) await admin.query(`DROP DATABASE ${DB}`);
const fresh = !exists || process.argv.includes('--fresh');
if (fresh) await admin.query(`CREATE DATABASE ${DB}`);
await admin.end();
const url = new URL(ADMIN_URL);
url.pathname = `/${DB}`;
const databaseUrl = url.toString();

/** Entries as a busy team's: runs with their details, sign-ins, a few changes. */
function entry(i, ts) {
  const kind = i % 10;
  return {
    id: i,
    ts,
    user_id: null,
    username: `user${i % 37}`,
    action: kind < 7 ? 'job.run' : kind < 9 ? 'login' : 'user.update',
    target: kind < 7 ? `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` : null,
    source: `10.0.${(i >> 8) & 255}.${i & 255}`,
    details:
      kind < 7
        ? {
            alias: 'shop',
            target: 'deploy',
            args: { ENV: 'prod', REV: `r${i}` },
            environment: 'prod',
          }
        : null,
  };
}

/** Writes N chained entries after what the database holds, a batch per statement. */
async function fill(db) {
  const head = (await db.query('SELECT head_id, head_hash FROM audit_chain')).rows[0];
  let prev = head.head_hash ?? ZERO_HASH;
  let id = Number(head.head_id);
  const start = Date.now() - N * 1000;
  const t0 = performance.now();
  while (id < N) {
    const cols = {
      id: [],
      ts: [],
      username: [],
      action: [],
      target: [],
      source: [],
      details: [],
      prev: [],
      hash: [],
    };
    for (let k = 0; k < 5_000 && id < N; k++) {
      id++;
      const e = entry(id, new Date(start + id * 1000));
      const hash = hashOf(prev, contentOf(e));
      cols.id.push(e.id);
      cols.ts.push(e.ts.toISOString());
      cols.username.push(e.username);
      cols.action.push(e.action);
      cols.target.push(e.target);
      cols.source.push(e.source);
      cols.details.push(e.details ? JSON.stringify(e.details) : null);
      cols.prev.push(prev);
      cols.hash.push(hash);
      prev = hash;
    }
    await db.query(
      `INSERT INTO audit_log (id, ts, username, action, target, source, details, prev_hash, hash)
       SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
                            $6::text[], $7::jsonb[], $8::text[], $9::text[])`,
      Object.values(cols),
    );
    await db.query('UPDATE audit_chain SET head_id = $1, head_hash = $2', [id, prev]);
  }
  return (performance.now() - t0) / 1000;
}

/** Reads the response to its end, counting bytes and lines, while sampling the server's RSS. */
async function drain(server, route) {
  const before = rssKb(server.pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKb(server.pid))), 20);
  const t0 = performance.now();
  const res = await api(server, 'GET', route);
  if (res.status !== 200) throw new Error(`${route}: ${res.status} ${await res.text()}`);
  let bytes = 0;
  let lines = 0;
  for await (const chunk of res.body) {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) lines++;
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, rssKb(server.pid));
  return { seconds, bytes, lines, before, peak };
}

await withServer(
  async (server) => {
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const count = Number((await db.query('SELECT count(*) AS n FROM audit_log')).rows[0].n);
    if (count < N) {
      const s = await fill(db);
      console.log(
        `audit: wrote ${N.toLocaleString()} chained entries in ${s.toFixed(1)} s (hashes in this process)`,
      );
    }
    const total = Number((await db.query('SELECT count(*) AS n FROM audit_log')).rows[0].n);
    await db.end();
    await sleep(500);

    const t0 = performance.now();
    const verify = await (await api(server, 'GET', '/api/audit/verify')).json();
    const verifyS = (performance.now() - t0) / 1000;
    if (!verify.ok) throw new Error(`verify: ${JSON.stringify(verify.firstBroken)}`);
    console.log(
      `audit: verify ${verify.checked.toLocaleString()} entries in ${verifyS.toFixed(2)} s ` +
        `(${Math.round(verify.checked / verifyS).toLocaleString()} entries/s), up to #${verify.verifiedUpTo}`,
    );
    let ok = verify.checked === total;
    for (const format of ['jsonl', 'csv']) {
      const r = await drain(server, `/api/audit/export?format=${format}`);
      const expected = total + (format === 'csv' ? 1 : 0);
      ok &&= r.lines === expected;
      console.log(
        `audit: export ${format} ${r.lines.toLocaleString()} lines, ${(r.bytes / MB).toFixed(0)} MB in ` +
          `${r.seconds.toFixed(2)} s (${(r.bytes / MB / r.seconds).toFixed(0)} MB/s); server RSS ` +
          `${(r.before / 1024).toFixed(0)} MB before, ${(r.peak / 1024).toFixed(0)} MB at its peak` +
          (r.lines === expected ? '' : ` — LINES MISSING (expected ${expected})`),
      );
    }
    // The writer: entries appended through the chain lock by two "instances" (a pool each), 16
    // callers at once, as sign-ins and job starts write them.
    const writes = smoke ? 500 : 5_000;
    const log = createLogger({ level: 'warn' });
    const pools = [openDb(databaseUrl, log), openDb(databaseUrl, log)];
    const repos = pools.map((p) => new AuditRepository(p.db));
    const w0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async (_, k) => {
        while (next < writes) {
          next++;
          await repos[k % 2].add({ userId: null, username: `bench${k}`, action: 'login.failed' });
        }
      }),
    );
    const ws = (performance.now() - w0) / 1000;
    await Promise.all(pools.map((p) => p.close()));
    const after = await (await api(server, 'GET', '/api/audit/verify')).json();
    ok &&= after.ok && after.checked === total + writes;
    console.log(
      `audit: ${writes.toLocaleString()} entries appended by 16 callers on 2 pools in ${ws.toFixed(2)} s ` +
        `(${Math.round(writes / ws).toLocaleString()} entries/s); chain ${after.ok ? 'verified' : 'BROKEN'} up to #${after.verifiedUpTo}`,
    );
    if (!ok) process.exitCode = 1;
  },
  { databaseUrl, extraConfig: '' },
);
