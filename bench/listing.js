// First listing of a project's targets (issue 17: the isolation may add at most 150 ms): the largest
// of the test Makefiles, listed as the catalog lists it (in the sandbox) and, on a throwaway copy,
// the way it was listed before the sandbox (bare `make -pRrq :`, parsed the same way). Both sides
// in one run, interleaved, so the machine's load weighs on each alike.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const fixtures = fileURLToPath(new URL('../server/test/fixtures/makefiles', import.meta.url));
const { discoverTargets, fromMakeDatabase } = await import('../server/dist/catalog/makefile.js');

function largestMakefile() {
  let best = null;
  for (const name of readdirSync(fixtures)) {
    const file = path.join(fixtures, name, 'Makefile');
    try {
      if (!statSync(file).isFile()) continue;
    } catch {
      continue;
    }
    const lines = readFileSync(file, 'utf8').split('\n').length;
    if (!best || lines > best.lines) best = { dir: path.join(fixtures, name), lines };
  }
  if (!best) throw new Error(`no Makefile under ${fixtures}`);
  return best;
}

/** The old way, on a copy (bare make may write). */
async function bare(dir) {
  const copy = mkdtempSync(path.join(tmpdir(), 'vmo-bench-list-'));
  cpSync(dir, copy, { recursive: true });
  try {
    const t0 = performance.now();
    const { stdout, stderr } = await run(
      'make',
      ['-C', copy, '--no-print-directory', '-pRrq', ':'],
      { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 256 << 20 },
    ).catch((e) => e);
    const names =
      [...stdout.matchAll(/^MAKEFILE_LIST :?= (.*)$/gm)].at(-1)?.[1].trim().split(/\s+/) ?? [];
    const texts = names.map((name) => ({
      name: path.resolve(copy, name),
      text: readFileSync(path.resolve(copy, name), 'utf8'),
    }));
    const found = fromMakeDatabase(stdout, stderr, {
      texts,
      entries: new Set(readdirSync(copy)),
      locate: (n) => path.resolve(copy, n),
    });
    return { ms: performance.now() - t0, targets: found.targets.length };
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

async function isolated(dir) {
  const t0 = performance.now();
  const found = await discoverTargets(dir);
  if (found.listing.mode !== 'isolated') throw new Error(`not isolated: ${found.listing.reason}`);
  return { ms: performance.now() - t0, targets: found.targets.length };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchListing({ smoke = false } = {}) {
  const { dir, lines } = largestMakefile();
  const runs = smoke ? 3 : 21;
  const a = [];
  const b = [];
  let counts = null;
  for (let i = 0; i < runs; i++) {
    const x = await bare(dir);
    const y = await isolated(dir);
    a.push(x.ms);
    b.push(y.ms);
    counts = [x.targets, y.targets];
  }
  const added = median(b) - median(a);
  console.log(
    `listing: ${path.basename(dir)}/Makefile (${lines} lines), ${runs} runs each, interleaved\n` +
      `  bare make -pRrq (copy):  median ${median(a).toFixed(1)} ms (min ${Math.min(...a).toFixed(1)}, max ${Math.max(...a).toFixed(1)})\n` +
      `  in the sandbox:          median ${median(b).toFixed(1)} ms (min ${Math.min(...b).toFixed(1)}, max ${Math.max(...b).toFixed(1)})\n` +
      `  isolation adds:          ${added.toFixed(1)} ms (target ≤ 150 ms); targets listed ${counts[1]} (bare ${counts[0]})`,
  );
  return {
    name: 'listing',
    ok: counts[0] === counts[1],
    targetsMissed: added > 150 ? ['isolation overhead'] : [],
  };
}
