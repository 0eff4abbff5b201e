import { defineConfig } from 'vitest/config'

/**
 * The reliability suite (`npm run test:reliability`): load with hostile traffic, faults, fuzzing,
 * timing and secret-leak checks. One file at a time in one forked process — the load and timing
 * tests measure the machine and must not share it with each other. Durations are bounded:
 * KEYWARD_RELIABILITY_SECONDS (default 20) sets the hostile-load window, KEYWARD_FUZZ_RUNS
 * (default 100 000) the in-process fuzz runs per parser.
 */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    setupFiles: ['test/setup/secret-guard.ts'],
  },
})
