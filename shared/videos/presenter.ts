/**
 * The video as the HTTP API shows it. One function, used by every route that returns a video, so the JSON shape is
 * defined once. On a legacy schema (no Mux columns) the Mux, audio and captions blocks are null.
 */
import type { VideoRecord, VideoStatus, MuxStatus } from '../db/video-fields.js';

export interface VideoJson {
  id: string;
  title: string;
  description: string | null;
  status: VideoStatus;
  filename: string;
  contentType: string;
  size: number;
  createdAt: string;
  updatedAt: string;
  mux: {
    assetId: string | null;
    playbackId: string | null;
    uploadId: string | null;
    status: MuxStatus | null;
    thumbnailUrl: string | null;
    streamingUrl: string | null;
    mp4Url: string | null;
    durationSeconds: number | null;
    aspectRatio: string | null;
    createdAt: string | null;
    readyAt: string | null;
    error: string | null;
  } | null;
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

/** True when the row came from a schema with the Mux columns (they have non-null defaults there). */
export function hasMuxColumns(video: VideoRecord): boolean {
  return video.mux.status !== null || video.mux.audioEnhanced !== null || video.mux.ingestAttempts !== null;
}

export function presentVideo(video: VideoRecord): VideoJson {
  const { mux } = video;
  const migrated = hasMuxColumns(video);
  return {
    id: video.id,
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
