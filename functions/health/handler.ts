/**
 * GET /api/database/health — public and cheap: one Data API call per request.
 *
 * Why one statement per request and no cache: a cached schema would still need a `SELECT 1`-class call to prove the
 * database is reachable, so caching saves no call; it would only report a stale schema after a migration. The
 * probe (shared/db/database-utils.ts) reads the ledger and the Mux columns in the same statement.
 *
 * The database wait is short on purpose (HEALTH_DB_WAIT_MS, default 3 s): a paused Serverless v2 cluster answers
 * DatabaseResumingException, the failed call itself starts the resume, and the health check says `resuming` (503)
 * at once instead of holding a Lambda (and the caller) for the ~60 s the data path is willing to wait.
 *
 * The bundle stays small: the Data API driver is loaded by createDriver's dynamic import, Mux's status comes from
 * shared/mux/config.ts (which never imports the Mux SDK, and is read without touching the secret), and nothing here
 * reaches S3.
 */
import { createDriver, driverConfigFromEnv } from '../../shared/db/create-driver.js';
import type { Driver } from '../../shared/db/driver.js';
import { checkDatabaseHealth, type DatabaseHealth, type HealthStatus, type MuxColumnReport } from '../../shared/db/database-utils.js';
import { httpHandler, route, type HttpLambdaHandler } from '../../shared/http/index.js';
import type { Logger } from '../../shared/log.js';
import { functionLogger } from '../../shared/runtime/database.js';
import { muxConfigFromEnv } from '../../shared/mux/config.js';
import { lazyHandler, type Env } from '../../shared/runtime/lazy.js';
import { wholeNumberFromEnv } from '../../shared/runtime/env.js';

export interface HealthBody {
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

export interface HealthHandlerOptions {
  readonly logger?: Logger;
  /** A driver to use instead of the one the environment describes (the local stack may share one). */
  readonly driver?: Driver;
}

export const defaultHealthDbWaitMs = 3_000;

/** Whether Mux is configured; a malformed MUX_* setting counts as not configured (and is logged), never a 500. */
function muxConfigured(env: Env, logger: Logger): boolean {
  try {
    return muxConfigFromEnv(env).configured;
  } catch (error) {
    logger.error('health.mux_config_invalid', { error });
    return false;
  }
}

export function healthBody(health: DatabaseHealth, muxIsConfigured: boolean): HealthBody {
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

export async function createHandler(env: Env = process.env, options: HealthHandlerOptions = {}): Promise<HttpLambdaHandler> {
  const logger = functionLogger(env, 'health', options);
  const waitMs = wholeNumberFromEnv(env, 'HEALTH_DB_WAIT_MS', 0) ?? defaultHealthDbWaitMs;
  const driver =
    options.driver ??
    (await createDriver(driverConfigFromEnv(env as NodeJS.ProcessEnv), {
      logger,
      dataApiRetry: { maxElapsedMs: waitMs, delaysMs: [250, 500, 1_000] },
    }));
  const configured = muxConfigured(env, logger);
  return httpHandler({
    name: 'health',
    logger,
    routes: {
      'GET /api/database/health': route({
        auth: 'none',
        handle: async ({ logger: requestLogger }) => {
          const health = await checkDatabaseHealth(driver);
          if (!health.connection.connected) requestLogger.warn('health.database_unreachable', { state: health.connection.state, error: health.connection.error });
          return { status: health.connection.connected ? 200 : 503, body: healthBody(health, configured) };
        },
      }),
    },
  });
}

export const handler = lazyHandler(() => createHandler(process.env));
