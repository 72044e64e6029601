/**
 * The retry-and-reconcile Lambda. On its schedule (an EventBridge event) it runs every sweep; invoked directly
 * (`aws lambda invoke --payload '{"action":"backfill","limit":50}'`) it runs the one asked for. Returns the summary
 * `{ restored, reconciled, captions, retried, backfilled, deleted, failed }` (shared/videos/reconcile-service.ts).
 */
import * as z from 'zod';
import { readInteger, type Env } from '../../shared/config/reader.js';
import { ValidationError } from '../../shared/errors.js';
import { muxSettingsFromEnv, type MuxSettings } from '../../shared/mux/config.js';
import { functionConfigFromEnv, functionLogger, functionMetrics, type FunctionConfig } from '../../shared/runtime/config.js';
import { databaseConfigFromEnv, functionDatabase, type DatabaseConfig, type DatabaseFunctionOptions } from '../../shared/runtime/database.js';
import { lazyHandler, once } from '../../shared/runtime/lazy.js';
import { muxRuntime } from '../../shared/runtime/mux.js';
import { storageOnDemand } from '../../shared/runtime/storage-on-demand.js';
import { optionalStorageSettingsFromEnv, type StorageSettings } from '../../shared/storage/config.js';
import { AssetOwnership } from '../../shared/videos/asset-ownership.js';
import { CaptionsService } from '../../shared/videos/captions-service.js';
import type { IngestService, IngestServiceOptions } from '../../shared/videos/ingest-service.js';
import { ingestSettingsFromEnv } from '../../shared/videos/ingest-settings.js';
import { reconcileActions, ReconcileService, type ReconcileSummary } from '../../shared/videos/reconcile-service.js';
import { deletionSettingsFromEnv, VideoDeletion, type VideoDeletionOptions } from '../../shared/videos/video-deletion.js';

export type ReconcileHandlerOptions = DatabaseFunctionOptions;

/** Everything the reconcile function reads from its environment, parsed once at cold start. */
export interface ReconcileConfig extends FunctionConfig {
  readonly database: DatabaseConfig;
  readonly mux: MuxSettings;
  /** The bucket is needed only by sweeps that ingest or write captions; undefined when UPLOAD_BUCKET is unset. */
  readonly storage: StorageSettings | undefined;
  readonly ingest: Pick<IngestServiceOptions, 'inputUrlTtlSeconds' | 'staleClaimSeconds'>;
  /** MAX_INGEST_ATTEMPTS: the service's default when unset. */
  readonly maxIngestAttempts: number | undefined;
  readonly deletion: Pick<VideoDeletionOptions, 'ingestGraceSeconds'>;
}

export function reconcileConfigFromEnv(env: Env): ReconcileConfig {
  return {
    ...functionConfigFromEnv(env),
    database: databaseConfigFromEnv(env),
    mux: muxSettingsFromEnv(env),
    storage: optionalStorageSettingsFromEnv(env),
    ingest: ingestSettingsFromEnv(env),
    maxIngestAttempts: readInteger(env, 'MAX_INGEST_ATTEMPTS', { min: 1 }),
    deletion: deletionSettingsFromEnv(env),
  };
}

const invocation = z.strictObject({
  action: z.enum(reconcileActions),
  limit: z.number().int().min(1).max(1000).optional(),
});

/** A direct invocation names an action; anything without one (the schedule's EventBridge event) runs them all. */
function parseRequest(event: unknown): { actions: readonly (typeof reconcileActions)[number][]; limit?: number } {
  if (typeof event !== 'object' || event === null || !('action' in event)) return { actions: reconcileActions };
  const parsed = invocation.safeParse(event);
  if (!parsed.success) {
    throw new ValidationError(`Invalid reconcile request: expected { "action": ${reconcileActions.map((action) => `"${action}"`).join(' | ')}, "limit"?: 1..1000 }`);
  }
  return { actions: [parsed.data.action], ...(parsed.data.limit === undefined ? {} : { limit: parsed.data.limit }) };
}

export async function createHandler(env: Env, options: ReconcileHandlerOptions = {}): Promise<(event: unknown) => Promise<ReconcileSummary>> {
  const config = reconcileConfigFromEnv(env);
  const logger = functionLogger(config, 'reconcile', options);
  const metrics = functionMetrics(logger, 'reconcile', options);
  const { driver, videos } = await functionDatabase(config.database, logger, options, { metrics });
  const mux = muxRuntime(config.mux);
  const settings = config.ingest;
  // Most runs find nothing to ingest and no captions to write: the ingest service and the S3 client it brings are
  // loaded by the first sweep that needs them, not at cold start (the settings were checked with the rest).
  const storage = storageOnDemand(config.storage);
  const deletion = new VideoDeletion({ executor: driver, storage, gateway: mux.gateway, binding: mux.binding, logger, ...config.deletion });
  const ingestService = once(async () => {
    const { IngestService } = await import('../../shared/videos/ingest-service.js');
    return new IngestService({ videos, storage: await storage(), gateway: mux.gateway, binding: mux.binding, logger, deletion: async () => deletion, ...settings });
  });
  const ingest: Pick<IngestService, 'ingestVideo'> = { ingestVideo: async (video, request) => (await ingestService()).ingestVideo(video, request) };
  const captions = new CaptionsService({ storage, urls: mux.urls, playbackPolicy: mux.config.playbackPolicy, signingKey: () => mux.config.loadSigningKey(), logger });
  const ownership = new AssetOwnership({ binding: mux.binding, gateway: mux.gateway, storage });
  const { maxIngestAttempts } = config;
  const reconcile = new ReconcileService({
    videos,
    ingest,
    captions,
    mux,
    ownership,
    deletion,
    logger,
    metrics,
    ...(maxIngestAttempts === undefined ? {} : { maxIngestAttempts }),
    ...(settings.staleClaimSeconds === undefined ? {} : { staleClaimSeconds: settings.staleClaimSeconds }),
  });
  return async (event) => {
    const request = parseRequest(event);
    const summary = await reconcile.run(request.actions, request.limit);
    // Every run counts every result, zeros too: a graph with a point per run shows that the schedule runs.
    // (`restored` is DeferredPayloadsRestored, counted by the service with the pending gauge.)
    const properties = { actions: request.actions };
    metrics.count('ReconcileRecovered', summary.reconciled, { properties });
    metrics.count('ReconcileCaptions', summary.captions, { properties });
    metrics.count('ReconcileRetried', summary.retried, { properties });
    metrics.count('ReconcileBackfilled', summary.backfilled, { properties });
    metrics.count('ReconcileFailed', summary.failed, { properties });
    return summary;
  };
}

export const handler = lazyHandler<unknown, unknown, ReconcileSummary>(() => createHandler(process.env));
