/**
 * Changing a video: `PATCH /api/videos/{id}` edits its title and description. Owner or admin only; another owner's
 * video is a 404, like a missing one. The answer is the video as `GET /api/videos/{id}` shows it (signed playback
 * tokens included). It logs in as the application role (it writes rows), where the videos function stays read-only.
 */
import * as z from 'zod';
import type { Driver } from '../../shared/db/driver.js';
import type { VideoDB } from '../../shared/db/video-db.js';
import { adminGroupFromEnv, httpHandler, idParams, route, type HttpHandler, type Route } from '../../shared/http/index.js';
import type { Logger } from '../../shared/log.js';
import { functionDatabase, functionLogger, httpDataApiRetry } from '../../shared/runtime/database.js';
import { lazyHandler, type Env } from '../../shared/runtime/lazy.js';
import { bucketLinker, playbackSigningFromEnv } from '../../shared/runtime/video-links.js';
import { presentWithLinks, type StoredObjectLinker } from '../../shared/videos/access.js';
import type { PlaybackSigning } from '../../shared/videos/playback.js';
import { VideoEdits } from '../../shared/videos/video-edits.js';
import { videoDescription, videoTitle } from '../../shared/videos/video-text.js';

/** The fields of a video a caller may change, validated as at creation; at least one, nothing else. */
export const editVideoBody = z
  .strictObject({ title: videoTitle().optional(), description: videoDescription().optional() })
  .refine((body) => body.title !== undefined || body.description !== undefined, { message: 'give title, description or both' });

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

export interface VideoChangesHandlerOptions {
  readonly logger?: Logger;
  /** Use this driver instead of the one the environment describes (tests on an in-memory database). */
  readonly driver?: Driver;
}

export function videoEdits(driver: Driver, videos: VideoDB): VideoEdits {
  return new VideoEdits({ executor: driver, videos });
}

export async function createHandler(env: Env = process.env, options: VideoChangesHandlerOptions = {}): Promise<HttpHandler> {
  const logger = functionLogger(env, 'video-changes', options);
  const { driver, videos } = await functionDatabase(env, logger, options, httpDataApiRetry);
  return httpHandler({
    name: 'video-changes',
    logger,
    adminGroup: adminGroupFromEnv(env),
    routes: videoChangeRoutes(videoEdits(driver, videos), bucketLinker(env), playbackSigningFromEnv(env)),
  });
}

export const handler = lazyHandler(() => createHandler(process.env));
