/**
 * The video as the HTTP API shows it. One function, used by every route that returns a video, so the JSON shape is
 * defined once. On a legacy schema (no Mux columns) the Mux, audio and captions blocks are null.
 */
import { hasMuxColumns, type MuxFields, type VideoRecord, type VideoStatus } from '../db/video-fields.js';
import type { MuxPlaybackPolicy } from '../mux/assets.js';

/** The Mux fields the API shows in its `mux` block (the others appear under `audio` and `captions`, or not at all). */
type PresentedMuxField =
  | 'assetId' | 'playbackId' | 'uploadId' | 'status' | 'thumbnailUrl' | 'streamingUrl' | 'mp4Url'
  | 'durationSeconds' | 'aspectRatio' | 'createdAt' | 'readyAt' | 'error';

/** A record's fields as JSON carries them: timestamps become ISO strings. */
type JsonFields<T> = { [K in keyof T]: T[K] extends Date | null ? string | null : T[K] };

export interface VideoJson {
  id: string;
  /** The uploader's `sub`: for an admin, whose video it is. */
  ownerId: string;
  title: string;
  description: string | null;
  status: VideoStatus;
  filename: string;
  contentType: string;
  size: number;
  createdAt: string;
  updatedAt: string;
  mux:
    | (JsonFields<Pick<MuxFields, PresentedMuxField>> & {
        /** The deployment's policy: `signed` URLs carry a `token` minted at read time (shared/videos/playback.ts). */
        playbackPolicy: MuxPlaybackPolicy;
        /** When the tokens in the URLs expire (ISO); null when the URLs carry none. */
        playbackTokenExpiresAt: string | null;
      })
    | null;
  audio: { enhanced: boolean | null; jobId: string | null } | null;
  captions: {
    webvttUrl: string | null;
    srtUrl: string | null;
    transcriptText: string | null;
    transcriptConfidence: number | null;
    jobId: string | null;
  } | null;
}

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

/**
 * The stored URLs as they are: without tokens. A read for a signed policy adds them (shared/videos/playback.ts);
 * `playbackPolicy` defaults to `public` for the routes that show a video before it has a playback id.
 */
export function presentVideo(video: VideoRecord, playbackPolicy: MuxPlaybackPolicy = 'public'): VideoJson {
  const { mux } = video;
  const migrated = hasMuxColumns(video);
  return {
    id: video.id,
    ownerId: video.ownerId,
    title: video.title,
    description: video.description,
    status: video.status,
    filename: video.originalFilename,
    contentType: video.contentType,
    size: video.sizeBytes,
    createdAt: video.createdAt.toISOString(),
    updatedAt: video.updatedAt.toISOString(),
    mux: migrated
      ? {
          assetId: mux.assetId,
          playbackId: mux.playbackId,
          uploadId: mux.uploadId,
          status: mux.status,
          thumbnailUrl: mux.thumbnailUrl,
          streamingUrl: mux.streamingUrl,
          mp4Url: mux.mp4Url,
          durationSeconds: mux.durationSeconds,
          aspectRatio: mux.aspectRatio,
          createdAt: iso(mux.createdAt),
          readyAt: iso(mux.readyAt),
          error: mux.error,
          playbackPolicy,
          playbackTokenExpiresAt: null,
        }
      : null,
    audio: migrated ? { enhanced: mux.audioEnhanced, jobId: mux.audioEnhancementJobId } : null,
    captions: migrated
      ? {
          webvttUrl: mux.captionsWebvttUrl,
          srtUrl: mux.captionsSrtUrl,
          transcriptText: mux.transcriptText,
          transcriptConfidence: mux.transcriptConfidence === null ? null : Number(mux.transcriptConfidence),
          jobId: mux.transcriptionJobId,
        }
      : null,
  };
}
