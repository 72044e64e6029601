/**
 * The seed's database utilities, under the seed's names, in one module: `checkMuxColumnsExist`,
 * `applyMuxMigration`, `checkDatabaseConnection` and `getDatabaseStatus` — plus `checkDatabaseHealth`, the one-call
 * probe behind `GET /api/database/health`.
 *
 * Unlike the seed, nothing here runs DDL of its own: applying the Mux columns means running the migrations engine,
 * so the ledger, the lease and the lock timeouts apply to operators' endpoints exactly as to the CLI and the
 * deploy-time trigger.
 *
 * Cost on the Data API (each call is billed and, at 0 ACU, wakes the cluster): `checkDatabaseConnection` and
 * `checkDatabaseHealth` are one call each; `getDatabaseStatus` is three (the probe, then the engine's ledger and
 * invalid-index reads); `applyMuxMigration` is the engine's `up()` (two reads when nothing is pending) plus one
 * catalog read.
 */
import type { Driver, DriverName, Executor } from './driver.js';
import { checkMuxColumnsExist, type MuxColumnCheck } from './capabilities.js';
import { DatabaseUnavailableError, isDatabaseError, ReelayError, SqlState, type UnavailableReason } from '../errors.js';
import type { Logger } from '../log.js';
import { createMigrator, type MigrationStatus, type MigratorOptions } from '../migrations/engine.js';
import { latestVersion, migrations } from '../migrations/index.js';
import { muxColumnNames } from './schema.js';

export { checkMuxColumnsExist, type MuxColumnCheck };

export type ConnectionState = 'ok' | 'resuming' | 'down';

/** Why the database could not be reached: the typed error's code and message, never credentials or ARNs' secrets. */
export interface ConnectionError {
  readonly code: string;
  readonly message: string;
  /** For an unreachable database, the driver's reason (`resuming`, `throttled`, `timeout`, `unavailable`). */
  readonly reason?: UnavailableReason;
}

export interface DatabaseConnection {
  /** The probe statement ran and answered. */
  readonly connected: boolean;
  /** Round trip of the probe statement (including the driver's retries), in ms. */
  readonly latencyMs: number;
  /** `resuming`: Aurora Serverless v2 is waking from 0 ACU (the call that failed has started the resume). */
  readonly state: ConnectionState;
  readonly error?: ConnectionError;
}

/** Mux columns (schema.ts) that the live `videos` table has and lacks, in catalog order. */
export interface MuxColumnReport {
  readonly present: readonly string[];
  readonly missing: readonly string[];
}

function connectionError(error: unknown): ConnectionError {
  if (error instanceof DatabaseUnavailableError) return { code: error.code, message: error.message, reason: error.reason };
  if (error instanceof ReelayError) return { code: error.code, message: error.message };
  // An error nobody typed may carry anything (a connection string in a message): report only its class.
  return { code: 'unexpected_error', message: error instanceof Error ? error.name : 'unknown error' };
}

/**
 * The error behind a failed connection report. The report goes into answers (the admin health check), so it keeps
 * only a safe summary; the error itself stays here, for the cause of {@link unavailableError} in the logs.
 */
const connectionFailures = new WeakMap<DatabaseConnection, unknown>();

function failedConnection(error: unknown, latencyMs: number): DatabaseConnection {
  const resuming = error instanceof DatabaseUnavailableError && error.reason === 'resuming';
  const connection: DatabaseConnection = { connected: false, latencyMs, state: resuming ? 'resuming' : 'down', error: connectionError(error) };
  connectionFailures.set(connection, error);
  return connection;
}

/** Runs `probe`, timing it; a failure becomes a {@link DatabaseConnection} that says why instead of an exception. */
async function timedProbe<T>(probe: () => Promise<T>): Promise<{ connection: DatabaseConnection; value?: T }> {
  const started = performance.now();
  try {
    const value = await probe();
    return { connection: { connected: true, latencyMs: Math.round(performance.now() - started), state: 'ok' }, value };
  } catch (error) {
    return { connection: failedConnection(error, Math.round(performance.now() - started)) };
  }
}

/** One `SELECT 1`: is the database there, and how long does a round trip take? Never throws. */
export async function checkDatabaseConnection(executor: Executor): Promise<DatabaseConnection> {
  return (await timedProbe(() => executor.execute('SELECT 1 AS ok'))).connection;
}

/** What one probe statement tells about the schema. */
export interface SchemaSnapshot {
  readonly serverVersion: string;
  /** Highest applied migration; 0 when nothing was ever applied (or there is no ledger). */
  readonly version: number;
  readonly latestVersion: number;
  /** Versions this code knows that the ledger lacks. */
  readonly pending: readonly number[];
  readonly muxColumns: MuxColumnReport;
}

/*
 * Everything the health check needs in ONE statement (the Data API bills per call and has no multi-statement SQL).
 * A reference to a table that does not exist fails when the statement is parsed, so no expression inside it can
 * guard the ledger read; the rare database that has never been migrated gets a second statement without it
 * (see probeSchema).
 */
function probeSql(withLedger: boolean): string {
  const applied = withLedger ? 'ARRAY(SELECT version FROM schema_migrations ORDER BY version)' : 'ARRAY[]::integer[]';
  return `
    SELECT current_setting('server_version') AS server_version,
           ARRAY(SELECT column_name::text FROM information_schema.columns
                  WHERE table_schema = current_schema() AND table_name = 'videos') AS video_columns,
           ${applied} AS applied_versions`;
}

interface ProbeRow {
  server_version: string;
  video_columns: string[];
  applied_versions: number[];
}

export function muxColumnReport(videoColumns: Iterable<string>): MuxColumnReport {
  const have = new Set(videoColumns);
  return { present: muxColumnNames.filter((name) => have.has(name)), missing: muxColumnNames.filter((name) => !have.has(name)) };
}

async function probeSchema(executor: Executor): Promise<SchemaSnapshot> {
  let row: ProbeRow | undefined;
  try {
    row = (await executor.execute<ProbeRow>(probeSql(true))).rows[0];
  } catch (error) {
    if (!isDatabaseError(error, SqlState.undefinedTable)) throw error;
    row = (await executor.execute<ProbeRow>(probeSql(false))).rows[0];
  }
  if (row === undefined) throw new Error('the schema probe returned no row');
  const applied = new Set(row.applied_versions);
  return {
    serverVersion: row.server_version,
    version: row.applied_versions.reduce((max, version) => Math.max(max, version), 0),
    latestVersion,
    pending: migrations.map((migration) => migration.version).filter((version) => !applied.has(version)),
    muxColumns: muxColumnReport(row.video_columns),
  };
}

export type HealthStatus = 'ok' | 'degraded' | 'resuming' | 'down';

export interface DatabaseHealth {
  /** `degraded`: reachable, but migrations are pending or Mux columns are missing (uploads use the fallback). */
  readonly status: HealthStatus;
  readonly connection: DatabaseConnection;
  /** Null when the database could not be reached. */
  readonly schema: SchemaSnapshot | null;
}

/**
 * Connectivity, latency, schema version, pending migrations and Mux columns from ONE statement: a warm health check
 * costs one Data API call. Never throws: an unreachable database is a `down` (or `resuming`) answer.
 */
export async function checkDatabaseHealth(executor: Executor): Promise<DatabaseHealth> {
  const { connection, value: schema } = await timedProbe(() => probeSchema(executor));
  if (schema === undefined) return { status: connection.state === 'resuming' ? 'resuming' : 'down', connection, schema: null };
  const complete = schema.pending.length === 0 && schema.muxColumns.missing.length === 0;
  return { status: complete ? 'ok' : 'degraded', connection, schema };
}

export interface DatabaseStatus {
  readonly driver: DriverName;
  readonly connection: DatabaseConnection;
  /** PostgreSQL's `server_version`, e.g. `16.6`; null when unreachable. */
  readonly serverVersion: string | null;
  /** The engine's view (applied, pending, drift, invalid indexes) and the live Mux columns; null when unreachable. */
  readonly schema: (MigrationStatus & { readonly muxColumns: MuxColumnReport }) | null;
}

/** Everything an operator asks before and after a migration. Three calls; never throws for an unreachable database. */
export async function getDatabaseStatus(driver: Driver, options: { readonly logger?: Logger } = {}): Promise<DatabaseStatus> {
  const health = await checkDatabaseHealth(driver);
  if (health.schema === null) return { driver: driver.name, connection: health.connection, serverVersion: null, schema: null };
  const status = await createMigrator({ driver, ...(options.logger && { logger: options.logger }) }).status();
  return {
    driver: driver.name,
    connection: health.connection,
    serverVersion: health.schema.serverVersion,
    schema: { ...status, muxColumns: health.schema.muxColumns },
  };
}

/** The error an unreachable {@link DatabaseConnection} stands for, to throw where an answer needs the database. */
export function unavailableError(connection: DatabaseConnection): DatabaseUnavailableError {
  const reason = connection.error?.reason ?? (connection.state === 'resuming' ? 'resuming' : 'unavailable');
  const cause = connectionFailures.get(connection);
  return new DatabaseUnavailableError(connection.error?.message ?? 'the database could not be reached', reason, cause === undefined ? undefined : { cause });
}

export type ApplyMuxMigrationOptions = Omit<MigratorOptions, 'driver'> & {
  /** Stop at this version (default: the latest). */
  readonly to?: number;
};

export interface MuxMigrationResult {
  /** Migrations this call applied (none when another runner had already applied them). */
  readonly ran: ReadonlyArray<{ readonly version: number; readonly name: string; readonly durationMs: number }>;
  /** INVALID indexes of applied migrations that were dropped and rebuilt. */
  readonly repaired: readonly string[];
  readonly durationMs: number;
  readonly currentVersion: number;
  /** The Mux columns after the run. */
  readonly muxColumns: MuxColumnCheck;
}

/**
 * Applies pending migrations (0002 adds the Mux columns) through the migrations engine. Safe to call while another
 * operator, the CLI or the deploy-time trigger runs: the engine's lease makes each migration run once, and a runner
 * that waited finds the work done. Throws MigrationError when a migration fails or an applied file was edited.
 */
export async function applyMuxMigration(driver: Driver, options: ApplyMuxMigrationOptions = {}): Promise<MuxMigrationResult> {
  const { to, ...migratorOptions } = options;
  const started = performance.now();
  const result = await createMigrator({ driver, ...migratorOptions }).up(to === undefined ? {} : { to });
  const durationMs = Math.round(performance.now() - started);
  return {
    ran: result.applied,
    repaired: result.repaired,
    durationMs,
    currentVersion: result.currentVersion,
    muxColumns: await checkMuxColumnsExist(driver),
  };
}
