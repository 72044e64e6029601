// Flat config: typescript-eslint's recommended rules, plus the project's own boundaries.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', 'dist/', 'web/dist/', 'client/dist/', 'test-results/', 'bench/results/', '.local/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // `import { z }` makes esbuild keep all of zod (~460 KiB) in every bundle; the namespace import lets it drop
    // what is unused (docs/PERFORMANCE.md, P2).
    files: ['shared/**/*.ts', 'functions/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[importKind!='type'][source.value='zod'] > ImportSpecifier[importKind!='type']",
          message: "Import zod as a namespace (`import * as z from 'zod'`) so bundles can drop what is unused.",
        },
      ],
    },
  },
  {
    // The domain never reaches back into Lambdas or infrastructure, and never uses `any`.
    files: ['shared/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': ['error', { patterns: ['**/functions/**', '**/infra/**', '**/local/**', '**/test/**'] }],
    },
  },
  {
    // Configuration is read once, at each function's edge (functions/*/handler.ts, shared/runtime/) and by CLI entry
    // points; everything else in shared/ gets typed configuration passed down.
    files: ['shared/**/*.ts'],
    ignores: ['shared/runtime/**', 'shared/migrations/cli.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration at the edge (shared/runtime/, functions/*/handler.ts) and pass it down typed.' }],
    },
  },
  {
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/infra/**', '**/local/**', '**/test/**'] }],
    },
  },
  {
    // The CDK app reads functions/routes.json as data and names entry files as paths for esbuild; it never loads
    // runtime code, so a synth cannot depend on (or start) what the functions import.
    files: ['infra/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/functions/**', '!**/functions/routes.json'], message: 'infra/ reads functions/routes.json and names entry paths; it never imports function code.' },
            { group: ['**/shared/**', '**/local/**', '**/test/**', '**/web/**', '**/bench/**'], message: 'infra/ never imports runtime, local or test code.' },
          ],
        },
      ],
    },
  },
  {
    // The client is what apps install: it depends on nothing, not even on the rest of this repository.
    files: ['client/**/*.ts'],
    ignores: ['client/build.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./)', message: 'client/ imports only its own modules: it has no dependencies.' }] }],
    },
  },
  {
    // The local stack runs the functions and the domain as AWS would; it never depends on the CDK app or the tests.
    files: ['local/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/infra/**', '**/test/**', '**/bench/**'] }],
    },
  },
  {
    // The post-deploy check is a client of the API, like curl: it may read shared/ types, never run the functions.
    files: ['local/verify/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/functions/**', '**/infra/**', '**/test/**', '**/bench/**'] }],
    },
  },
  {
    // No import cycles anywhere in the runtime code, type-only imports included: a cycle is a module that should be
    // split or merged, whether or not it survives compilation.
    files: ['shared/**/*.ts', 'functions/**/*.ts', 'local/**/*.ts', 'infra/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
);
