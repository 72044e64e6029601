/**
 * What the engine keeps in the database and reads from its catalog: the `schema_migrations` ledger, the
 * `schema_migrations_lock` lease row, and the validity of indexes (a concurrent build that failed leaves one INVALID).
 */
import type { Executor } from '../db/driver.js';
import { isDatabaseError, SqlState } from '../errors.js';
import type { InvalidIndex } from './migrator.js';

export const ledgerStatements = [
  `CREATE TABLE IF NOT EXISTS schema_migrations (
     version     integer PRIMARY KEY,
     name        text NOT NULL,
     checksum    text NOT NULL,
     applied_at  timestamptz NOT NULL DEFAULT now(),
     duration_ms integer NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS schema_migrations_lock (
     id         integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
     owner      text NOT NULL,
     expires_at timestamptz NOT NULL
   )`,
];

// Only an expired lease can be taken over; the database's clock decides, so runners' clocks need not agree.
export const acquireLeaseSql = `
  INSERT INTO schema_migrations_lock AS held (id, owner, expires_at)
  VALUES (1, :owner, clock_timestamp() + make_interval(secs => :ttlSeconds))
  ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
  WHERE held.expires_at <= clock_timestamp()
  RETURNING owner`;

export const renewLeaseSql = `
  UPDATE schema_migrations_lock SET expires_at = clock_timestamp() + make_interval(secs => :ttlSeconds)
  WHERE id = 1 AND owner = :owner AND expires_at > clock_timestamp()
  RETURNING owner`;

export const recordMigrationSql = `
  INSERT INTO schema_migrations (version, name, checksum, duration_ms)
  SELECT :version, :name, :checksum, :durationMs
  WHERE EXISTS (SELECT 1 FROM schema_migrations_lock WHERE id = 1 AND owner = :owner AND expires_at > clock_timestamp())
  ON CONFLICT (version) DO NOTHING`;

const buildingCondition = `EXISTS (
  SELECT 1 FROM pg_stat_progress_create_index progress
  WHERE progress.index_relid = c.oid AND progress.datid = (SELECT oid FROM pg_database WHERE datname = current_database()))`;

const indexCatalog = `
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema()`;

export const invalidIndexesSql = `
  SELECT c.relname AS name, t.relname AS table_name, ${buildingCondition} AS building
  ${indexCatalog} AND NOT i.indisvalid
  ORDER BY c.relname`;

export const indexStateSql = `SELECT i.indisvalid AS valid, ${buildingCondition} AS building ${indexCatalog} AND c.relname = :name`;

export type IndexState = 'valid' | 'building' | 'invalid' | 'missing';

export interface LedgerRow {
  version: number;
  name: string;
  checksum: string;
  applied_at: Date;
  duration_ms: number;
}

export async function readLedger(executor: Executor): Promise<LedgerRow[]> {
  try {
    const { rows } = await executor.execute<LedgerRow>(
      'SELECT version, name, checksum, applied_at, duration_ms FROM schema_migrations ORDER BY version',
    );
    return rows;
  } catch (error) {
    // No ledger yet: a database nothing was ever applied to.
    if (isDatabaseError(error, SqlState.undefinedTable)) return [];
    throw error;
  }
}

export async function readInvalidIndexes(executor: Executor): Promise<InvalidIndex[]> {
  const { rows } = await executor.execute<{ name: string; table_name: string; building: boolean }>(invalidIndexesSql);
  return rows.map((row) => ({ name: row.name, table: row.table_name, building: row.building }));
}
