#!/usr/bin/env node
// The `vm-orchestrator` command: runs the built server (npm ci && npm run build first).
import { main } from '../server/dist/main.js';

main().catch((err) => {
  process.stderr.write(
    `vm-orchestrator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
