/**
 * The order a video and its Mux asset move in, and the rules that follow from it, as SQL the data layer puts in its
 * guards: progress never moves a video (or its Mux status) backwards, only videos past their upload hear from Mux,
 * and which fields belong to one asset.
 */
import { muxStatuses, type MuxField } from '../db/video-fields.js';

/** Order in which a video moves; a monotonic update never moves it to a lower rank (`cancelled` and `deleting` have none). */
export const videoStatusOrder = ['awaiting_upload', 'uploaded', 'processing', 'errored', 'ready'] as const;

/** SQL for the position of `operand` in `order` (-1 when absent), e.g. to compare a stored status with a new one. */
function sqlRankExpression(order: readonly string[]): (operand: string) => string {
  const literal = `ARRAY[${order.map((value) => `'${value}'`).join(', ')}]::text[]`;
  return (operand) => `coalesce(array_position(${literal}, CAST(${operand} AS text)), -1)`;
}

/** SQL: the rank of a video status (a column or a parameter reference). */
export const videoStatusRank = sqlRankExpression(videoStatusOrder);
/** SQL: the rank of a Mux status. */
export const muxStatusRank = sqlRankExpression(muxStatuses);

/**
 * SQL: the video's life goes on. A cancelled video, or one being deleted, is never moved again by anything but the
 * deletion (no ingest, webhook or restore may bring it back).
 */
export const stillLiving = `status NOT IN ('cancelled', 'deleting')`;

/**
 * Mux reports on assets, and an asset only exists once the upload finished and ingest claimed the video: an event
 * never moves a video still waiting for its upload, nor one that was cancelled or is being deleted.
 */
export const acceptsAssetEvents = `status NOT IN ('awaiting_upload', 'cancelled', 'deleting')`;

/** Fields that describe one asset: cleared when a video moves to another asset. */
export const perAssetFields: readonly MuxField[] = [
  'playbackId', 'uploadId', 'thumbnailUrl', 'streamingUrl', 'mp4Url', 'durationSeconds', 'aspectRatio', 'createdAt', 'readyAt',
  'error', 'textTrackId', 'captionsWebvttUrl', 'captionsSrtUrl', 'transcriptText', 'transcriptConfidence', 'transcriptionJobId',
];

/** Fields that keep their earliest value (a later event observing `ready` again must not move the time). */
export const earliestFields: ReadonlySet<MuxField> = new Set(['readyAt']);
