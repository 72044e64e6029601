/**
 * Operators' routes (auth `admin`: shared/http answers 401 without a token and 403 without the admin group):
 *
 * - GET  /api/database/run-mux-migration — the migration status: applied, pending, drift, invalid indexes, Mux columns.
 * - POST /api/database/run-mux-migration — applies pending migrations through the engine (`?to=N` stops at N) and
 *   answers what ran, how long it took, and the status afterwards. Safe to race with the deploy-time trigger and
 *   other operators: the engine's lease runs each migration once. A failure is a MigrationError (500 with its
 *   message: admins need to know which migration or ledger row disagrees).
 * - GET  /api/debug/video-diagnostics — shared/videos/diagnostics.ts.
 * - GET  /api/database/health/details — the full health check the public route no longer makes: connectivity and
 *   latency, schema version, pending migrations, Mux columns (one Data API call), and whether Mux is configured.
 *   503 with the same shape when the database cannot be reached. It waits at most HEALTH_DB_WAIT_MS (default 3 s) for
 *   a resuming cluster, then says `resuming`: the call that failed has started the resume.
 *
 * The function logs in as the master user (`database-migrations` in functions/routes.json): it applies migrations and
 * reads the engine's ledger, which the application roles may not touch.
 *
 * Only Mux's configuration is read (shared/mux/config.ts, no SDK); no S3 client is loaded.
 */
import * as z from '../../shared/zod.js';
import {
  applyMuxMigration,
  checkDatabaseHealth,
  getDatabaseStatus,
  unavailableError,
  type DatabaseHealth,
  type DatabaseStatus,
  type HealthStatus,
  type MuxColumnReport,
} from '../../shared/db/database-utils.js';
import { ConfigurationError, readDuration, type Env } from '../../shared/config/reader.js';
import { createDriver } from '../../shared/db/create-driver.js';
import { httpHandler, route, type HttpLambdaHandler } from '../../shared/http/index.js';
import { functionLogger, functionMetrics, httpFunctionConfigFromEnv, type HttpFunctionConfig } from '../../shared/runtime/config.js';
import { databaseConfigFromEnv, functionPendingWork, httpDataApiRetry, type DatabaseConfig, type DatabaseFunctionOptions } from '../../shared/runtime/database.js';
import type { MigratorOptions } from '../../shared/migrations/engine.js';
import { pendingWorkSettingsFromEnv, type PendingWorkSettings } from '../../shared/storage/pending-work.js';
import { lazyHandler } from '../../shared/runtime/lazy.js';
import { muxConfig, muxSettingsFromEnv, type MuxSettings } from '../../shared/mux/config.js';
import {
  collectVideoDiagnostics,
  diagnosticsConfiguration,
  diagnosticsThresholdsFromEnv,
  type DiagnosticsThresholds,
} from '../../shared/videos/diagnostics.js';

export interface AdminHandlerOptions extends DatabaseFunctionOptions {
  /** Engine timings (lease, index polling, lock timeouts); tests shorten them. */
  readonly migrator?: Omit<MigratorOptions, 'driver' | 'migrations' | 'logger'>;
}

export interface HealthDetailsBody {
  readonly status: HealthStatus;
  readonly database: { readonly connected: boolean; readonly latencyMs: number };
  readonly schema: {
    readonly version: number | null;
    readonly latestVersion: number | null;
    readonly pending: readonly number[] | null;
    readonly muxColumns: MuxColumnReport | null;
  };
  readonly mux: { readonly configured: boolean };
}

export const defaultHealthDbWaitMs = 3_000;

/** Everything the admin function reads from its environment, parsed once at cold start. */
export interface AdminConfig extends HttpFunctionConfig {
  readonly database: DatabaseConfig;
  /** HEALTH_DB_WAIT_MS: how long the detailed health check waits for a resuming cluster. */
  readonly healthDbWaitMs: number;
  readonly diagnostics: DiagnosticsThresholds;
  /**
   * The Mux settings, or why they are malformed: this function only reports on Mux, so a bad MUX_* value is shown
   * (diagnostics) and logged, never a 500.
   */
  readonly mux: MuxSettings | ConfigurationError;
  /** REELAY_STAGE, AWS_REGION, UPLOAD_BUCKET and UPLOAD_PREFIX as set: shown by the diagnostics page only. */
  readonly stage: string | null;
  readonly region: string | null;
  readonly storage: { readonly bucket: string | null; readonly prefix: string | null };
  /** PENDING_WORK_BUCKET: after migrations apply, reconcile must restore what was deferred; noted there. */
  readonly pendingWork: PendingWorkSettings | undefined;
}

function muxSettingsOrError(env: Env): MuxSettings | ConfigurationError {
  try {
    return muxSettingsFromEnv(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
}

export function adminConfigFromEnv(env: Env): AdminConfig {
  return {
    ...httpFunctionConfigFromEnv(env),
    database: databaseConfigFromEnv(env),
    healthDbWaitMs: readDuration(env, 'HEALTH_DB_WAIT_MS', 'milliseconds', { min: 0 }) ?? defaultHealthDbWaitMs,
    diagnostics: diagnosticsThresholdsFromEnv(env),
    mux: muxSettingsOrError(env),
    stage: env.REELAY_STAGE ?? null,
    region: env.AWS_REGION ?? null,
    storage: { bucket: env.UPLOAD_BUCKET ?? null, prefix: env.UPLOAD_PREFIX ?? null },
    pendingWork: pendingWorkSettingsFromEnv(env),
  };
}

export function healthDetailsBody(health: DatabaseHealth, muxIsConfigured: boolean): HealthDetailsBody {
  return {
    status: health.status,
    database: { connected: health.connection.connected, latencyMs: health.connection.latencyMs },
    schema: {
      version: health.schema?.version ?? null,
      latestVersion: health.schema?.latestVersion ?? null,
      pending: health.schema?.pending ?? null,
      muxColumns: health.schema?.muxColumns ?? null,
    },
    mux: { configured: muxIsConfigured },
  };
}

const migrateQuery = z.object({
  to: z.optional(z.coerce.number({ error: 'must be a migration version' }).check(z.int(), z.positive())),
});

/** The GET body: the engine's status, the live Mux columns and the connection, for one operator's look. */
export function migrationStatusBody(status: DatabaseStatus) {
  if (status.schema === null) throw unavailableError(status.connection);
  const { schema } = status;
  return {
    currentVersion: schema.currentVersion,
    latestVersion: schema.latestVersion,
    applied: schema.applied,
    pending: schema.pending,
    drift: schema.drift,
    unknownApplied: schema.unknownApplied,
    invalidIndexes: schema.invalidIndexes,
    muxColumns: schema.muxColumns,
    database: { driver: status.driver, serverVersion: status.serverVersion, latencyMs: status.connection.latencyMs },
  };
}

export async function createHandler(env: Env, options: AdminHandlerOptions = {}): Promise<HttpLambdaHandler> {
  const config = adminConfigFromEnv(env);
  const logger = functionLogger(config, 'admin', options);
  const metrics = functionMetrics(logger, 'admin', options);
  const driver = options.driver ?? (await createDriver(config.database.driver, { logger, metrics, dataApiRetry: httpDataApiRetry }));
  // The health check answers fast: a short retry budget, and "resuming" (503) instead of waiting out a resume.
  const healthDriver =
    options.driver ??
    (await createDriver(config.database.driver, { logger, metrics, dataApiRetry: { limitMs: config.healthDbWaitMs, baseDelayMs: 250, maxDelayMs: 1_000 } }));
  const pendingWork = functionPendingWork(config.pendingWork, logger, options);
  const thresholds = config.diagnostics;
  // Only the configuration is read here (no SDK, no secret): whether Mux is configured says nothing about its values.
  const mux = config.mux instanceof ConfigurationError ? config.mux : muxConfig(config.mux);
  if (mux instanceof ConfigurationError) logger.error('admin.mux_config_invalid', { error: mux });
  const configuration = diagnosticsConfiguration({ ...config, capabilityTtlMs: config.database.capabilityTtlMs, database: config.database.driver, thresholds, mux });
  const muxIsConfigured = !(mux instanceof ConfigurationError) && mux.configured;
  return httpHandler({
    name: 'admin',
    logger,
    adminGroup: config.adminGroup,
    routes: {
      'GET /api/database/run-mux-migration': route({
        auth: 'admin',
        handle: async () => ({ status: 200, body: migrationStatusBody(await getDatabaseStatus(driver)) }),
      }),
      'POST /api/database/run-mux-migration': route({
        auth: 'admin',
        query: migrateQuery,
        handle: async ({ query, principal, logger: requestLogger }) => {
          requestLogger.info('admin.migration.requested', { by: principal.sub, to: query.to });
          const result = await applyMuxMigration(driver, {
            ...options.migrator,
            logger: requestLogger,
            ...(query.to !== undefined && { to: query.to }),
          });
          // Columns that were missing exist now: reconcile restores the deferred data on its next run, paused or not.
          if (result.ran.length > 0) await pendingWork.note('migration', { by: 'admin', ran: result.ran.length });
          const status = migrationStatusBody(await getDatabaseStatus(driver));
          return { status: 200, body: { ran: result.ran, repaired: result.repaired, durationMs: result.durationMs, status } };
        },
      }),
      'GET /api/database/health/details': route({
        auth: 'admin',
        handle: async ({ logger: requestLogger }) => {
          const health = await checkDatabaseHealth(healthDriver);
          if (!health.connection.connected) requestLogger.warn('admin.health.database_unreachable', { state: health.connection.state, error: health.connection.error });
          return { status: health.connection.connected ? 200 : 503, body: healthDetailsBody(health, muxIsConfigured) };
        },
      }),
      'GET /api/debug/video-diagnostics': route({
        auth: 'admin',
        handle: async () => {
          const diagnostics = await collectVideoDiagnostics(driver, thresholds);
          return { status: 200, body: { ...diagnostics, configuration } };
        },
      }),
    },
  });
}

export const handler = lazyHandler(() => createHandler(process.env));
