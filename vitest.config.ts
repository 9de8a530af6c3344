import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Ceilings, not expectations (no test asserts a time): argon2id hashing, Python and Chromium take many
    // times longer on a small machine busy with other work. Tests that spawn `crew` set their own, longer
    // limit (SPAWN_TEST_TIMEOUT_MS in test/helpers/run-crew.ts).
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One worker per core the process may use: more only makes every test slower on a small, busy machine.
    maxWorkers: Math.max(1, availableParallelism()),
    globalSetup: ['test/helpers/build-dist.ts'],
  },
});
