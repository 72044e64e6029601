import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/reliability/**', 'test/e2e/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: run files in a couple of forks, never more, so database suites do not starve each other.
    pool: 'forks',
    maxWorkers: 2,
  },
});
