// The docs' snippets: `npm run test:docs` (and .ci/run). Kept out of `vitest run`: it pastes every block of README.md
// and docs/*.md into a shell against a real `npm start` (three stack starts, the README's 110 MB multipart upload),
// several minutes that every `npm test` would otherwise pay.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/docs/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 1,
    execArgv: ['--disable-warning=NodeVersionSupportWarning'],
  },
});
