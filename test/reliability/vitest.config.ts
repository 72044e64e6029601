// The reliability suite: `npm run test:reliability` (and .ci/run). Kept out of `vitest run`: each file drives a whole
// local stack through faults and load for a minute or more. One file at a time on a two-core machine, so no file's
// timing depends on another's; the reporter turns the figures each case records into docs/RELIABILITY.md.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/reliability/**/*.test.ts'],
    // Bounded waits only: generous enough for a busy machine, short enough that a hang fails instead of stalling CI.
    testTimeout: 300_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ['default', './test/reliability/reporter.ts'],
  },
});
