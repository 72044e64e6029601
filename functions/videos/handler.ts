/**
 * Reading videos: the caller's list (everyone's for admins), newest first with keyset pagination, and one video.
 * Another owner's video is a 404, like a missing one.
 */
import type { Env } from '../../shared/config/reader.js';
import type { VideoDB } from '../../shared/db/video-db.js';
import { httpHandler, idParams, route, text, type HttpHandler, type Route } from '../../shared/http/index.js';
import { functionLogger, functionMetrics } from '../../shared/runtime/config.js';
import { functionDatabase, httpDataApiRetry, type DatabaseFunctionOptions } from '../../shared/runtime/database.js';
import { lazyHandler } from '../../shared/runtime/lazy.js';
import * as z from '../../shared/zod.js';
import { bucketLinker, playbackSigning, videoAnswersConfigFromEnv, type VideoAnswersConfig } from '../../shared/runtime/video-links.js';
import type { PlaybackSigning } from '../../shared/videos/playback.js';
import {
  defaultPageSize,
  listVisibleVideos,
  loadVisibleVideo,
  maxPageSize,
  presentWithLinks,
  type StoredObjectLinker,
} from '../../shared/videos/access.js';

export const listQuery = z.strictObject({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(maxPageSize)), defaultPageSize),
  cursor: z.optional(text().check(z.minLength(1), z.maxLength(512))),
});

/** Route key (as in functions/routes.json) → route. */
export function videoRoutes(videos: VideoDB, link: StoredObjectLinker | undefined, signing?: PlaybackSigning): Record<string, Route> {
  return {
    'GET /api/videos': route({
      auth: 'user',
      query: listQuery,
      handle: async ({ query, principal }) => {
        const page = await listVisibleVideos(videos, principal, query);
        const presented = await Promise.all(page.videos.map((video) => presentWithLinks(video, link, signing)));
        return { status: 200, body: { videos: presented, nextCursor: page.nextCursor } };
      },
    }),
    'GET /api/videos/{id}': route({
      auth: 'user',
      params: idParams,
      handle: async ({ params, principal }) => ({
        status: 200,
        body: { video: await presentWithLinks(await loadVisibleVideo(videos, params.id, principal), link, signing) },
      }),
    }),
  };
}

/** Re-exported: what the videos function's answers are built with (shared/runtime/video-links.ts). */
export { playbackSigning, storedObjectLinkSeconds } from '../../shared/runtime/video-links.js';

export type VideosHandlerOptions = DatabaseFunctionOptions;

/** What the videos function reads from its environment: the same as every function that answers with videos. */
export type VideosConfig = VideoAnswersConfig;
export const videosConfigFromEnv: (env: Env) => VideosConfig = videoAnswersConfigFromEnv;

export async function createHandler(env: Env, options: VideosHandlerOptions = {}): Promise<HttpHandler> {
  const config = videosConfigFromEnv(env);
  const logger = functionLogger(config, 'videos', options);
  const metrics = functionMetrics(logger, 'videos', options);
  const { videos } = await functionDatabase(config.database, logger, options, { dataApiRetry: httpDataApiRetry, metrics });
  return httpHandler({ name: 'videos', logger, adminGroup: config.adminGroup, routes: videoRoutes(videos, bucketLinker(config.storage), playbackSigning(config.mux)) });
}

export const handler = lazyHandler(() => createHandler(process.env));
