/**
 * P3: the Mux migration (0002 + 0003) on a large `videos` table while another connection keeps inserting, against a
 * naive migration of the same DDL (plain ALTER TABLE + CREATE INDEX in one transaction). What an uploader feels is
 * the longest time one INSERT waits, and whether any fails.
 */
import { performance } from 'node:perf_hooks';
import type { Driver } from '../shared/db/driver.js';
import { silentLogger } from '../shared/log.js';
import { createMigrator } from '../shared/migrations/engine.js';
import { migrations } from '../shared/migrations/index.js';
import { stepStatements } from '../shared/migrations/migration.js';
import { benchBackend, databaseTemplate, fillVideos, type BenchDatabase } from './support/databases.js';
import { median, ms, quantile, ratioOf, round, sleep } from './support/measure.js';
import type { Benchmark, BenchmarkContext, BenchmarkOutcome } from './support/report.js';

const fromVersion = 1;
const toVersion = 3;
/** One INSERT every this many ms (when the previous one has returned): a steady trickle of uploads. */
const insertPeriodMs = 5;
/** Inserts run this long before and after the migration, so the window around it is covered. */
const marginMs = 500;

/** The same DDL as migrations 0002 and 0003, the way a naive migration runs it: one transaction, no CONCURRENTLY. */
export function naiveMigrationStatements(): string[] {
  return migrations
    .filter((migration) => migration.version > fromVersion && migration.version <= toVersion)
    .flatMap((migration) => migration.steps.flatMap((step) =>
      step.kind === 'concurrent-index' ? [step.sql.replace(/\bINDEX CONCURRENTLY\b/, 'INDEX')] : [...stepStatements(step)]));
}

interface InsertStream {
  stop(): Promise<{ latencies: { at: number; ms: number }[]; failures: { at: number; error: string }[] }>;
}

function startInsertStream(session: Driver, origin: number): InsertStream {
  const latencies: { at: number; ms: number }[] = [];
  const failures: { at: number; error: string }[] = [];
  let running = true;
  let sequence = 0;
  const loop = (async () => {
    while (running) {
      sequence += 1;
      const started = performance.now();
      try {
        await session.execute(
          `INSERT INTO videos (owner_id, title, original_filename, content_type, size_bytes, s3_key)
           VALUES (:owner, :title, 'stream.mp4', 'video/mp4', 1048576, :key)`,
          { owner: 'stream-owner', title: `Stream ${sequence}`, key: `uploads/stream-${origin}-${sequence}/source.mp4` },
        );
        latencies.push({ at: round(started - origin, 1), ms: round(performance.now() - started, 3) });
      } catch (error) {
        failures.push({ at: round(started - origin, 1), error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      }
      const elapsed = performance.now() - started;
      if (elapsed < insertPeriodMs) await sleep(insertPeriodMs - elapsed);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { latencies, failures };
    },
  };
}

type Variant = 'reelay' | 'naive';

interface VariantRun {
  readonly variant: Variant;
  readonly migrationMs: number;
  readonly worstStallMs: number;
  readonly p99Ms: number;
  readonly medianMs: number;
  /** Worst INSERT latency in the margin before the migration started: the machine's own noise. */
  readonly quietWorstMs: number;
  readonly inserts: number;
  readonly failedInserts: number;
  readonly failures: { at: number; error: string }[];
  /** Every insert as [start ms since the stream began, latency ms]. */
  readonly latencies: [number, number][];
  readonly migrationWindow: [number, number];
}

async function migrate(variant: Variant, database: BenchDatabase): Promise<void> {
  if (variant === 'reelay') {
    await createMigrator({ driver: database.driver, logger: silentLogger }).up({ to: toVersion });
    return;
  }
  const statements = naiveMigrationStatements();
  await database.driver.transaction(async (tx) => {
    for (const sql of statements) await tx.execute(sql);
  });
}

async function runVariant(variant: Variant, database: BenchDatabase): Promise<VariantRun> {
  const session = await database.openSession();
  const origin = performance.now();
  const stream = startInsertStream(session, origin);
  await sleep(marginMs);
  const migrationStart = performance.now() - origin;
  await migrate(variant, database);
  const migrationEnd = performance.now() - origin;
  await sleep(marginMs);
  const { latencies, failures } = await stream.stop();
  // An INSERT that started before the migration but was still waiting when it began counts: that is the stall.
  const during = latencies.filter((sample) => sample.at + sample.ms >= migrationStart && sample.at <= migrationEnd).map((sample) => sample.ms);
  const quiet = latencies.filter((sample) => sample.at + sample.ms < migrationStart).map((sample) => sample.ms);
  return {
    variant,
    migrationMs: round(migrationEnd - migrationStart, 1),
    worstStallMs: round(Math.max(0, ...during), 2),
    p99Ms: round(quantile(during, 0.99), 2),
    medianMs: round(median(during), 2),
    quietWorstMs: round(Math.max(0, ...quiet), 2),
    inserts: latencies.length,
    failedInserts: failures.length,
    failures: failures.slice(0, 20),
    latencies: latencies.map((sample) => [sample.at, sample.ms]),
    migrationWindow: [round(migrationStart, 1), round(migrationEnd, 1)],
  };
}

async function run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
  const backend = benchBackend();
  const rows = backend === 'postgres' ? (context.quick ? 100_000 : 1_000_000) : context.quick ? 20_000 : 200_000;
  // reelay, naive, naive, reelay: each variant once early and once late, so drift in machine load evens out.
  const order: Variant[] = context.quick ? ['reelay', 'naive'] : ['reelay', 'naive', 'naive', 'reelay'];
  context.log(`building a ${rows.toLocaleString('en')}-row videos table at migration ${fromVersion} on ${backend}`);
  const buildStart = performance.now();
  const template = await databaseTemplate(async (database) => {
    await createMigrator({ driver: database.driver, logger: silentLogger }).up({ to: fromVersion });
    await fillVideos(database.driver, rows, { owners: 1000 });
  });
  context.log(`template built in ${((performance.now() - buildStart) / 1000).toFixed(1)} s`);
  const runs: VariantRun[] = [];
  try {
    for (const variant of order) {
      const database = await template.copy();
      try {
        const result = await runVariant(variant, database);
        context.log(`${variant}: migration ${ms(result.migrationMs)}, worst insert ${ms(result.worstStallMs)}, ${result.inserts} inserts, ${result.failedInserts} failed`);
        runs.push(result);
      } finally {
        await database.dispose();
      }
    }
  } finally {
    await template.dispose();
  }
  const of = (variant: Variant) => runs.filter((each) => each.variant === variant);
  // Conservative: reelay's worst round against the naive migration's mildest round.
  const reelayWorst = Math.max(...of('reelay').map((each) => each.worstStallMs));
  const naiveMildest = Math.min(...of('naive').map((each) => each.worstStallMs));
  const reelayFailed = of('reelay').reduce((sum, each) => sum + each.failedInserts, 0);
  const naiveFailed = of('naive').reduce((sum, each) => sum + each.failedInserts, 0);
  const ratio = ratioOf(reelayWorst, naiveMildest);
  const stallMet = ratio !== null && ratio <= 1 / 20;
  const quietWorst = Math.max(...runs.map((each) => each.quietWorstMs));
  const reelayMigrationMs = median(of('reelay').map((each) => each.migrationMs));
  const naiveMigrationMs = median(of('naive').map((each) => each.migrationMs));
  const notes = [
    `Backend: ${backend === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite (DATABASE_URL not set), on a smaller table; PGlite has one session, so the "other connection" shares it and every statement, CONCURRENTLY or not, runs alone'}.`,
    `Each variant runs on its own copy of one freshly built ${rows.toLocaleString('en')}-row table (CREATE DATABASE … TEMPLATE), order ${order.join(', ')}; an INSERT is issued every ${insertPeriodMs} ms from a separate connection from ${marginMs} ms before the migration until ${marginMs} ms after it.`,
    `The naive migration is the same DDL as 0002 + 0003 (generated from the migration files) with CONCURRENTLY removed, in one transaction: the ALTER's ACCESS EXCLUSIVE lock is held until every index is built.`,
    `Worst insert latency with no migration running (machine noise floor): ${ms(quietWorst)}.`,
  ];
  return {
    rows: [
      {
        label: 'Worst insert stall during the migration',
        figure: ms(reelayWorst),
        baseline: ms(naiveMildest),
        ratio,
        goal: '≥ 20× smaller (ratio ≤ 0.05)',
        met: stallMet,
        why: stallMet
          ? `The ALTER is catalog-only and takes its lock for milliseconds; the indexes build CONCURRENTLY, so inserts never wait for a build. The naive run holds ACCESS EXCLUSIVE for its whole ${ms(naiveMigrationMs)} transaction.`
          : `reelay's worst insert waited ${ms(reelayWorst)} against ${ms(naiveMildest)}; noise floor ${ms(quietWorst)}.`,
      },
      {
        label: 'Failed inserts',
        figure: String(reelayFailed),
        baseline: String(naiveFailed),
        ratio: null,
        goal: '0',
        met: reelayFailed === 0,
        why: reelayFailed === 0 ? 'Every insert of the stream committed.' : `First failure: ${of('reelay').flatMap((each) => each.failures)[0]?.error ?? ''}`,
      },
      {
        label: 'Migration duration (context)',
        figure: ms(reelayMigrationMs),
        baseline: ms(naiveMigrationMs),
        ratio: ratioOf(reelayMigrationMs, naiveMigrationMs),
        goal: '— (not a goal)',
        met: null,
        why: 'Concurrent builds scan the table twice and wait for in-flight transactions, so the migration itself takes longer; nobody waits on it.',
      },
    ],
    parameters: { backend, rows, fromVersion, toVersion, insertPeriodMs, marginMs, order },
    samples: { runs },
    notes,
  };
}

export const benchmark: Benchmark = {
  name: 'p3',
  title: 'Mux migration (0002 + 0003) under concurrent inserts',
  baseline: 'a naive migration of the same DDL (plain ALTER TABLE + CREATE INDEX in one transaction) on a copy of the same table, in the same run.',
  run,
};
