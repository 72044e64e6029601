/**
 * What a function that shows videos needs beside the rows, from its parsed configuration: presigned links to files
 * reelay stored itself (SRT captions) and the playback policy with its URL signing key. Shared by every route that
 * answers with a presented video (the videos and video-changes functions), so their answers are the same.
 */
import type { Env } from '../config/reader.js';
import { muxConfig, muxSettingsFromEnv, type MuxSettings } from '../mux/config.js';
import { optionalStorageSettingsFromEnv, type StorageSettings } from '../storage/config.js';
import type { StoredObjectLinker } from '../videos/access.js';
import type { PlaybackSigning } from '../videos/playback.js';
import { httpFunctionConfigFromEnv, type HttpFunctionConfig } from './config.js';
import { databaseConfigFromEnv, type DatabaseConfig } from './database.js';
import { storageOnDemand } from './storage-on-demand.js';

/** Everything a function that answers with presented videos reads from its environment, parsed once at cold start. */
export interface VideoAnswersConfig extends HttpFunctionConfig {
  readonly database: DatabaseConfig;
  /** For links to stored captions in the answer; undefined when UPLOAD_BUCKET is unset. */
  readonly storage: StorageSettings | undefined;
  /** The playback policy, token lifetime and where the signing key comes from (tokens in the answer). */
  readonly mux: MuxSettings;
}

export function videoAnswersConfigFromEnv(env: Env): VideoAnswersConfig {
  return {
    ...httpFunctionConfigFromEnv(env),
    database: databaseConfigFromEnv(env),
    storage: optionalStorageSettingsFromEnv(env),
    mux: muxSettingsFromEnv(env),
  };
}

/** How long a link to a stored file (SRT captions) in a response stays valid. */
export const storedObjectLinkSeconds = 3600;

/**
 * Presigned GET URLs for objects in the upload bucket. The S3 modules are imported on first use, so listing videos
 * without stored captions never loads them (cold start). Without UPLOAD_BUCKET there is nothing to sign with.
 */
export function bucketLinker(settings: StorageSettings | undefined): StoredObjectLinker | undefined {
  if (settings === undefined) return undefined;
  const storage = storageOnDemand(settings);
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
export function playbackSigning(settings: MuxSettings): PlaybackSigning {
  const config = muxConfig(settings);
  return { policy: config.playbackPolicy, ttlSeconds: config.playbackTokenTtlSeconds, loadKey: () => config.loadSigningKey() };
}
