/**
 * Builds the web console into web/dist/ — the folder the local stack serves at `/` and the static site deploys:
 * `npx tsx web/build.ts [--out <dir>] [--config <file.json>]`. `npm start` calls {@link buildConsoleIfStale} beside
 * the stack instead: it rebuilds only when the sources changed, and never holds up the API.
 *
 * One esbuild pass, well under a second: the app is a single ES module, and Mux Player (most of the bytes) is split
 * into a chunk loaded on the first Play, so sign-in and upload never wait for it. Nothing comes from a CDN.
 * Built files are not committed: they would go stale against web/src and bloat every diff.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

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

/** Written into a local build's folder (local config, minified): the digest of what it was made from. */
const inputsFile = '.inputs-digest';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name)).sort();
}

async function contentOrEmpty(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * A digest of everything the local build depends on: web/src, this file, its config, and the installed packages
 * (npm rewrites node_modules/.package-lock.json on every install). Contents, not mtimes: a checkout or copy that
 * touches files without changing them does not force a rebuild, and an edit always does.
 */
async function localInputsDigest(): Promise<string> {
  const hash = createHash('sha256');
  const sources = [...(await filesUnder(join(webRoot, 'src'))), fileURLToPath(import.meta.url)];
  for (const file of sources) hash.update(`${relative(webRoot, file)}\0`).update(await readFile(file)).update('\0');
  hash.update(await contentOrEmpty(join(webRoot, '..', 'node_modules', '.package-lock.json'))).update('\0');
  return hash.update(JSON.stringify(localConsoleConfig)).digest('hex');
}

export async function buildConsole(options: BuildConsoleOptions = {}): Promise<{ outDir: string; files: string[] }> {
  const outDir = resolve(options.outDir ?? defaultOutDir);
  // Taken before the build: an edit made while it runs leaves the output stale, and the next check rebuilds.
  const digest = options.config === undefined && options.minify !== false ? await localInputsDigest() : undefined;
  // Loaded here, not at the top: `npm start` imports this module and must not pay for esbuild when nothing changed.
  const { build } = await import('esbuild');
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
  if (digest !== undefined) await writeFile(join(outDir, inputsFile), `${digest}\n`);
  const files = [...Object.keys(result.metafile.outputs), 'index.html', 'styles.css', 'config.json'];
  return { outDir, files };
}

/**
 * Rebuilds the local console into web/dist only when its inputs changed since the last build. The new build is made
 * beside web/dist and swapped in, so the folder being served is never half-written.
 */
export async function buildConsoleIfStale(): Promise<{ readonly rebuilt: boolean; readonly outDir: string }> {
  const built = (await contentOrEmpty(join(defaultOutDir, inputsFile))).trim();
  if (built === (await localInputsDigest())) return { rebuilt: false, outDir: defaultOutDir };
  // A folder named dist, like the output, so git ignores it even if a kill leaves it behind.
  const scratch = join(webRoot, `.console-build-${process.pid}`);
  const next = join(scratch, 'dist');
  try {
    await buildConsole({ outDir: next });
    await rm(defaultOutDir, { recursive: true, force: true });
    await rename(next, defaultOutDir);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { rebuilt: true, outDir: defaultOutDir };
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
