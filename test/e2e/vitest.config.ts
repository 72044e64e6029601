// The browser suites: `npm run test:e2e`. Kept out of `vitest run` (they need Chromium and take a while); one file at
// a time, since each starts a whole local stack and a browser on a two-core machine.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 1,
    // The AWS SDK warns on every import that its 2027 releases will need Node 22. reelay's Lambdas run Node 22;
    // Node 20 is supported for local work, and the warning would drown the test output.
    execArgv: ['--disable-warning=NodeVersionSupportWarning'],
    fileParallelism: false,
  },
});
