/** The data layer as a function uses it, built from the environment (Data API in AWS, the local endpoint locally). */
import type { Driver } from '../db/driver.js';
import type { DataApiRetryOptions } from '../db/data-api-driver.js';
import { createDriver, driverConfigFromEnv } from '../db/create-driver.js';
import { CapabilityCache } from '../db/capabilities.js';
import { VideoDB } from '../db/video-db.js';
import { createLogger, logLevelFrom, type Logger } from '../log.js';
import type { Env } from './lazy.js';
import { wholeNumberFromEnv } from './env.js';

export interface DatabaseServices {
  readonly driver: Driver;
  readonly capabilities: CapabilityCache;
  readonly videos: VideoDB;
}

/** Wraps a driver with the per-container capability cache and VideoDB. */
export function databaseServices(driver: Driver, logger: Logger, env: Env = {}): DatabaseServices {
  const capabilities = new CapabilityCache(driver, { ttlMs: wholeNumberFromEnv(env, 'CAPABILITY_TTL_MS') ?? 60_000 });
  return { driver, capabilities, videos: new VideoDB({ executor: driver, capabilities, logger }) };
}

/**
 * The Data API retries of a function behind API Gateway. HTTP APIs stop waiting after 30 s and the functions time
 * out at 29 s; retrying into that timeout answers a 500 `internal_error`. Retries end 5 s before the invocation's
 * timeout (20 s outside Lambda) and answer a 503 with Retry-After instead, while the cluster finishes resuming.
 */
export const httpDataApiRetry: DataApiRetryOptions = { maxElapsedMs: 20_000, safetyMarginMs: 5_000 };

export async function databaseServicesFromEnv(env: Env, logger: Logger, dataApiRetry?: DataApiRetryOptions): Promise<DatabaseServices> {
  const driver = await createDriver(driverConfigFromEnv(env as NodeJS.ProcessEnv), { logger, ...(dataApiRetry && { dataApiRetry }) });
  return databaseServices(driver, logger, env);
}

/** The seams every function's `createHandler(env, options)` accepts, so tests and the local stack can inject. */
export interface FunctionOptions {
  readonly logger?: Logger;
  /** Use this driver instead of the one the environment describes (tests on an in-memory database). */
  readonly driver?: Driver;
}

/** The function's logger: the injected one, or JSON lines at the env's LOG_LEVEL; tagged with the function name. */
export function functionLogger(env: Env, name: string, options: FunctionOptions = {}): Logger {
  return (options.logger ?? createLogger({ level: logLevelFrom(env) })).child({ function: name });
}

/** The function's data layer: over the injected driver, or over the driver the environment describes. */
export async function functionDatabase(env: Env, logger: Logger, options: FunctionOptions = {}, dataApiRetry?: DataApiRetryOptions): Promise<DatabaseServices> {
  return options.driver === undefined ? databaseServicesFromEnv(env, logger, dataApiRetry) : databaseServices(options.driver, logger, env);
}
