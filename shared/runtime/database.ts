/** The data layer as a function uses it, built from its parsed configuration (Data API in AWS, the local endpoint locally). */
import { readDuration, type Env } from '../config/reader.js';
import type { Driver } from '../db/driver.js';
import type { DataApiRetryOptions } from '../db/data-api-driver.js';
import { createDriver, driverConfigFromEnv, type DriverConfig } from '../db/create-driver.js';
import { CapabilityCache } from '../db/capabilities.js';
import { VideoDB } from '../db/video-db.js';
import type { Logger } from '../log.js';
import { noMetrics, type Metrics } from '../metrics.js';
import { pendingNotesFor, type PendingWorkNotes, type PendingWorkSettings } from '../storage/pending-work.js';
import type { FunctionOptions } from './config.js';
import { EventOutbox } from '../events/outbox.js';
import type { EventPublishing } from './events.js';

export interface DatabaseServices {
  readonly driver: Driver;
  readonly capabilities: CapabilityCache;
  readonly videos: VideoDB;
  /** The events outbox the writes hand their events to (a publishing function's; else one that publishes nothing). */
  readonly events: EventOutbox | undefined;
}

/** The database part of a function's configuration. */
export interface DatabaseConfig {
  /** Which driver, from RDS_RESOURCE_ARN / RDS_SECRET_ARN / RDS_DATABASE / DATA_API_ENDPOINT, DATABASE_URL or PGLITE_DATA_DIR. */
  readonly driver: DriverConfig;
  /** CAPABILITY_TTL_MS: how long a container trusts what it detected of the schema (default 60 s). */
  readonly capabilityTtlMs: number;
  /** CAPABILITY_INCOMPLETE_TTL_MS: the same while columns are missing (default 5 s, at most the TTL). */
  readonly capabilityIncompleteTtlMs?: number;
}

export const defaultCapabilityTtlMs = 60_000;

export function databaseConfigFromEnv(env: Env): DatabaseConfig {
  const incompleteTtlMs = readDuration(env, 'CAPABILITY_INCOMPLETE_TTL_MS', 'milliseconds', { min: 1 });
  return {
    driver: driverConfigFromEnv(env),
    capabilityTtlMs: readDuration(env, 'CAPABILITY_TTL_MS', 'milliseconds', { min: 1 }) ?? defaultCapabilityTtlMs,
    ...(incompleteTtlMs === undefined ? {} : { capabilityIncompleteTtlMs: incompleteTtlMs }),
  };
}

/** A function that talks to the database also accepts a driver to use instead of the one its configuration names. */
export interface DatabaseFunctionOptions extends FunctionOptions {
  /** Use this driver instead of the one the environment describes (tests on an in-memory database). */
  readonly driver?: Driver;
  /** Instead of the markers PENDING_WORK_BUCKET names (tests). */
  readonly pendingWork?: PendingWorkNotes;
}

/**
 * The function's "work pending" markers: the injected ones, or in S3 when PENDING_WORK_BUCKET is set (the SDK is
 * loaded on the first note), or none.
 */
export function functionPendingWork(settings: PendingWorkSettings | undefined, logger: Logger, options: DatabaseFunctionOptions = {}): PendingWorkNotes {
  return options.pendingWork ?? pendingNotesFor(settings, { logger });
}

/** Wraps a driver with the per-container capability cache and VideoDB. */
export function databaseServices(
  driver: Driver,
  logger: Logger,
  config: Pick<DatabaseConfig, 'capabilityTtlMs' | 'capabilityIncompleteTtlMs'> = { capabilityTtlMs: defaultCapabilityTtlMs },
  metrics: Metrics = noMetrics,
  pendingWork?: PendingWorkNotes,
  publishing?: EventPublishing,
): DatabaseServices {
  const capabilities = new CapabilityCache(driver, {
    ttlMs: config.capabilityTtlMs,
    ...(config.capabilityIncompleteTtlMs === undefined ? {} : { incompleteTtlMs: config.capabilityIncompleteTtlMs }),
  });
  // A deferral leaves work for reconcile: it is noted, so the next scheduled run sweeps even if the database pauses.
  const onDeferred = pendingWork && (async ({ videoId, stored }: { videoId: string; stored: boolean }) => pendingWork.note('deferred', { videoId, stored }));
  const events = publishing && new EventOutbox({ executor: driver, capabilities, ...publishing, logger, metrics, ...(pendingWork && { pendingWork }) });
  return { driver, capabilities, events, videos: new VideoDB({ executor: driver, capabilities, logger, metrics, ...(onDeferred && { onDeferred }), ...(events && { events }) }) };
}

/**
 * The Data API retries of a function behind API Gateway. HTTP APIs stop waiting after 30 s and the functions time
 * out at 29 s; retrying into that timeout answers a 500 `internal_error`. Retries end 5 s before the invocation's
 * timeout (20 s outside Lambda) and answer a 503 with Retry-After instead, while the cluster finishes resuming.
 */
export const httpDataApiRetry: DataApiRetryOptions = { maxElapsedMs: 20_000, safetyMarginMs: 5_000 };

/** How a function's data layer retries the Data API, and where it counts fallbacks, deferrals and retries. */
export interface FunctionDatabaseSeams {
  readonly dataApiRetry?: DataApiRetryOptions;
  readonly metrics?: Metrics;
  /** Where deferrals are noted as work pending (shared/storage/pending-work.ts). */
  readonly pendingWork?: PendingWorkNotes;
  /** A publishing function's events (shared/runtime/events.ts): the writes' events are put on its bus. */
  readonly events?: EventPublishing;
}

/** The function's data layer: over the injected driver, or over the driver its configuration names. */
export async function functionDatabase(
  config: DatabaseConfig,
  logger: Logger,
  options: DatabaseFunctionOptions = {},
  seams: FunctionDatabaseSeams = {},
): Promise<DatabaseServices> {
  const { dataApiRetry, metrics = noMetrics, pendingWork, events } = seams;
  const driver = options.driver ?? (await createDriver(config.driver, { logger, metrics, ...(dataApiRetry && { dataApiRetry }) }));
  return databaseServices(driver, logger, config, metrics, pendingWork, events);
}
