/** The data layer as a function uses it, built from the environment (Data API in AWS, the local endpoint locally). */
import type { Driver } from '../db/driver.js';
import { createDriver, driverConfigFromEnv } from '../db/create-driver.js';
import { CapabilityCache } from '../db/capabilities.js';
import { VideoDB } from '../db/video-db.js';
import { createLogger, logLevelFrom, type Logger } from '../log.js';
import type { Env } from './lazy.js';

export interface DatabaseServices {
  readonly driver: Driver;
  readonly capabilities: CapabilityCache;
  readonly videos: VideoDB;
}

function positiveInteger(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** Wraps a driver with the per-container capability cache and VideoDB. */
export function databaseServices(driver: Driver, logger: Logger, env: Env = {}): DatabaseServices {
  const capabilities = new CapabilityCache(driver, { ttlMs: positiveInteger(env, 'CAPABILITY_TTL_MS', 60_000) });
  return { driver, capabilities, videos: new VideoDB({ executor: driver, capabilities, logger }) };
}

export async function databaseServicesFromEnv(env: Env, logger: Logger): Promise<DatabaseServices> {
  const driver = await createDriver(driverConfigFromEnv(env as NodeJS.ProcessEnv), { logger });
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
export async function functionDatabase(env: Env, logger: Logger, options: FunctionOptions = {}): Promise<DatabaseServices> {
  return options.driver === undefined ? databaseServicesFromEnv(env, logger) : databaseServices(options.driver, logger, env);
}
