/**
 * The API's wire shapes, as plain types: the client depends on nothing, not even on zod. The server's own types are
 * checked against these at compile time (test/client/wire-types.ts), so the two cannot drift apart silently.
 */

export type VideoStatus = 'awaiting_upload' | 'uploaded' | 'processing' | 'ready' | 'errored' | 'cancelled' | 'deleting';

/** Mux's asset states, plus `pending` before an asset exists. */
export type MuxStatus = 'pending' | 'preparing' | 'errored' | 'ready';

export type PlaybackPolicy = 'public' | 'signed';

/** A video as every route that returns one shows it. Timestamps are ISO 8601 strings. */
export interface Video {
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
  /** Null on a database that predates Mux columns (migration 0002). */
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
    playbackPolicy: PlaybackPolicy;
    /** When the tokens in the URLs expire; null when the URLs carry none (public policy). */
    playbackTokenExpiresAt: string | null;
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

/** What Mux is asked to do besides transcoding. */
export interface IngestOptions {
  captions?: boolean;
  normalizeAudio?: boolean;
  mp4?: boolean;
}

/** `POST /api/videos/upload`. */
export interface CreateUploadRequest {
  title: string;
  description?: string | null;
  filename: string;
  contentType: string;
  size: number;
  options?: IngestOptions;
}

export interface SinglePutUpload {
  readonly mode: 'single';
  readonly method: 'PUT';
  readonly url: string;
  /** Send exactly these (all are signed); a browser sets content-length itself from the body. */
  readonly headers: { readonly 'content-type': string; readonly 'content-length': string; readonly 'if-none-match': '*' } & Readonly<Record<string, string>>;
  readonly expiresAt: string;
}

export interface SignedPart {
  readonly partNumber: number;
  readonly url: string;
  /** The exact byte count this URL accepts. */
  readonly size: number;
}

export interface MultipartUploadStart {
  readonly mode: 'multipart';
  readonly uploadId: string;
  readonly partSize: number;
  readonly partCount: number;
  /** URLs for the first parts; the rest come from {@link ReelayClient.signParts}. */
  readonly parts: SignedPart[];
  readonly expiresAt: string;
}

export interface CreatedUpload {
  readonly video: Video;
  readonly upload: SinglePutUpload | MultipartUploadStart;
  readonly schema: { readonly muxColumns: { readonly present: boolean; readonly missing: readonly string[] }; readonly usedFallback: boolean };
}

export interface SignedParts {
  readonly parts: SignedPart[];
  readonly expiresAt: string;
}

export interface UploadedPart {
  readonly partNumber: number;
  readonly etag: string;
  readonly size: number;
  readonly lastModified?: string;
}

/** `GET /api/videos/{id}/upload/parts`: what S3 holds of an unfinished multipart upload. */
export interface UploadProgress {
  readonly uploadId: string;
  readonly partSize: number;
  readonly partCount: number;
  readonly parts: UploadedPart[];
}

export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
}

/** `GET /api/videos`: newest first; pass `nextCursor` back for the next page (null on the last). */
export interface VideoPage {
  readonly videos: Video[];
  readonly nextCursor: string | null;
}

/** `PATCH /api/videos/{id}`: at least one of the two. */
export interface VideoChanges {
  title?: string;
  description?: string | null;
}

/**
 * `DELETE /api/videos/{id}`: `deleted` when everything is gone (204); `deleting` when part of it (Mux, storage) must
 * wait and reconcile finishes it (202).
 */
/** What a deletion still waits for. */
export type DeletionWait = 'ingest' | 'mux' | 'storage' | 'database_grant';

export type DeleteOutcome =
  | { readonly result: 'deleted' }
  | { readonly result: 'deleting'; readonly video: Video; readonly waitingFor: DeletionWait };

/** The admin routes' answers are reports meant for people; their fields are documented in docs/DEPLOY.md. */
export type JsonObject = Record<string, unknown>;
