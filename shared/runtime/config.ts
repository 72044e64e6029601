/**
 * What every function reads from its environment, and the seams every `createHandler(env, options)` accepts. Each
 * function parses its environment once, at its edge (functions/<name>/handler.ts), into one typed configuration
 * that extends {@link FunctionConfig}, and passes the parts down; nothing below the edge reads a variable.
 *
 * Kept free of the data layer and of zod: the health function's bundle is this module, the logger and shared/http.
 */
import type { Env } from '../config/reader.js';
import { parseAdminGroup } from '../http/principal.js';
import { createLogger, logLevelFrom, type LogLevel, type Logger } from '../log.js';
import { emfMetrics, type Metrics } from '../metrics.js';

export interface FunctionConfig {
  /** LOG_LEVEL (`debug`, `info`, `warn`, `error`; `info` when unset or not a level). */
  readonly logLevel: LogLevel;
}

export interface HttpFunctionConfig extends FunctionConfig {
  /** ADMIN_GROUP: the group whose members are admins (default `admin`). */
  readonly adminGroup: string;
}

export function functionConfigFromEnv(env: Env): FunctionConfig {
  return { logLevel: logLevelFrom(env) };
}

export function httpFunctionConfigFromEnv(env: Env): HttpFunctionConfig {
  return { ...functionConfigFromEnv(env), adminGroup: parseAdminGroup(env.ADMIN_GROUP) };
}

/** The seams every function's `createHandler(env, options)` accepts, so tests and the local stack can inject. */
export interface FunctionOptions {
  readonly logger?: Logger;
  /** Instead of EMF lines through the function's logger (shared/metrics.ts). */
  readonly metrics?: Metrics;
}

/** The function's logger: the injected one, or JSON lines at the configured level; tagged with the function name. */
export function functionLogger(config: FunctionConfig, name: string, options: FunctionOptions = {}): Logger {
  return (options.logger ?? createLogger({ level: config.logLevel })).child({ function: name });
}

/** The function's metrics: the injected ones, or EMF lines through its logger, with `Service` = the function's name. */
export function functionMetrics(logger: Logger, name: string, options: FunctionOptions = {}): Metrics {
  return options.metrics ?? emfMetrics({ service: name, logger });
}
