import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/reliability/**', 'test/e2e/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // PGlite clusters at every schema version, made once per run; each test database loads one.
    globalSetup: ['test/support/pglite-templates.ts'],
    // Two cores: run files in a couple of forks, never more, so database suites do not starve each other.
    pool: 'forks',
    maxWorkers: 2,
    // The AWS SDK warns on every import that its 2027 releases will need Node 22. reelay's Lambdas run Node 22;
    // Node 20 is supported for local work, and the warning would drown the test output.
    execArgv: ['--disable-warning=NodeVersionSupportWarning'],
  },
});
