// Where a running job's memory goes: two V8 heap snapshots of the server (before the jobs start
// and while they all run), summed by what V8 calls each object (a class, "(closure)", "(string)",
// an array kind), and the difference divided by the number of jobs. BENCH_HEAP=<dir> turns it on
// (the server is started with --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<dir>).
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { scrapeMetrics, sleep } from './lib.js';

/** The server's own memory figures, from /metrics (prom-client's process and Node gauges). */
export async function memoryOf(server) {
  const { gauge } = await scrapeMetrics(server);
  return {
    rss: gauge('process_resident_memory_bytes'),
    heapUsed: gauge('nodejs_heap_size_used_bytes'),
    heapTotal: gauge('nodejs_heap_size_total_bytes'),
    external: gauge('nodejs_external_memory_bytes'),
  };
}

/** Signals the server and waits for the snapshot file to be complete; its path. */
export async function heapSnapshot(server, dir) {
  const before = new Set(await readdir(dir));
  process.kill(server.pid, 'SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(500);
    const fresh = (await readdir(dir)).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (fresh.length) {
      const file = path.join(dir, fresh[0]);
      // Written in one go; done once its size stops changing and it parses to its end.
      let size = -1;
      for (;;) {
        const now = (await stat(file)).size;
        if (now === size && now > 0) return file;
        size = now;
        await sleep(500);
      }
    }
  }
  throw new Error('no heap snapshot after 5 minutes');
}

/** Self sizes summed by node type and name: Map(label → {count, bytes}). */
export async function summarize(file) {
  const snap = JSON.parse(await readFile(file, 'utf8'));
  const { node_fields: fields, node_types: types } = snap.snapshot.meta;
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const typeNames = types[iType];
  const { nodes, strings } = snap;
  const by = new Map();
  let total = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = typeNames[nodes[i + iType]];
    const size = nodes[i + iSize];
    total += size;
    // Objects by their constructor; strings, code, arrays and the rest by their kind.
    const label =
      type === 'object' || type === 'closure' || type === 'native'
        ? `${strings[nodes[i + iName]]}${type === 'object' ? '' : ` (${type})`}`
        : `(${type})`;
    const entry = by.get(label) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += size;
    by.set(label, entry);
  }
  return { by, total };
}

/** The `top` kinds of object that grew most between two snapshots, per job. */
export function perJob(base, peak, jobs, top = 12) {
  const rows = [];
  for (const [label, p] of peak.by) {
    const b = base.by.get(label) ?? { count: 0, bytes: 0 };
    rows.push({ label, bytes: p.bytes - b.bytes, count: p.count - b.count });
  }
  rows.sort((x, y) => y.bytes - x.bytes);
  const kb = (n) => (n / 1024).toFixed(1);
  return {
    totalPerJobKb: (peak.total - base.total) / 1024 / jobs,
    lines: rows
      .slice(0, top)
      .map(
        (r) =>
          `${r.label}: +${kb(r.bytes / jobs)} kB and +${(r.count / jobs).toFixed(1)} objects per job`,
      ),
  };
}
