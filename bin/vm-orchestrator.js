#!/usr/bin/env node
// The `vm-orchestrator` command: runs the built server (npm ci && npm run build first), bundled in
// one file (server/scripts/bundle.mjs).
import module from 'node:module';

// Node ≥ 22.1 (the image's 24): V8 keeps what it compiled of the bundle in the OS temp dir, so
// every start after the first skips most of compiling it (docs/PERFORMANCE.md, "Start to ready").
module.enableCompileCache?.();
const { failed, main } = await import('../server/dist/vm-orchestrator.js');

main().catch(failed);
