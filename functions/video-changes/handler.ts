/**
 * Changing a video: `PATCH /api/videos/{id}` edits its title and description. Owner or admin only; another owner's
 * video is a 404, like a missing one. The answer is the video as `GET /api/videos/{id}` shows it (signed playback
 * tokens included). It logs in as the application role (it writes rows), where the videos function stays read-only.
 */
import type { Env } from '../../shared/config/reader.js';
import type { Driver } from '../../shared/db/driver.js';
import type { VideoDB } from '../../shared/db/video-db.js';
import { httpHandler, idParams, route, type HttpHandler, type Route } from '../../shared/http/index.js';
import { functionLogger, functionMetrics } from '../../shared/runtime/config.js';
import { functionDatabase, httpDataApiRetry, type DatabaseFunctionOptions } from '../../shared/runtime/database.js';
import { lazyHandler } from '../../shared/runtime/lazy.js';
import * as z from '../../shared/zod.js';
import { bucketLinker, playbackSigning, videoAnswersConfigFromEnv, type VideoAnswersConfig } from '../../shared/runtime/video-links.js';
import { presentWithLinks, type StoredObjectLinker } from '../../shared/videos/access.js';
import type { PlaybackSigning } from '../../shared/videos/playback.js';
import { VideoEdits } from '../../shared/videos/video-edits.js';
import { videoDescription, videoTitle } from '../../shared/videos/video-text.js';

/** The fields of a video a caller may change, validated as at creation; at least one, nothing else. */
export const editVideoBody = z
  .strictObject({ title: z.optional(videoTitle()), description: z.optional(videoDescription()) })
  .check(z.refine((body) => body.title !== undefined || body.description !== undefined, { message: 'give title, description or both' }));

/** Route key (as in functions/routes.json) → route. */
export function videoChangeRoutes(edits: VideoEdits, link: StoredObjectLinker | undefined, signing?: PlaybackSigning): Record<string, Route> {
  return {
    'PATCH /api/videos/{id}': route({
      auth: 'user',
      params: idParams,
      body: editVideoBody,
      handle: async ({ params, body, principal }) => ({
        status: 200,
        body: { video: await presentWithLinks(await edits.edit(principal, params.id, body), link, signing) },
      }),
    }),
  };
}

export type VideoChangesHandlerOptions = DatabaseFunctionOptions;

/** What the video-changes function reads from its environment: the same as every function that answers with videos. */
export type VideoChangesConfig = VideoAnswersConfig;
export const videoChangesConfigFromEnv: (env: Env) => VideoChangesConfig = videoAnswersConfigFromEnv;

export function videoEdits(driver: Driver, videos: VideoDB): VideoEdits {
  return new VideoEdits({ executor: driver, videos });
}

export async function createHandler(env: Env, options: VideoChangesHandlerOptions = {}): Promise<HttpHandler> {
  const config = videoChangesConfigFromEnv(env);
  const logger = functionLogger(config, 'video-changes', options);
  const metrics = functionMetrics(logger, 'video-changes', options);
  const { driver, videos } = await functionDatabase(config.database, logger, options, { dataApiRetry: httpDataApiRetry, metrics });
  return httpHandler({
    name: 'video-changes',
    logger,
    adminGroup: config.adminGroup,
    routes: videoChangeRoutes(videoEdits(driver, videos), bucketLinker(config.storage), playbackSigning(config.mux)),
  });
}

export const handler = lazyHandler(() => createHandler(process.env));
