/**
 * Operators' routes (auth `admin`: shared/http answers 401 without a token and 403 without the admin group):
 *
 * - GET  /api/database/run-mux-migration — the migration status: applied, pending, drift, invalid indexes, Mux columns.
 * - POST /api/database/run-mux-migration — applies pending migrations through the engine (`?to=N` stops at N) and
 *   answers what ran, how long it took, and the status afterwards. Safe to race with the deploy-time trigger and
 *   other operators: the engine's lease runs each migration once. A failure is a MigrationError (500 with its
 *   message: admins need to know which migration or ledger row disagrees).
 * - GET  /api/debug/video-diagnostics — shared/videos/diagnostics.ts.
 *
 * Only Mux's configuration is read (shared/mux/config.ts, no SDK); no S3 client is loaded.
 */
import * as z from 'zod';
import { applyMuxMigration, getDatabaseStatus, unavailableError, type DatabaseStatus } from '../../shared/db/database-utils.js';
import { createDriver, driverConfigFromEnv } from '../../shared/db/create-driver.js';
import type { Driver } from '../../shared/db/driver.js';
import { adminGroupFromEnv, httpHandler, route, type HttpLambdaHandler } from '../../shared/http/index.js';
import type { Logger } from '../../shared/log.js';
import { functionLogger, httpDataApiRetry } from '../../shared/runtime/database.js';
import type { MigratorOptions } from '../../shared/migrations/engine.js';
import { lazyHandler, type Env } from '../../shared/runtime/lazy.js';
import { collectVideoDiagnostics, diagnosticsConfiguration, diagnosticsThresholdsFromEnv } from '../../shared/videos/diagnostics.js';

export interface AdminHandlerOptions {
  readonly logger?: Logger;
  /** A driver to use instead of the one the environment describes. */
  readonly driver?: Driver;
  /** Engine timings (lease, index polling, lock timeouts); tests shorten them. */
  readonly migrator?: Omit<MigratorOptions, 'driver' | 'migrations' | 'logger'>;
}

const migrateQuery = z.object({
  to: z.coerce.number({ error: 'must be a migration version' }).int().positive().optional(),
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

export async function createHandler(env: Env = process.env, options: AdminHandlerOptions = {}): Promise<HttpLambdaHandler> {
  const logger = functionLogger(env, 'admin', options);
  const driver = options.driver ?? (await createDriver(driverConfigFromEnv(env as NodeJS.ProcessEnv), { logger, dataApiRetry: httpDataApiRetry }));
  const thresholds = diagnosticsThresholdsFromEnv(env);
  const configuration = diagnosticsConfiguration(env, thresholds);
  return httpHandler({
    name: 'admin',
    logger,
    adminGroup: adminGroupFromEnv(env),
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
          const status = migrationStatusBody(await getDatabaseStatus(driver));
          return { status: 200, body: { ran: result.ran, repaired: result.repaired, durationMs: result.durationMs, status } };
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
