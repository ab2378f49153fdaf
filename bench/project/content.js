// The deterministic output of the benchmark targets, shared by the generator (gen.js) and the
// benchmarks that check what they received byte for byte.

/** `blast`: 1 MiB blocks of 16384 lines of 64 bytes, each line numbered (so no two lines are equal). */
export const BLOCK_BYTES = 1024 * 1024;
const LINE = 64;
const LINES_PER_BLOCK = BLOCK_BYTES / LINE;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function blastTemplate() {
  const buf = Buffer.alloc(BLOCK_BYTES);
  for (let i = 0; i < LINES_PER_BLOCK; i++) {
    const at = i * LINE;
    // "NNNNNNNNNN " then 52 characters of the alphabet, rotated by the line, then "\n".
    buf[at + 10] = 0x20;
    for (let j = 0; j < 52; j++) buf[at + 11 + j] = ALPHABET.charCodeAt((i + j) % ALPHABET.length);
    buf[at + LINE - 1] = 0x0a;
  }
  return buf;
}
let template = null; // built on first use: a `steady` or `tick` process never needs it

/** Block `k` (from 0) of the `blast` output; fills and returns `into` when given. */
export function blastBlock(k, into = Buffer.allocUnsafe(BLOCK_BYTES)) {
  (template ??= blastTemplate()).copy(into);
  let n = k * LINES_PER_BLOCK;
  for (let i = 0; i < LINES_PER_BLOCK; i++, n++) {
    let v = n;
    for (let d = i * LINE + 9; d >= i * LINE; d--) {
      into[d] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    }
  }
  return into;
}

/** `steady`: line `n` (from 1) of job `tag`, exactly 100 bytes with its "\n". */
export const STEADY_LINE = 100;
export function steadyLine(tag, n) {
  const head = `${tag} ${String(n).padStart(8, '0')} `;
  let fill = '';
  for (let i = 0; fill.length < STEADY_LINE - 1 - head.length; i++)
    fill += ALPHABET[(n + i) % ALPHABET.length];
  return head + fill + '\n';
}

/** The whole stdout of a `steady` job. */
export function steadyText(tag, rate, seconds) {
  const lines = steadyLineCount(rate, seconds);
  const out = [];
  for (let n = 1; n <= lines; n++) out.push(steadyLine(tag, n));
  return out.join('');
}

export function steadyLineCount(rate, seconds) {
  return Math.floor((rate * seconds) / STEADY_LINE);
}
