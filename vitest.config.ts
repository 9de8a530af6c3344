import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // In-process tests; tests that spawn processes set their own, longer limits (test/helpers/run-crew.ts).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One worker per core the process may use: more only makes every test slower on a small, busy machine.
    maxWorkers: Math.max(1, availableParallelism()),
    globalSetup: ['test/helpers/build-dist.ts'],
  },
});
