#!/usr/bin/env node
// Checks an audit export offline (docs/AUDIT.md): `node scripts/audit-verify.mjs FILE.jsonl`
// (or `-` for stdin). Recomputes every entry's hash from its content and the hash before it, as
// the server does (server/src/audit/chain.ts; build first: npm run build), and says whether the
// export holds together and where it breaks. An export of a slice starts from its first entry's
// prevHash: compare that, and the last hash, with another copy (an earlier export, the DynamoDB
// backup) to tie the slice to the rest. `--from-start` also requires the chain's very start (64
// zeros), `--anchor HASH` a given starting hash (after retention: GET /api/audit/verify's anchor).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

const { ChainCheck, ZERO_HASH } = await import('../server/dist/audit/chain.js').catch(() => {
  console.error('audit-verify: build the server first (npm run build)');
  process.exit(2);
});

const args = process.argv.slice(2);
let file = null;
let required = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--from-start') required = ZERO_HASH;
  else if (args[i] === '--anchor') required = args[++i] ?? '';
  else file ??= args[i];
}
if (!file || required === '') {
  console.error('usage: node scripts/audit-verify.mjs FILE.jsonl|- [--from-start | --anchor HASH]');
  process.exit(2);
}

const input = file === '-' ? process.stdin : createReadStream(file);
let check = null;
let first = null;
let last = null;
let lineNo = 0;
for await (const text of createInterface({ input, crlfDelay: Infinity })) {
  lineNo++;
  if (!text.trim()) continue;
  let line;
  try {
    line = JSON.parse(text);
  } catch {
    console.error(`line ${lineNo}: not JSON (export with format=jsonl)`);
    process.exit(1);
  }
  if (!check) {
    first = line;
    const start = required ?? line.prevHash;
    check = new ChainCheck({ id: 0, hash: start });
  }
  if (!check.next(line)) {
    const { id, reason } = check.firstBroken;
    console.log(`BROKEN at #${id} (line ${lineNo}): ${reason}`);
    if (check.verifiedUpTo) console.log(`verified up to #${check.verifiedUpTo}`);
    process.exit(1);
  }
  last = line;
}
if (!check) {
  console.log('empty export: nothing to check');
  process.exit(0);
}
console.log(`OK: ${check.checked} entries, #${first.id} to #${last.id}, each link holds`);
console.log(
  `starts from prevHash ${first.prevHash}${first.prevHash === ZERO_HASH ? ' (the start of the chain)' : ''}`,
);
console.log(`ends with hash      ${last.hash}`);
