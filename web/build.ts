/**
 * Builds the web console into web/dist/ — the folder the local stack serves at `/` and the static site deploys:
 * `npx tsx web/build.ts [--out <dir>] [--config <file.json>]` (run by `npm start` before the stack starts).
 *
 * One esbuild pass, well under a second: the app is a single ES module, and Mux Player (most of the bytes) is split
 * into a chunk loaded on the first Play, so sign-in and upload never wait for it. Nothing comes from a CDN.
 * Built files are not committed: they would go stale against web/src and bloat every diff.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

export const webRoot = dirname(fileURLToPath(import.meta.url));
export const defaultOutDir = join(webRoot, 'dist');

/** What `config.json` holds locally: same-origin API, tokens from `npm run token`. */
export const localConsoleConfig = { auth: { kind: 'local' } } as const;

export interface BuildConsoleOptions {
  readonly outDir?: string;
  /** Written as config.json (see web/src/config.ts and docs/CONSOLE.md). Default {@link localConsoleConfig}. */
  readonly config?: unknown;
  readonly minify?: boolean;
}

export async function buildConsole(options: BuildConsoleOptions = {}): Promise<{ outDir: string; files: string[] }> {
  const outDir = resolve(options.outDir ?? defaultOutDir);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(webRoot, 'src', 'main.ts') },
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    chunkNames: 'chunks/[name]-[hash]',
    minify: options.minify ?? true,
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  await Promise.all(['index.html', 'styles.css'].map((file) => copyFile(join(webRoot, 'src', file), join(outDir, file))));
  await writeFile(join(outDir, 'config.json'), `${JSON.stringify(options.config ?? localConsoleConfig, null, 2)}\n`);
  const files = [...Object.keys(result.metafile.outputs), 'index.html', 'styles.css', 'config.json'];
  return { outDir, files };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, config: { type: 'string' } } });
  const started = performance.now();
  const config = values.config ? (JSON.parse(await readFile(values.config, 'utf8')) as unknown) : undefined;
  const { outDir } = await buildConsole({ ...(values.out && { outDir: values.out }), ...(config !== undefined && { config }) });
  process.stdout.write(`web console built into ${outDir} in ${Math.round(performance.now() - started)} ms\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    process.stderr.write(`web build failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}
