/**
 * The upload routes: create a video with presigned URLs, sign more multipart parts, list uploaded parts (resume),
 * complete, abort. Parse → UploadService → respond.
 */
import type { Env } from '../../shared/config/reader.js';
import { httpHandler, idParams, route, text, type HttpHandler, type Route } from '../../shared/http/index.js';
import { functionLogger, functionMetrics, httpFunctionConfigFromEnv, type HttpFunctionConfig } from '../../shared/runtime/config.js';
import { databaseConfigFromEnv, functionDatabase, functionPendingWork, httpDataApiRetry, type DatabaseConfig, type DatabaseFunctionOptions } from '../../shared/runtime/database.js';
import { lazyHandler } from '../../shared/runtime/lazy.js';
import * as z from '../../shared/zod.js';
import { eventBusSettingsFromEnv, type EventBusSettings } from '../../shared/events/config.js';
import { functionEventPublishing, type EventFunctionOptions } from '../../shared/runtime/events.js';
import { pendingWorkSettingsFromEnv, type PendingWorkSettings } from '../../shared/storage/pending-work.js';
import { storageServices } from '../../shared/runtime/storage.js';
import { S3Limits, storageSettingsFromEnv, type StorageSettings } from '../../shared/storage/config.js';
import { muxSettingsFromEnv } from '../../shared/mux/config.js';
import type { MuxPlaybackPolicy } from '../../shared/mux/assets.js';
import { UploadService } from '../../shared/videos/upload-service.js';
import { videoDescription, videoTitle } from '../../shared/videos/video-text.js';

const partNumber = z.number().check(z.int(), z.minimum(1), z.maximum(S3Limits.maxParts));

const distinct = (numbers: readonly number[]) => new Set(numbers).size === numbers.length;

export const createUploadBody = z.strictObject({
  title: videoTitle(),
  description: z.optional(videoDescription()),
  filename: text().check(z.minLength(1), z.maxLength(255)),
  // The allowlist is checked by the service, so an unaccepted type is a 415, not a schema error.
  contentType: text().check(z.minLength(1), z.maxLength(255)),
  // No upper bound here: over the configured maximum is a 413 from the service.
  size: z.number().check(z.int(), z.positive()),
  options: z.optional(
    z.strictObject({ captions: z.optional(z.boolean()), normalizeAudio: z.optional(z.boolean()), mp4: z.optional(z.boolean()) }),
  ),
});

export const signPartsBody = z.strictObject({
  partNumbers: z.array(partNumber).check(z.minLength(1), z.maxLength(1_000), z.refine(distinct, 'part numbers must be distinct')),
});

export const completeBody = z.strictObject({
  parts: z
    // An ETag is S3's quoted hex digest: printable ASCII (S3 refuses other characters in the XML with a 400).
    .array(z.strictObject({ partNumber, etag: text().check(z.minLength(1), z.maxLength(1_024), z.regex(/^[\x20-\x7e]*$/, 'must be the ETag S3 returned for the part')) }))
    .check(
      z.minLength(1),
      z.maxLength(S3Limits.maxParts),
      z.refine((parts) => distinct(parts.map((part) => part.partNumber)), 'part numbers must be distinct'),
    ),
});

/** Route key (as in functions/routes.json) → route. */
export function uploadRoutes(service: UploadService): Record<string, Route> {
  return {
    'POST /api/videos/upload': route({
      auth: 'user',
      body: createUploadBody,
      handle: async ({ body, principal, headers }) => {
        const idempotencyKey = headers['idempotency-key'];
        const { replayed, ...created } = await service.createUpload(principal, body, idempotencyKey === undefined ? {} : { idempotencyKey });
        return { status: 201, body: created, ...(replayed ? { headers: { 'idempotent-replayed': 'true' } } : {}) };
      },
    }),
    'POST /api/videos/{id}/upload/parts': route({
      auth: 'user',
      params: idParams,
      body: signPartsBody,
      handle: async ({ params, body, principal }) => ({ status: 200, body: await service.signParts(principal, params.id, body.partNumbers) }),
    }),
    'GET /api/videos/{id}/upload/parts': route({
      auth: 'user',
      params: idParams,
      handle: async ({ params, principal }) => ({ status: 200, body: await service.listParts(principal, params.id) }),
    }),
    'POST /api/videos/{id}/upload/complete': route({
      auth: 'user',
      params: idParams,
      body: completeBody,
      handle: async ({ params, body, principal }) => ({ status: 200, body: { video: await service.complete(principal, params.id, body.parts) } }),
    }),
    'DELETE /api/videos/{id}/upload': route({
      auth: 'user',
      params: idParams,
      handle: async ({ params, principal }) => {
        await service.abort(principal, params.id);
        return { status: 204 };
      },
    }),
  };
}

export interface UploadsHandlerOptions extends DatabaseFunctionOptions, EventFunctionOptions {
  /** Part URLs in the create response (default 100). */
  readonly initialPartBatch?: number;
}

/** Everything the uploads function reads from its environment, parsed once at cold start. */
export interface UploadsConfig extends HttpFunctionConfig {
  readonly database: DatabaseConfig;
  readonly storage: StorageSettings;
  /** MUX_PLAYBACK_POLICY, which the upload answers name (the other Mux variables are checked with it). */
  readonly playbackPolicy: MuxPlaybackPolicy;
  /** PENDING_WORK_BUCKET: where a create that defers Mux data notes work for reconcile. */
  readonly pendingWork: PendingWorkSettings | undefined;
  /** EVENT_BUS_NAME: where created, uploaded and cancelled videos are announced (unset: recorded only). */
  readonly events: EventBusSettings | undefined;
}

export function uploadsConfigFromEnv(env: Env): UploadsConfig {
  return {
    ...httpFunctionConfigFromEnv(env),
    database: databaseConfigFromEnv(env),
    storage: storageSettingsFromEnv(env),
    playbackPolicy: muxSettingsFromEnv(env).playbackPolicy,
    pendingWork: pendingWorkSettingsFromEnv(env),
    events: eventBusSettingsFromEnv(env),
  };
}

export async function createHandler(env: Env, options: UploadsHandlerOptions = {}): Promise<HttpHandler> {
  const config = uploadsConfigFromEnv(env);
  const logger = functionLogger(config, 'uploads', options);
  const metrics = functionMetrics(logger, 'uploads', options);
  const pendingWork = functionPendingWork(config.pendingWork, logger, options);
  const events = functionEventPublishing(config.events, config.playbackPolicy, logger, options);
  const { videos } = await functionDatabase(config.database, logger, options, { dataApiRetry: httpDataApiRetry, metrics, pendingWork, events });
  const { storage } = storageServices(config.storage);
  const service = new UploadService({
    videos,
    storage,
    config: config.storage.config,
    logger,
    ...(options.initialPartBatch === undefined ? {} : { initialPartBatch: options.initialPartBatch }),
    playbackPolicy: config.playbackPolicy,
  });
  return httpHandler({ name: 'uploads', logger, adminGroup: config.adminGroup, routes: uploadRoutes(service) });
}

export const handler = lazyHandler(() => createHandler(process.env));
