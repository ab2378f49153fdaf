import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests run against the protocol's source, so a change there needs no rebuild first.
    alias: {
      '@vmo/protocol': fileURLToPath(new URL('../packages/protocol/src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    reporters: ['default', './test/fixtures/failed-last.reporter.ts'],
    globalSetup: ['test/fixtures/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll gives up after 1 s by default: too short for a job to start on a loaded CI
    // machine (it failed there once). A poll ends as soon as it passes, so this only bounds a wait.
    expect: { poll: { timeout: 5_000 } },
    // Two cores: files in parallel, each with its own database.
    fileParallelism: true,
    maxWorkers: 2,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.test.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      // Seed 004: the execution manager (jobs and runners) stays at 95 % or better, each metric.
      thresholds: {
        'src/jobs/**/*.ts': { lines: 95, statements: 95, functions: 95, branches: 95 },
        'src/runners/**/*.ts': { lines: 95, statements: 95, functions: 95, branches: 95 },
        // Spawning, environments and process groups, under the runners since issue 21.
        'src/process/**/*.ts': { lines: 95, statements: 95, functions: 95, branches: 95 },
      },
    },
  },
});
