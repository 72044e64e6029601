/**
 * The one mapping between the `videos` table and reelay's video record: which column holds which field, how a
 * value is sent as a parameter, and how a row is read back. Everything that reads or writes videos goes through it.
 * The columns themselves are those of the runtime schema model (schema.ts): a name not in it does not type-check,
 * and test/db/video-fields.test.ts checks that every column of the model has exactly one field.
 */
import { sqlValue, type JsonValue, type ParamValue, type Row } from './driver.js';
import type { BasicVideoColumn, MuxColumn, VideoColumn } from './schema.js';

/** `deleting`: DELETE /api/videos/{id} was asked and is being carried out (shared/videos/video-deletion.ts). */
export const videoStatuses = ['awaiting_upload', 'uploaded', 'processing', 'ready', 'errored', 'cancelled', 'deleting'] as const;
export type VideoStatus = (typeof videoStatuses)[number];

/** Mux's asset states, plus `pending` before an asset exists. */
export const muxStatuses = ['pending', 'preparing', 'errored', 'ready'] as const;
export type MuxStatus = (typeof muxStatuses)[number];

/** Fields stored in the Mux columns (schema.ts). All nullable: a legacy schema reads them as null. */
export interface MuxFields {
  assetId: string | null;
  playbackId: string | null;
  uploadId: string | null;
  status: MuxStatus | null;
  thumbnailUrl: string | null;
  streamingUrl: string | null;
  mp4Url: string | null;
  durationSeconds: number | null;
  aspectRatio: string | null;
  createdAt: Date | null;
  readyAt: Date | null;
  audioEnhanced: boolean | null;
  audioEnhancementJobId: string | null;
  transcriptionJobId: string | null;
  captionsWebvttUrl: string | null;
  captionsSrtUrl: string | null;
  transcriptText: string | null;
  /** Exact decimal as text, e.g. "0.95". */
  transcriptConfidence: string | null;
  /** The last error Mux reported for the asset. */
  error: string | null;
  textTrackId: string | null;
  /** The ingest options the uploader asked for (captions, normalizeAudio, mp4). */
  options: JsonValue | null;
  ingestAttempts: number | null;
}

export type MuxField = keyof MuxFields;

export interface VideoRecord {
  id: string;
  ownerId: string;
  title: string;
  description: string | null;
  originalFilename: string;
  contentType: string;
  sizeBytes: number;
  s3Key: string;
  /** The S3 multipart upload id while a multipart upload is open. */
  s3UploadId: string | null;
  status: VideoStatus;
  createdAt: Date;
  updatedAt: Date;
  mux: MuxFields;
}

type Encoder = (value: unknown) => ParamValue;
type Decoder = (value: unknown) => unknown;

interface ColumnSpec<Column extends VideoColumn = VideoColumn> {
  readonly column: Column;
  readonly encode?: Encoder;
  readonly decode?: Decoder;
}

const asDecimal: Encoder = (value) => (value === null || value === undefined ? null : sqlValue.decimal(value as string));
const asJson: Encoder = (value) => (value === null || value === undefined ? null : sqlValue.json(value as JsonValue));
const asUuid: Encoder = (value) => (value === null || value === undefined ? null : sqlValue.uuid(value as string));
const toNumber: Decoder = (value) => (value === null || value === undefined ? null : Number(value));

/** The basic columns: every schema has them. */
export const basicColumns = {
  id: { column: 'id', encode: asUuid },
  ownerId: { column: 'owner_id' },
  title: { column: 'title' },
  description: { column: 'description' },
  originalFilename: { column: 'original_filename' },
  contentType: { column: 'content_type' },
  sizeBytes: { column: 'size_bytes', encode: (value) => BigInt(value as number), decode: toNumber },
  s3Key: { column: 's3_key' },
  s3UploadId: { column: 's3_upload_id' },
  status: { column: 'status' },
  createdAt: { column: 'created_at' },
  updatedAt: { column: 'updated_at' },
} satisfies Record<Exclude<keyof VideoRecord, 'mux'>, ColumnSpec<BasicVideoColumn>>;

/** The Mux columns, which a schema may lack. */
export const muxFieldColumns = {
  assetId: { column: 'mux_asset_id' },
  playbackId: { column: 'mux_playback_id' },
  uploadId: { column: 'mux_upload_id' },
  status: { column: 'mux_status' },
  thumbnailUrl: { column: 'mux_thumbnail_url' },
  streamingUrl: { column: 'mux_streaming_url' },
  mp4Url: { column: 'mux_mp4_url' },
  durationSeconds: { column: 'mux_duration_seconds', decode: toNumber },
  aspectRatio: { column: 'mux_aspect_ratio' },
  createdAt: { column: 'mux_created_at' },
  readyAt: { column: 'mux_ready_at' },
  audioEnhanced: { column: 'audio_enhanced' },
  audioEnhancementJobId: { column: 'audio_enhancement_job_id' },
  transcriptionJobId: { column: 'transcription_job_id' },
  captionsWebvttUrl: { column: 'captions_webvtt_url' },
  captionsSrtUrl: { column: 'captions_srt_url' },
  transcriptText: { column: 'transcript_text' },
  transcriptConfidence: { column: 'transcript_confidence', encode: asDecimal },
  error: { column: 'mux_error' },
  textTrackId: { column: 'mux_text_track_id' },
  options: { column: 'mux_options', encode: asJson },
  ingestAttempts: { column: 'ingest_attempts', decode: toNumber },
} satisfies Record<MuxField, ColumnSpec<MuxColumn>>;

export const muxFieldNames = Object.keys(muxFieldColumns) as MuxField[];

function read(row: Row, spec: ColumnSpec): unknown {
  const raw = row[spec.column];
  if (raw === undefined || raw === null) return null;
  return spec.decode ? spec.decode(raw) : raw;
}

export function encodeColumn(spec: ColumnSpec, value: unknown): ParamValue {
  if (value === undefined || value === null) return null;
  return spec.encode ? spec.encode(value) : (value as ParamValue);
}

/** A `videos` row (from `SELECT *` on any schema version) as a record; absent columns read as null. */
export function videoFromRow(row: Row): VideoRecord {
  const mux = {} as Record<MuxField, unknown>;
  for (const field of muxFieldNames) mux[field] = read(row, muxFieldColumns[field]);
  const basic = {} as Record<keyof typeof basicColumns, unknown>;
  for (const field of Object.keys(basicColumns) as (keyof typeof basicColumns)[]) basic[field] = read(row, basicColumns[field]);
  return { ...(basic as Omit<VideoRecord, 'mux'>), mux: mux as unknown as MuxFields };
}

/** True when the row came from a schema with the Mux columns (they have non-null defaults there). */
export function hasMuxColumns(video: VideoRecord): boolean {
  return video.mux.status !== null || video.mux.audioEnhanced !== null || video.mux.ingestAttempts !== null;
}
