/**
 * Who may see which video, and videos as a caller receives them. A video belongs to the `sub` that created it;
 * admins see every video. A video the caller may not see is reported exactly like one that does not exist, so ids
 * cannot be probed.
 */
import type { VideoDB } from '../db/video-db.js';
import type { VideoRecord } from '../db/video-fields.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { withPlaybackTokens, type PlaybackSigning } from './playback.js';
import { presentVideo, type VideoJson } from './presenter.js';

/** The part of a principal that decides visibility (shared/http's Principal fits). */
export interface Viewer {
  readonly sub: string;
  readonly admin: boolean;
}

export function canSee(viewer: Viewer, video: VideoRecord): boolean {
  return viewer.admin || video.ownerId === viewer.sub;
}

export async function loadVisibleVideo(videos: VideoDB, id: string, viewer: Viewer): Promise<VideoRecord> {
  const video = await videos.findById(id);
  if (video === null || !canSee(viewer, video)) throw new NotFoundError(`No video ${id}.`);
  return video;
}

export const defaultPageSize = 20;
export const maxPageSize = 100;

export interface VideoPage<V> {
  readonly videos: V[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  readonly nextCursor: string | null;
}

/** Newest first; the caller's own videos, or everyone's for an admin. */
export async function listVisibleVideos(
  videos: VideoDB,
  viewer: Viewer,
  page: { readonly limit?: number; readonly cursor?: string } = {},
): Promise<VideoPage<VideoRecord>> {
  const limit = page.limit ?? defaultPageSize;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) {
    throw new ValidationError(`limit must be 1..${maxPageSize}`, [{ path: ['limit'], message: `must be an integer from 1 to ${maxPageSize}` }]);
  }
  return videos.list({
    limit,
    ...(viewer.admin ? {} : { ownerId: viewer.sub }),
    ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
  });
}

export interface S3Reference {
  readonly bucket: string;
  readonly key: string;
}

/** `s3://bucket/key` (how files reelay writes itself, such as SRT captions, are stored) or undefined. */
export function parseS3Reference(value: string): S3Reference | undefined {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(value);
  return match === null ? undefined : { bucket: match[1] as string, key: match[2] as string };
}

/** A URL a browser can fetch for a stored object, or null when this function cannot sign for it. */
export type StoredObjectLinker = (reference: S3Reference) => Promise<string | null>;

/**
 * {@link presentVideo}, with links to objects reelay stored itself turned into URLs the caller can use. An `s3://`
 * reference is never shown as is: without a linker (no bucket configured) it reads as null. With a signed playback
 * policy, the playback URLs get their tokens (shared/videos/playback.ts).
 */
export async function presentWithLinks(
  video: VideoRecord,
  link: StoredObjectLinker | undefined,
  signing?: PlaybackSigning,
): Promise<VideoJson> {
  const json = await withPlaybackTokens(presentVideo(video), signing);
  const reference = json.captions?.srtUrl == null ? undefined : parseS3Reference(json.captions.srtUrl);
  if (json.captions === null || reference === undefined) return json;
  return { ...json, captions: { ...json.captions, srtUrl: link === undefined ? null : await link(reference) } };
}
