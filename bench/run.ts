/**
 * `npm run bench [-- p1 p3 …] [--quick]`: runs reelay's benchmarks, saves bench/results/<name>.json and
 * rewrites docs/PERFORMANCE.md from every full result on disk. See docs/PERFORMANCE.md for what each one measures.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import {
  loadFullResults,
  machineInfo,
  reproduceCommand,
  rowsTable,
  saveResult,
  writeReport,
  type Benchmark,
  type SavedResult,
} from './support/report.js';

/** Loaded one at a time, so a benchmark whose code does not load yet cannot stop the others. */
const benchmarks: Record<string, () => Promise<Benchmark>> = {
  p1: async () => (await import('./p1-data-api-calls.js')).benchmark,
  p2: async () => (await import('./p2-cold-init.js')).benchmark,
  p3: async () => (await import('./p3-migration-stall.js')).benchmark,
  p4: async () => (await import('./p4-multipart-upload.js')).benchmark,
  p5: async () => (await import('./p5-pagination.js')).benchmark,
  p6: async () => (await import('./p6-local-start.js')).benchmark,
};

const usage = `usage: npm run bench -- [${Object.keys(benchmarks).join('|')} …] [--quick]`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { quick: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const selected = positionals.length === 0 ? Object.keys(benchmarks) : positionals.map((name) => name.toLowerCase());
  const unknown = selected.filter((name) => !(name in benchmarks));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}\n${usage}\n`);
    return 2;
  }
  const quick = values.quick;
  let failures = 0;
  for (const name of selected) {
    const log = (message: string) => process.stdout.write(`[${name}] ${message}\n`);
    try {
      const benchmark = await (benchmarks[name] as () => Promise<Benchmark>)();
      log(`${benchmark.title}${quick ? ' (quick)' : ''}`);
      const machine = machineInfo();
      const startedAt = new Date().toISOString();
      const started = performance.now();
      const outcome = await benchmark.run({ quick, log });
      const result: SavedResult = {
        benchmark: name,
        title: benchmark.title,
        baselineDescription: benchmark.baseline,
        quick,
        startedAt,
        durationMs: Math.round(performance.now() - started),
        machine,
        reproduce: `${reproduceCommand(name)}${quick ? ' --quick' : ''}`,
        ...outcome,
      };
      const path = await saveResult(result);
      process.stdout.write(`\n${rowsTable(result.rows)}\n\n`);
      log(`saved ${path} (${(result.durationMs / 1000).toFixed(1)} s)`);
    } catch (error) {
      failures += 1;
      log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
  if (!quick) {
    const path = await writeReport(await loadFullResults());
    process.stdout.write(`report: ${path}\n`);
  }
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
