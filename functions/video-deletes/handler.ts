/**
 * Deleting a video: `DELETE /api/videos/{id}` (shared/videos/video-deletion.ts). Owner or admin; another owner's
 * video is a 404, like a missing one. `204` when everything is gone; `202` with the video (status `deleting`) when a
 * part must wait — an ingest in flight, Mux or S3 unreachable — which the reconcile job finishes. A video already gone
 * is a 404. The function logs in as the application role (it deletes rows), may delete objects under the upload
 * prefix only, and reads the Mux secret (it deletes assets) and the binding key (it recognises reelay's assets).
 */
import type { Env } from '../../shared/config/reader.js';
import { httpHandler, idParams, route, type HttpHandler, type Route } from '../../shared/http/index.js';
import { muxSettingsFromEnv, type MuxSettings } from '../../shared/mux/config.js';
import { eventBusSettingsFromEnv, type EventBusSettings } from '../../shared/events/config.js';
import { functionEventPublishing, type EventFunctionOptions } from '../../shared/runtime/events.js';
import { functionLogger, functionMetrics, httpFunctionConfigFromEnv, type HttpFunctionConfig } from '../../shared/runtime/config.js';
import { databaseConfigFromEnv, functionDatabase, functionPendingWork, httpDataApiRetry, type DatabaseConfig, type DatabaseFunctionOptions } from '../../shared/runtime/database.js';
import { lazyHandler } from '../../shared/runtime/lazy.js';
import { muxRuntime } from '../../shared/runtime/mux.js';
import { storageOnDemand } from '../../shared/runtime/storage-on-demand.js';
import { storageSettingsFromEnv, type StorageSettings } from '../../shared/storage/config.js';
import { pendingWorkSettingsFromEnv, type PendingWorkSettings } from '../../shared/storage/pending-work.js';
import { presentVideo } from '../../shared/videos/presenter.js';
import { deletionSettingsFromEnv, VideoDeletion, type VideoDeletionOptions } from '../../shared/videos/video-deletion.js';

export type VideoDeletesHandlerOptions = DatabaseFunctionOptions & EventFunctionOptions;

/** Everything the video-deletes function reads from its environment, parsed once at cold start. */
export interface VideoDeletesConfig extends HttpFunctionConfig {
  readonly database: DatabaseConfig;
  readonly mux: MuxSettings;
  readonly storage: StorageSettings;
  readonly deletion: Pick<VideoDeletionOptions, 'ingestGraceSeconds'>;
  /** PENDING_WORK_BUCKET: where a deletion left half-done (202) notes work for reconcile. */
  readonly pendingWork: PendingWorkSettings | undefined;
  /** EVENT_BUS_NAME: where the lifecycle changes this function makes are announced (unset: recorded only). */
  readonly events: EventBusSettings | undefined;
}

export function videoDeletesConfigFromEnv(env: Env): VideoDeletesConfig {
  return {
    ...httpFunctionConfigFromEnv(env),
    database: databaseConfigFromEnv(env),
    mux: muxSettingsFromEnv(env),
    storage: storageSettingsFromEnv(env),
    deletion: deletionSettingsFromEnv(env),
    pendingWork: pendingWorkSettingsFromEnv(env),
    events: eventBusSettingsFromEnv(env),
  };
}

/** Route key (as in functions/routes.json) → route. */
export function videoDeleteRoutes(deletion: Pick<VideoDeletion, 'request'>, playbackPolicy: MuxSettings['playbackPolicy']): Record<string, Route> {
  return {
    'DELETE /api/videos/{id}': route({
      auth: 'user',
      params: idParams,
      handle: async ({ params, principal }) => {
        const outcome = await deletion.request(principal, params.id);
        if (outcome.result === 'deleted') return { status: 204 };
        return { status: 202, body: { video: presentVideo(outcome.video, playbackPolicy), waitingFor: outcome.waitingFor } };
      },
    }),
  };
}

export async function createHandler(env: Env, options: VideoDeletesHandlerOptions = {}): Promise<HttpHandler> {
  const config = videoDeletesConfigFromEnv(env);
  const logger = functionLogger(config, 'video-deletes', options);
  const metrics = functionMetrics(logger, 'video-deletes', options);
  const pendingWork = functionPendingWork(config.pendingWork, logger, options);
  const publishing = functionEventPublishing(config.events, config.mux.playbackPolicy, logger, options);
  const { driver, capabilities, events } = await functionDatabase(config.database, logger, options, { dataApiRetry: httpDataApiRetry, metrics, pendingWork, events: publishing });
  const mux = muxRuntime(config.mux);
  const deletion = new VideoDeletion({
    executor: driver,
    storage: storageOnDemand(config.storage),
    gateway: mux.gateway,
    binding: mux.binding,
    logger,
    capabilities,
    ...(events && { events }),
    ...config.deletion,
  });
  // A deletion that must wait (202) is finished by reconcile: noted, so its next run comes even to a paused database.
  const noting: Pick<VideoDeletion, 'request'> = {
    request: async (viewer, id) => {
      const outcome = await deletion.request(viewer, id);
      if (outcome.result === 'deleting') await pendingWork.note('deletion', { videoId: outcome.video.id, waitingFor: outcome.waitingFor });
      return outcome;
    },
  };
  return httpHandler({ name: 'video-deletes', logger, adminGroup: config.adminGroup, routes: videoDeleteRoutes(noting, config.mux.playbackPolicy) });
}

export const handler = lazyHandler(() => createHandler(process.env));
