/**
 * What a benchmark returns, how results are saved (bench/results/<name>.json) and how docs/PERFORMANCE.md is written
 * from every saved result. Quick runs are saved apart (bench/results/tmp/) and never reach the report: the report
 * states the full sizes only.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repositoryRoot } from './paths.js';

/** One line of the report: a figure for reelay, the baseline measured in the same run, and the goal. */
export interface ResultRow {
  readonly label: string;
  /** reelay's figure, as text with its unit (e.g. "1 call", "212 ms"). */
  readonly figure: string;
  /** The baseline's figure in the same run, or "—" when the goal is absolute. */
  readonly baseline: string;
  /** reelay ÷ baseline (or the figure ÷ the goal's reference), null when there is no ratio. */
  readonly ratio: number | null;
  readonly goal: string;
  /** null when the goal could not be judged on this machine (see `why`). */
  readonly met: boolean | null;
  /** Why the goal is met or not: what dominates, what to change. */
  readonly why: string;
}

export interface BenchmarkOutcome {
  readonly rows: readonly ResultRow[];
  /** Sizes, counts, backend: everything needed to reproduce the figures. */
  readonly parameters: Readonly<Record<string, unknown>>;
  /** The raw measurements behind the rows. */
  readonly samples: Readonly<Record<string, unknown>>;
  /** Caveats that hold for the whole benchmark (e.g. "PGlite, not PostgreSQL"). */
  readonly notes?: readonly string[];
  /** Further Markdown tables for the report section (e.g. a before/after comparison). */
  readonly tables?: readonly string[];
}

export interface BenchmarkContext {
  readonly quick: boolean;
  /** Progress lines for the console (not saved). */
  log(message: string): void;
}

export interface Benchmark {
  /** `p1` … `p6`: the id used on the command line and as the results file name. */
  readonly name: string;
  readonly title: string;
  /** What "the same run" compares against, in one sentence for the report. */
  readonly baseline: string;
  run(context: BenchmarkContext): Promise<BenchmarkOutcome>;
}

export interface MachineInfo {
  readonly cpuCount: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  /** 1-minute load average when the benchmark started: the machine is shared, so this says how quiet it was. */
  readonly loadAverage1m: number;
}

export interface SavedResult extends BenchmarkOutcome {
  readonly benchmark: string;
  readonly title: string;
  readonly baselineDescription: string;
  readonly quick: boolean;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly machine: MachineInfo;
  readonly reproduce: string;
}

export const resultsDir = join(repositoryRoot, 'bench', 'results');
const quickResultsDir = join(resultsDir, 'tmp');
const reportPath = join(repositoryRoot, 'docs', 'PERFORMANCE.md');

export function machineInfo(): MachineInfo {
  const cores = cpus();
  return {
    cpuCount: cores.length,
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

export function reproduceCommand(name: string): string {
  return `npm run bench -- ${name}`;
}

export async function saveResult(result: SavedResult): Promise<string> {
  const dir = result.quick ? quickResultsDir : resultsDir;
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${result.benchmark}.json`);
  await writeFile(path, `${JSON.stringify(result, jsonReplacer, 2)}\n`);
  return path;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

export async function loadFullResults(): Promise<SavedResult[]> {
  const names = (await readdir(resultsDir).catch(() => [] as string[])).filter((name) => /^p\d+\.json$/.test(name)).sort();
  return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(resultsDir, name), 'utf8')) as SavedResult));
}

export function formatRatio(ratio: number | null): string {
  if (ratio === null) return '—';
  if (ratio === 0) return '0×';
  return ratio >= 10 ? `${ratio.toFixed(0)}×` : ratio >= 0.1 ? `${ratio.toFixed(2)}×` : `${ratio.toPrecision(2)}×`;
}

function verdict(met: boolean | null): string {
  return met === null ? 'not judged' : met ? 'met' : '**missed**';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The rows as a Markdown table (also printed to the console after each benchmark). */
export function rowsTable(rows: readonly ResultRow[]): string {
  const lines = ['| What | reelay | Baseline (same run) | Ratio | Goal | Met | Why |', '|---|---|---|---|---|---|---|'];
  for (const row of rows) {
    lines.push(`| ${[row.label, row.figure, row.baseline, formatRatio(row.ratio), row.goal, verdict(row.met), row.why].map(cell).join(' | ')} |`);
  }
  return lines.join('\n');
}

export async function writeReport(results: readonly SavedResult[]): Promise<string> {
  const summary = results.flatMap((result) =>
    result.rows.map((row) => `| ${result.benchmark.toUpperCase()} | ${cell(row.label)} | ${cell(row.figure)} | ${cell(row.baseline)} | ${formatRatio(row.ratio)} | ${cell(row.goal)} | ${verdict(row.met)} |`),
  );
  const sections = results.map((result) => {
    const machine = result.machine;
    const parameters = Object.entries(result.parameters).map(([key, value]) => `\`${key}\` = \`${JSON.stringify(value, jsonReplacer)}\``).join(', ');
    return [
      `## ${result.benchmark.toUpperCase()} — ${result.title}`,
      '',
      `Baseline: ${result.baselineDescription}`,
      '',
      rowsTable(result.rows),
      '',
      ...(result.tables ?? []).flatMap((table) => [table, '']),
      ...(result.notes && result.notes.length > 0 ? [...result.notes.map((note) => `- ${note}`), ''] : []),
      `Run ${result.startedAt} in ${(result.durationMs / 1000).toFixed(1)} s on ${machine.cpuCount} × ${machine.cpuModel}, ` +
        `${machine.memoryGiB} GiB, Node ${machine.node} (${machine.platform}), load ${machine.loadAverage1m} at start. ` +
        `Parameters: ${parameters}.`,
      '',
      `Reproduce: \`${result.reproduce}\` (raw samples: \`bench/results/${result.benchmark}.json\`).`,
      '',
    ].join('\n');
  });
  const text = [
    '# reelay performance',
    '',
    '<!-- Generated by `npm run bench` (bench/run.ts) from bench/results/*.json. Do not edit by hand. -->',
    '',
    'Every figure is measured side by side with its baseline in the same run on the same machine (runs of the two are',
    'interleaved where possible, so machine noise hits both alike), and reported as a ratio. The machine these figures',
    'come from has 2 cores shared with other work: absolute times are noisy, ratios much less so. Benchmarks are not',
    'tests: nothing here fails a build.',
    '',
    '- `npm run bench` runs everything at the sizes stated below (about 5 minutes here) and rewrites this page.',
    '- `npm run bench -- p3 p5` runs some of them; the other sections keep their last full run.',
    '- `npm run bench -- --quick` runs smaller sizes (under 2 minutes) as a smoke check; quick results go to',
    '  `bench/results/tmp/` and never into this page.',
    '- With `DATABASE_URL` set (e.g. `postgres://postgres@127.0.0.1:5432/test`) the database benchmarks create',
    '  throwaway databases on that PostgreSQL; without it they use embedded PGlite and say so.',
    '',
    '## Summary',
    '',
    '| # | What | reelay | Baseline | Ratio | Goal | Met |',
    '|---|---|---|---|---|---|---|',
    ...summary,
    '',
    ...sections,
  ].join('\n');
  await writeFile(reportPath, text);
  return reportPath;
}
