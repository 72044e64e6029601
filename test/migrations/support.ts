/** Helpers shared by the migration suites. */
import type { Driver, ExecuteOptions, Executor, Params, QueryResult, Row } from '../../shared/db/driver.js';
import { PgDriver } from '../../shared/db/pg-driver.js';
import { memoryLogger, type LogFields } from '../../shared/log.js';
import { createMigrator, type MigratorOptions } from '../../shared/migrations/engine.js';
import { afterEach, beforeEach } from 'vitest';
import { basicVideos } from '../../shared/migrations/0001_basic_videos.js';
import { concurrentIndex, type Migration } from '../../shared/migrations/migration.js';
import { openTestDatabase, type BackendName, type TestDatabase } from '../support/databases.js';

/** A migrator with fast test timings and a logger whose lines the test can read. */
export function testMigrator(driver: Driver, options: Partial<MigratorOptions> = {}) {
  const logger = memoryLogger();
  const migrator = createMigrator({
    driver,
    logger,
    lease: { ttlMs: 10_000, waitMs: 60_000 },
    indexPoll: { intervalMs: 20 },
    ...options,
  });
  return { migrator, logger, lines: logger.lines };
}

export function eventsNamed(lines: readonly LogFields[], event: string): LogFields[] {
  return lines.filter((line) => line.event === event);
}

export async function ledger(driver: Driver): Promise<Array<{ version: number; name: string; checksum: string }>> {
  const { rows } = await driver.execute<{ version: number; name: string; checksum: string }>(
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  );
  return rows;
}

export async function indexValidity(driver: Driver, name: string): Promise<boolean | undefined> {
  const { rows } = await driver.execute<{ valid: boolean }>(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relname = :name AND c.relnamespace = current_schema()::regnamespace`,
    { name },
  );
  return rows[0]?.valid;
}

let counter = 0;

/** Inserts one row into the 0001 `videos` table and returns its id. */
export async function insertBasicVideo(driver: Driver, fields: { ownerId?: string; title?: string } = {}): Promise<string> {
  counter += 1;
  const { rows } = await driver.execute<{ id: string }>(
    `INSERT INTO videos (owner_id, title, original_filename, content_type, size_bytes, s3_key)
     VALUES (:ownerId, :title, 'clip.mp4', 'video/mp4', 1024, :s3Key) RETURNING id`,
    { ownerId: fields.ownerId ?? 'user-1', title: fields.title ?? `video ${counter}`, s3Key: `uploads/${process.pid}-${Date.now()}-${counter}.mp4` },
  );
  return (rows[0] as { id: string }).id;
}

/** A second, independent driver on the same database (a second runner "process"); PGlite has only the one. */
export function secondDriver(db: TestDatabase): { driver: Driver; close(): Promise<void> } {
  if (db.connection.kind === 'pglite') return { driver: db.driver, close: async () => {} };
  const driver = PgDriver.fromUrl(db.connection.url, { max: 4 });
  return { driver, close: () => driver.close() };
}

export class RunnerKilled extends Error {}

/** Wraps a driver so that `beforeStatement` sees (and may throw on) every statement, in or out of transactions. */
export function interceptingDriver(inner: Driver, beforeStatement: (sql: string) => void | Promise<void>): Driver {
  const wrap = (executor: Executor): Executor => ({
    execute: async (sql, params, options) => {
      await beforeStatement(sql);
      return executor.execute(sql, params, options);
    },
    batch: async (sql, parameterSets) => {
      await beforeStatement(sql);
      return executor.batch(sql, parameterSets);
    },
  });
  const outer = wrap(inner);
  return {
    name: inner.name,
    execute: outer.execute,
    batch: outer.batch,
    transaction: (work) => inner.transaction((tx) => work(wrap(tx))),
    close: async () => {},
  };
}

/** Wraps a driver so that `answer` may stand in for the database on a statement: rows it returns are the result. */
export function interceptingDriverWithResults(inner: Driver, answer: (sql: string, params: Params | undefined) => Row[] | undefined): Driver {
  return {
    ...inner,
    name: inner.name,
    execute: async <R = Row>(sql: string, params?: Params, options?: ExecuteOptions): Promise<QueryResult<R>> => {
      const rows = answer(sql, params);
      if (rows !== undefined) return { rows: rows as R[], rowCount: rows.length };
      return inner.execute<R>(sql, params, options);
    },
    transaction: (work) => inner.transaction(work),
    batch: (sql, parameterSets) => inner.batch(sql, parameterSets),
    close: async () => {},
  };
}

/**
 * A driver on which, from the first statement matching `killAt` on, every statement fails: the runner's process
 * "died" there. Work done before stays done, and its lease is never released.
 */
export function killableDriver(inner: Driver, killAt: RegExp): Driver & { readonly killed: boolean } {
  let killed = false;
  const driver = interceptingDriver(inner, (sql) => {
    if (!killed && killAt.test(sql)) killed = true;
    if (killed) throw new RunnerKilled(`runner killed before: ${sql.slice(0, 60)}`);
  });
  return Object.defineProperty(driver, 'killed', { get: () => killed }) as Driver & { readonly killed: boolean };
}

/** Drops everything in the public schema: a database as fresh as a new one, for what the migrations touch. */
export async function emptyPublicSchema(driver: Driver): Promise<void> {
  await driver.execute('DROP SCHEMA public CASCADE');
  await driver.execute('CREATE SCHEMA public');
}

/** A fresh database for every test of the enclosing describe; call the returned function inside a test. */
export function useFreshDatabase(backend: BackendName): () => TestDatabase {
  let db: TestDatabase | undefined;
  beforeEach(async () => {
    db = await openTestDatabase(backend);
  });
  afterEach(async () => {
    await db?.dispose();
    db = undefined;
  });
  return () => {
    if (db === undefined) throw new Error('useFreshDatabase: only available inside a test');
    return db;
  };
}

/** 0001, then a migration whose concurrent UNIQUE build fails while two videos share a title. */
export const uniqueTitlesMigrations: readonly Migration[] = [
  basicVideos,
  {
    version: 2,
    name: 'unique_titles',
    steps: [concurrentIndex('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS videos_title_unique_idx ON videos (title)')],
  },
];
