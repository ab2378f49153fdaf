#!/usr/bin/env node
// The `vm-orchestrator` command: runs the built server (npm ci && npm run build first).
import { failed, main } from '../server/dist/vm-orchestrator.js';

main().catch(failed);
