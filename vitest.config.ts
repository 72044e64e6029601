import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/reliability/**', 'test/e2e/**', 'test/docs/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // PGlite clusters at every schema version, made once per run; each test database loads one.
    globalSetup: ['test/support/pglite-templates.ts'],
    // Two cores: run files in a couple of forks, never more, so database suites do not starve each other.
    pool: 'forks',
    maxWorkers: 2,
    // Files in a fork share its module graph instead of re-importing the AWS SDK, PGlite and the stack for each of
    // the ~70 files: that import and transform time was a large share of the run. Tests therefore must not leave
    // global state behind (process.env, fake timers, module-level caches keyed by anything but their inputs).
    isolate: false,
    // The AWS SDK warns on every import that its 2027 releases will need Node 22. reelay's Lambdas run Node 22;
    // Node 20 is supported for local work, and the warning would drown the test output.
    execArgv: ['--disable-warning=NodeVersionSupportWarning'],
  },
});
