/**
 * The retry-and-reconcile Lambda. On its schedule (an EventBridge event) it runs every sweep; invoked directly
 * (`aws lambda invoke --payload '{"action":"backfill","limit":50}'`) it runs the one asked for. Returns the summary
 * `{ restored, reconciled, captions, retried, backfilled, failed }` (shared/videos/reconcile-service.ts).
 */
import * as z from 'zod';
import type { Driver } from '../../shared/db/driver.js';
import { ValidationError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { functionDatabase, functionLogger } from '../../shared/runtime/database.js';
import { lazyHandler, once, type Env } from '../../shared/runtime/lazy.js';
import { wholeNumberFromEnv } from '../../shared/runtime/env.js';
import { muxFromEnv } from '../../shared/runtime/mux.js';
import { AssetOwnership } from '../../shared/videos/asset-ownership.js';
import { CaptionsService } from '../../shared/videos/captions-service.js';
import type { IngestService } from '../../shared/videos/ingest-service.js';
import { ingestSettingsFromEnv } from '../../shared/videos/ingest-settings.js';
import { reconcileActions, ReconcileService, type ReconcileSummary } from '../../shared/videos/reconcile-service.js';

export interface ReconcileHandlerOptions {
  readonly logger?: Logger;
  /** Use this driver instead of the one the environment describes (tests on an in-memory database). */
  readonly driver?: Driver;
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

export async function createHandler(env: Env = process.env, options: ReconcileHandlerOptions = {}): Promise<(event: unknown) => Promise<ReconcileSummary>> {
  const logger = functionLogger(env, 'reconcile', options);
  const { videos } = await functionDatabase(env, logger, options);
  const mux = muxFromEnv(env);
  const settings = ingestSettingsFromEnv(env);
  // Most runs find nothing to ingest and no captions to write: the ingest service and the S3 client it brings are
  // loaded by the first sweep that needs them, not at cold start. A bad S3 setting fails that sweep instead.
  const storage = once(async () => (await import('../../shared/runtime/storage.js')).storageFromEnv(env).storage);
  const ingestService = once(async () => {
    const { IngestService } = await import('../../shared/videos/ingest-service.js');
    return new IngestService({ videos, storage: await storage(), gateway: mux.gateway, binding: mux.binding, logger, ...settings });
  });
  const ingest: Pick<IngestService, 'ingestVideo'> = { ingestVideo: async (video, request) => (await ingestService()).ingestVideo(video, request) };
  const captions = new CaptionsService({ storage, urls: mux.urls, playbackPolicy: mux.config.playbackPolicy, signingKey: () => mux.config.loadSigningKey(), logger });
  const ownership = new AssetOwnership({ binding: mux.binding, gateway: mux.gateway, storage });
  const maxIngestAttempts = wholeNumberFromEnv(env, 'MAX_INGEST_ATTEMPTS');
  const reconcile = new ReconcileService({
    videos,
    ingest,
    captions,
    mux,
    ownership,
    logger,
    ...(maxIngestAttempts === undefined ? {} : { maxIngestAttempts }),
    ...(settings.staleClaimSeconds === undefined ? {} : { staleClaimSeconds: settings.staleClaimSeconds }),
  });
  return async (event) => {
    const request = parseRequest(event);
    return reconcile.run(request.actions, request.limit);
  };
}

export const handler = lazyHandler<unknown, unknown, ReconcileSummary>(() => createHandler(process.env));
