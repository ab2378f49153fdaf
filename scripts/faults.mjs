#!/usr/bin/env node
// The fault suite, on its own, and its table in docs/RELIABILITY.md: runs the fault tests (the
// same ones `make test` runs) with VMO_FAULT_REPORT set, sums what each fault test reported
// (test/fixtures/fault-report.ts) and rewrites the table between the markers.
// Usage: npm run faults
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILES = [
  'test/integration/faults.postgres.test.ts',
  'test/integration/cli.test.ts',
  'test/integration/jobs.faults.test.ts',
  'test/integration/odd-bytes.test.ts',
  'test/integration/job-env.test.ts',
];
const doc = path.join(root, 'docs/RELIABILITY.md');
const BEGIN = '<!-- faults:begin (npm run faults) -->';
const END = '<!-- faults:end -->';

const dir = mkdtempSync(path.join(tmpdir(), 'vmo-faults-'));
const report = path.join(dir, 'faults.jsonl');
const run = spawnSync('npx', ['vitest', 'run', ...FILES], {
  cwd: path.join(root, 'server'),
  env: { ...process.env, VMO_FAULT_REPORT: report },
  stdio: 'inherit',
});
const tries = existsSync(report)
  ? readFileSync(report, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
rmSync(dir, { recursive: true, force: true });

const rows = new Map();
for (const t of tries) {
  const row = rows.get(t.fault) ?? {
    fault: t.fault,
    tries: 0,
    written: null,
    stored: null,
    crashes: 0,
    held: [],
  };
  row.tries += t.tries;
  if (t.bytesWritten !== undefined) {
    row.written = (row.written ?? 0) + t.bytesWritten;
    row.stored = (row.stored ?? 0) + t.bytesStored;
  }
  row.crashes += t.crashes;
  row.held.push(t.held);
  rows.set(t.fault, row);
}
const n = (x) => x.toLocaleString('en-US');
const table = [
  '| Fault | Tries | Bytes written | Bytes lost | Crashes | What held |',
  '| --- | ---: | ---: | ---: | ---: | --- |',
  ...[...rows.values()].map(
    (r) =>
      `| ${r.fault} | ${r.tries} | ${r.written === null ? '—' : n(r.written)} | ${r.written === null ? '—' : n(r.written - r.stored)} | ${r.crashes} | ${[...new Set(r.held)].join('; ')} |`,
  ),
];
const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
const block = [
  BEGIN,
  '',
  `Last run ${when} UTC on ${process.platform}/${process.arch}, Node ${process.version}: the fault tests ${run.status === 0 ? 'passed' : `FAILED (exit ${run.status})`}.`,
  '',
  ...table,
  '',
  END,
].join('\n');
const text = readFileSync(doc, 'utf8');
const a = text.indexOf(BEGIN);
const b = text.indexOf(END);
if (a < 0 || b < a) throw new Error(`docs/RELIABILITY.md has no ${BEGIN} … ${END} block`);
writeFileSync(doc, text.slice(0, a) + block + text.slice(b + END.length));
// As `make test`'s prettier --check wants it (aligned table columns).
spawnSync('npx', ['prettier', '--write', doc], { cwd: root, stdio: 'ignore' });
console.log(`\n${table.join('\n')}\n\nwritten to docs/RELIABILITY.md`);
process.exit(run.status ?? 1);
