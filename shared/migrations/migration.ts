/**
 * What a migration is. Migrations are TypeScript modules rather than .sql files so a Lambda bundle carries them
 * with no file loader, and so the steps can be typed: the engine must know which DDL may run inside a short
 * transaction and which (CREATE INDEX CONCURRENTLY) must run alone, outside any transaction.
 *
 * Every statement is a single statement (the Data API rejects multi-statement SQL) and idempotent (IF NOT EXISTS),
 * so a runner killed half-way through a migration can simply be run again.
 */
import { createHash } from 'node:crypto';
import { MigrationError } from '../errors.js';

/**
 * DDL run in one short transaction that starts with `SET LOCAL lock_timeout`, retried when the lock is not granted
 * in time (SQLSTATE 55P03): a waiting ALTER queues every later query on its table, so it must never wait long.
 */
export interface TransactionStep {
  readonly kind: 'transaction';
  readonly statements: readonly string[];
}

/**
 * One `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS`, run on its own with `continueAfterTimeout`, then polled
 * until `pg_index.indisvalid`. `index` names it so the engine can find (and rebuild) an INVALID leftover.
 */
export interface ConcurrentIndexStep {
  readonly kind: 'concurrent-index';
  readonly index: string;
  readonly table: string;
  readonly sql: string;
}

export type Step = TransactionStep | ConcurrentIndexStep;

export interface Migration {
  /** Positive integer, unique, applied in ascending order. */
  readonly version: number;
  /** snake_case, e.g. `mux_columns`. */
  readonly name: string;
  readonly steps: readonly Step[];
}

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

function assertIdentifier(name: string, what: string): void {
  if (!identifier.test(name)) throw new MigrationError(`${what} "${name}" is not a plain lower-case SQL identifier`);
}

/** A step of DDL statements that run together in one short, lock-timeout-guarded transaction. */
export function transactionStep(...statements: string[]): TransactionStep {
  if (statements.length === 0) throw new MigrationError('a transaction step needs at least one statement');
  return { kind: 'transaction', statements };
}

const concurrentIndexStatement = /^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+(\S+)\s+ON\s+(?:ONLY\s+)?(\S+?)\s*(?:USING\s+\w+\s*)?\(/i;

/**
 * A concurrent index build, written as literal SQL: `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS <index> ON
 * <table> (…)`. The index and table names are read from the statement (the engine needs them to find and rebuild an
 * INVALID leftover), never used to generate it, so the migration's text is exactly what runs.
 */
export function concurrentIndex(sql: string): ConcurrentIndexStep {
  const match = concurrentIndexStatement.exec(sql);
  if (!match) throw new MigrationError(`not a "CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS <name> ON <table> (…)" statement: ${sql}`);
  const [, index = '', table = ''] = match;
  assertIdentifier(index, 'index');
  assertIdentifier(table, 'table');
  return { kind: 'concurrent-index', index, table, sql: sql.trim() };
}

/** The SQL statements a step executes, in order (for plans, logs and the checksum). */
export function stepStatements(step: Step): readonly string[] {
  return step.kind === 'transaction' ? step.statements : [step.sql];
}

/** Layout-insensitive: re-indenting or re-wrapping a migration file is not a change to what it does. */
function canonicalStatement(sql: string): string {
  return sql
    .replace(/\s+/g, ' ')
    .replace(/ ?([(),]) ?/g, '$1')
    .trim()
    .replace(/;$/, '');
}

/** The text the checksum is taken over: every step's kind and statements, whitespace collapsed. */
export function canonicalSql(migration: Migration): string {
  return migration.steps
    .map((step) => `-- ${step.kind}\n${stepStatements(step).map((sql) => `${canonicalStatement(sql)};`).join('\n')}`)
    .join('\n');
}

/** sha256 (hex) of {@link canonicalSql}: what the ledger stores and compares to detect an edited, applied file. */
export function migrationChecksum(migration: Migration): string {
  return createHash('sha256').update(canonicalSql(migration)).digest('hex');
}

/** Versions unique, ascending, positive integers; names plain identifiers. Throws {@link MigrationError}. */
export function validateMigrations(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const migration of migrations) {
    if (!Number.isSafeInteger(migration.version) || migration.version <= previous) {
      throw new MigrationError(`migration versions must be positive integers in ascending order; ${migration.version} follows ${previous}`);
    }
    assertIdentifier(migration.name, `migration ${migration.version} name`);
    if (migration.steps.length === 0) throw new MigrationError(`migration ${migration.version} has no steps`);
    previous = migration.version;
  }
}
