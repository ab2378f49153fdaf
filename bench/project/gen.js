// Output generator behind the targets of bench/project/Makefile:
//   node gen.js tick N MS            N lines, one every MS ms: "tick <n> <epoch ms, µs precision>"
//   node gen.js blast MB             MB blocks of 1 MiB, as fast as stdout takes them
//   node gen.js steady RATE SECONDS TAG   ~RATE bytes/s of 100-byte lines for SECONDS seconds
import { writeSync } from 'node:fs';
import { BLOCK_BYTES, blastBlock, steadyLine, steadyLineCount, STEADY_LINE } from './content.js';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Writes all of `buf` to stdout, synchronously, riding out EAGAIN on a non-blocking pipe. */
function writeAll(buf) {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'tick') {
  const n = Number(rest[0] ?? 1000);
  const ms = Number(rest[1] ?? 10);
  const start = performance.now();
  for (let i = 1; i <= n; i++) {
    await sleep(start + i * ms - performance.now());
    writeAll(Buffer.from(`tick ${i} ${now().toFixed(3)}\n`));
  }
} else if (mode === 'blast') {
  const mb = Number(rest[0] ?? 200);
  const buf = Buffer.allocUnsafe(BLOCK_BYTES);
  for (let k = 0; k < mb; k++) writeAll(blastBlock(k, buf));
} else if (mode === 'steady') {
  const rate = Number(rest[0] ?? 10000);
  const seconds = Number(rest[1] ?? 60);
  const tag = rest[2] ?? 'job';
  const total = steadyLineCount(rate, seconds);
  const start = performance.now();
  let written = 0;
  // Every 100 ms, write the lines due by then (drift-free: the schedule is from the start).
  for (let tickNo = 1; written < total; tickNo++) {
    await sleep(start + tickNo * 100 - performance.now());
    const due = Math.min(
      total,
      Math.floor((((performance.now() - start) / 1000) * rate) / STEADY_LINE),
    );
    let text = '';
    for (; written < due;) text += steadyLine(tag, ++written);
    if (text) writeAll(Buffer.from(text));
  }
} else {
  process.stderr.write(`usage: node gen.js tick N MS | blast MB | steady RATE SECONDS TAG\n`);
  process.exit(2);
}
