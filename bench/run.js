// Runs the benchmarks and prints their figures; `--smoke` runs each once, quickly, as `make validate` does.
import { benchStartup } from './startup.js';

const smoke = process.argv.includes('--smoke');
console.log(`vm-orchestrator benchmarks${smoke ? ' (smoke run)' : ''} — node ${process.version}`);
await benchStartup({ runs: smoke ? 1 : 5 });
