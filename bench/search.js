// Search on a big history (issue 25): JOBS jobs of KB kB of log output each (10 GB in 100,000 jobs
// with --full), written straight into a database of the machine's PostgreSQL in the shape the
// engine stores (events of 25 kB), then indexed by the server's own indexer (timed: the index
// throughput), then asked over HTTP, as the UI asks: a rare literal printed by 3 jobs, a common
// word (its first page), a regex, and a rare literal restricted to one user. p50/p95 of each.
// The history is kept between runs (database vmo_bench_search_<jobs>_<kb>): --fresh rebuilds it.
// Run: node bench/search.js [--smoke | --full] [--jobs N --kb K] [--fresh]
import pg from 'pg';
import { api, fmtMs, percentile, sleep, withServer } from './lib.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};
const smoke = process.argv.includes('--smoke');
const full = process.argv.includes('--full');
const JOBS = arg('jobs', smoke ? 2_000 : full ? 100_000 : 20_000);
const KB = arg('kb', smoke ? 20 : 100);
const EVENT_KB = 25;
const RUNS = smoke ? 5 : 20;
const ADMIN_URL = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const DB = `vmo_bench_search_${JOBS}_${KB}`;
const RARE = 'ZX-ERR-40417';

const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB])).rowCount;
if (exists && process.argv.includes('--fresh')) await admin.query(`DROP DATABASE ${DB}`);
if (!exists || process.argv.includes('--fresh')) await admin.query(`CREATE DATABASE ${DB}`);
await admin.end();
const url = new URL(ADMIN_URL);
url.pathname = `/${DB}`;
const databaseUrl = url.toString();

const db = new pg.Client({ connectionString: databaseUrl });

/** Lines like a busy service's: time, level, worker, a request id, a path, a duration. */
const LINE = `format('%s %s worker-%s request %s %s /api/v1/%s/%s in %s ms',
  to_char(timestamp '2026-01-01' + (g * interval '37 ms'), 'YYYY-MM-DD"T"HH24:MI:SS.MS'),
  (ARRAY['INFO ','INFO ','INFO ','DEBUG','WARN '])[1 + (g % 5)],
  g % 16, substr(md5(g::text || j.id::text), 1, 16),
  (ARRAY['GET','GET','POST','PUT','DELETE'])[1 + (g % 5)],
  (ARRAY['orders','users','carts','payments','search','stock'])[1 + (g % 6)],
  (g * 7919) % 100000, (g * 31) % 900 + 1)`;

async function build() {
  const have = await db.query(`SELECT count(*)::int AS n FROM jobs WHERE project = 'bench'`);
  if (have.rows[0].n >= JOBS) return false;
  const user = await db.query(`SELECT id FROM users WHERE username = 'admin'`);
  const owner = user.rows[0].id;
  const perEvent = Math.round((EVENT_KB * 1024) / 100); // lines of ≈ 100 bytes
  const events = Math.ceil(KB / EVENT_KB);
  const t0 = performance.now();
  const BATCH = 500;
  for (let done = 0; done < JOBS; done += BATCH) {
    const n = Math.min(BATCH, JOBS - done);
    await db.query('BEGIN');
    const { rows } = await db.query(
      `INSERT INTO jobs (type, status, project, target, command, args, argv, requested_by,
                         created_at, started_at, finished_at, exit_code, last_seq)
       SELECT 'stream', CASE WHEN i % 9 = 0 THEN 'failed' ELSE 'success' END, 'bench', 'serve',
              'make serve', '{}', '[]', $3::uuid,
              now() - ($2 - i) * interval '1 second', now() - ($2 - i) * interval '1 second',
              now() - ($2 - i) * interval '1 second' + interval '900 ms',
              CASE WHEN i % 9 = 0 THEN 2 ELSE 0 END, $4
       FROM generate_series($1::int + 1, $1::int + $5::int) i
       RETURNING id`,
      [done, JOBS, owner, events, n],
    );
    const ids = rows.map((r) => r.id);
    await db.query(
      `INSERT INTO job_events (job_id, seq, stream, chunk, ts, line_end, open_streams)
       SELECT j.id, s, 'stdout',
              (SELECT string_agg(${LINE}, E'\\n') FROM generate_series((s - 1) * $2 + 1, s * $2) g) || E'\\n',
              now(), s * $2, 0
       FROM unnest($1::uuid[]) AS j(id), generate_series(1, $3) s`,
      [ids, perEvent, events],
    );
    await db.query(
      `UPDATE jobs SET output_bytes = (SELECT sum(octet_length(chunk)) FROM job_events e WHERE e.job_id = jobs.id)
       WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    await db.query('COMMIT');
    if ((done / BATCH) % 10 === 0)
      console.log(
        `  built ${done + n} of ${JOBS} jobs (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
  }
  // The rare literal: one line in 3 jobs, spread over the history.
  const { rows: rare } = await db.query(
    `SELECT id, last_seq FROM jobs WHERE project = 'bench' ORDER BY created_at
     OFFSET $1 LIMIT 1`,
    [Math.floor(JOBS * 0.1)],
  );
  const picks = [
    rare[0],
    ...(
      await db.query(
        `SELECT id, last_seq FROM jobs WHERE project = 'bench' ORDER BY created_at OFFSET $1 LIMIT 1`,
        [Math.floor(JOBS * 0.5)],
      )
    ).rows,
    ...(
      await db.query(
        `SELECT id, last_seq FROM jobs WHERE project = 'bench' ORDER BY created_at OFFSET $1 LIMIT 1`,
        [Math.floor(JOBS * 0.9)],
      )
    ).rows,
  ];
  for (const p of picks) {
    await db.query(`UPDATE job_events SET chunk = chunk || $2 WHERE job_id = $1 AND seq = 1`, [
      p.id,
      `2026-01-01T00:00:00.000 ERROR worker-3 upstream refused: ${RARE} (retrying)\n`,
    ]);
  }
  console.log(`built ${JOBS} jobs × ${KB} kB in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return true;
}

async function indexed() {
  const r = await db.query(
    `SELECT count(*) FILTER (WHERE p.done)::int AS done, count(*)::int AS total
     FROM jobs j LEFT JOIN search_progress p ON p.job_id = j.id`,
  );
  return r.rows[0];
}

async function timed(server, query, runs) {
  const ms = [];
  let last;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const res = await api(server, 'GET', `/api/search?${query}`);
    last = await res.json();
    if (res.status !== 200) throw new Error(`${query}: ${res.status} ${JSON.stringify(last)}`);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p95: percentile(ms, 95), last };
}

// A first start makes the schema (and the admin); the history is written while no server runs,
// so the indexer of the second start finds it all at once, as after an upgrade.
let built = false;
await withServer(
  async () => {
    await db.connect();
    built = await build();
  },
  { databaseUrl, extraConfig: 'search: { enabled: false }\n' },
);

await withServer(
  async (server) => {
    try {
      // The server indexes it in the background: time it until every job is in.
      const t0 = performance.now();
      const bytes = (
        await db.query(`SELECT sum(output_bytes)::bigint AS b FROM jobs WHERE project = 'bench'`)
      ).rows[0].b;
      for (let last = -1; ;) {
        const { done, total } = await indexed();
        if (done >= total) break;
        if (done !== last && Math.floor(done / (total / 10)) !== Math.floor(last / (total / 10)))
          console.log(
            `  indexed ${done} of ${total} jobs (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
          );
        last = done;
        await sleep(1000);
      }
      const seconds = (performance.now() - t0) / 1000;
      if (built || seconds > 2)
        console.log(
          `indexed ${(Number(bytes) / 1e9).toFixed(2)} GB in ${seconds.toFixed(0)} s: ${(Number(bytes) / 1e6 / seconds).toFixed(1)} MB/s`,
        );
      const sizes = (
        await db.query(`SELECT pg_size_pretty(pg_total_relation_size('job_events')) AS events,
                               pg_size_pretty(pg_relation_size('search_blocks')
                                 + coalesce(pg_total_relation_size(reltoastrelid), 0)) AS blocks,
                               pg_size_pretty(pg_relation_size('search_blocks_trgm')) AS trgm
                        FROM pg_class WHERE relname = 'search_blocks'`)
      ).rows[0];
      console.log(
        `stored: events ${sizes.events}, blocks ${sizes.blocks}, trigram index ${sizes.trgm}`,
      );

      await timed(server, `q=${RARE}`, 2); // warm
      const cases = [
        ['rare literal (3 jobs)', `q=${RARE}`, (r) => r.items.length === 3],
        ['common word, first page', 'q=request', (r) => r.items.length === 20],
        [
          'regex, first page',
          `q=${encodeURIComponent('worker-1[0-5] request')}&regex=1`,
          (r) => r.items.length === 20,
        ],
        ['rare literal, user=me, failed only', `q=${RARE}&user=me&status=failed`, () => true],
        ['absent literal', 'q=NO-SUCH-CODE-999', (r) => r.items.length === 0],
      ];
      console.log(`\nsearch over ${JOBS} jobs × ${KB} kB (${RUNS} runs each):`);
      for (const [name, q, ok] of cases) {
        const r = await timed(server, q, RUNS);
        console.log(
          `  ${name.padEnd(38)} p50 ${fmtMs(r.p50).padStart(6)} ms   p95 ${fmtMs(r.p95).padStart(6)} ms   ${r.last.items.length} jobs${ok(r.last) ? '' : '  (UNEXPECTED)'}`,
        );
      }
    } finally {
      await db.end();
    }
  },
  { databaseUrl, extraConfig: 'search: { pollSeconds: 0.5 }\n' },
);
