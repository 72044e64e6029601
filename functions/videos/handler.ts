/**
 * Reading videos: the caller's list (everyone's for admins), newest first with keyset pagination, and one video.
 * Another owner's video is a 404, like a missing one.
 */
import * as z from 'zod';
import type { Driver } from '../../shared/db/driver.js';
import type { VideoDB } from '../../shared/db/video-db.js';
import { adminGroupFromEnv, httpHandler, idParams, route, text, type HttpHandler, type Route } from '../../shared/http/index.js';
import type { Logger } from '../../shared/log.js';
import { functionDatabase, functionLogger, httpDataApiRetry } from '../../shared/runtime/database.js';
import { once, lazyHandler, type Env } from '../../shared/runtime/lazy.js';
import { muxConfigFromEnv } from '../../shared/mux/config.js';
import type { PlaybackSigning } from '../../shared/videos/playback.js';
import {
  defaultPageSize,
  listVisibleVideos,
  loadVisibleVideo,
  maxPageSize,
  presentWithLinks,
  type StoredObjectLinker,
} from '../../shared/videos/access.js';

/** How long a link to a stored file (SRT captions) in a response stays valid. */
export const storedObjectLinkSeconds = 3600;

export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(maxPageSize).default(defaultPageSize),
  cursor: text().min(1).max(512).optional(),
});

/**
 * Presigned GET URLs for objects in the upload bucket. The S3 modules are imported on first use, so listing videos
 * without stored captions never loads them (cold start). Without UPLOAD_BUCKET there is nothing to sign with.
 */
function bucketLinker(env: Env): StoredObjectLinker | undefined {
  if (!env.UPLOAD_BUCKET) return undefined;
  const storage = once(async () => (await import('../../shared/runtime/storage.js')).storageFromEnv(env).storage);
  return async (reference) => {
    const uploads = await storage();
    if (reference.bucket !== uploads.bucket) return null;
    return (await uploads.presignGet({ key: reference.key, ttlSeconds: storedObjectLinkSeconds })).url;
  };
}

/**
 * The playback policy and, for `signed`, the URL signing key (from the Mux secret in AWS, MUX_SIGNING_* locally),
 * read on first use: a public deployment never reads it.
 */
export function playbackSigningFromEnv(env: Env): PlaybackSigning {
  const config = muxConfigFromEnv(env);
  return { policy: config.playbackPolicy, ttlSeconds: config.playbackTokenTtlSeconds, loadKey: () => config.loadSigningKey() };
}

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

export interface VideosHandlerOptions {
  readonly logger?: Logger;
  /** Use this driver instead of the one the environment describes (tests on an in-memory database). */
  readonly driver?: Driver;
}

export async function createHandler(env: Env = process.env, options: VideosHandlerOptions = {}): Promise<HttpHandler> {
  const logger = functionLogger(env, 'videos', options);
  const { videos } = await functionDatabase(env, logger, options, httpDataApiRetry);
  return httpHandler({ name: 'videos', logger, adminGroup: adminGroupFromEnv(env), routes: videoRoutes(videos, bucketLinker(env), playbackSigningFromEnv(env)) });
}

export const handler = lazyHandler(() => createHandler(process.env));
