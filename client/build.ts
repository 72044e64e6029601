/**
 * Builds the client for apps: `npm run build:client` writes client/dist/index.js (one ES module for browsers and
 * Node, no dependencies) and its type declarations, which package.json exports as `reelay/client`. Not shipped
 * itself, so it may use the repository's build tools.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const clientRoot = dirname(fileURLToPath(import.meta.url));
export const clientDist = join(clientRoot, 'dist');

export async function buildClient(): Promise<{ readonly bytes: number }> {
  await rm(clientDist, { recursive: true, force: true });
  const result = await build({
    entryPoints: [join(clientRoot, 'index.ts')],
    outfile: join(clientDist, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  });
  const typescript = join(clientRoot, '..', 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [typescript, '-p', join(clientRoot, 'tsconfig.build.json')]);
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + (output.entryPoint ? output.bytes : 0), 0);
  return { bytes };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { bytes } = await buildClient();
  console.log(`client/dist/index.js: ${(bytes / 1024).toFixed(1)} KiB (unminified), declarations in client/dist/`);
}
