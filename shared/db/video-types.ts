/**
 * What VideoDB (video-db.ts) takes and returns: new videos, write results, Mux events and how their asset is bound
 * to a video, claim and list options.
 */
import type { CapabilityCache } from './capabilities.js';
import type { LifecycleEventSink } from './video-events-db.js';
import type { Executor } from './driver.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { MuxField, MuxFields, VideoRecord, VideoStatus } from './video-fields.js';

export interface NewVideo {
  id: string;
  ownerId: string;
  title: string;
  description?: string | null;
  originalFilename: string;
  contentType: string;
  sizeBytes: number;
  s3Key: string;
  s3UploadId?: string | null;
  status?: VideoStatus;
  mux?: Partial<MuxFields>;
}

export interface CreateResult {
  video: VideoRecord;
  /** True when the schema lacked Mux columns and the row was written with the basic columns only. */
  usedFallback: boolean;
  /** Mux columns the schema lacked at the time of the write. */
  missingColumns: string[];
  /** Mux fields the caller gave that could not be stored in columns (kept as deferred data instead). */
  deferredFields: MuxField[];
}

export interface UpdateResult {
  /** The row after the update, or null when the guard refused it (or the id does not exist). */
  video: VideoRecord | null;
  deferredFields: MuxField[];
}

/** A Mux webhook event as the `mux_webhook_events` table records it (the id is the idempotency key). */
export interface MuxEventKey {
  id: string;
  type: string;
  objectId: string | null;
}

/**
 * How an event's asset is tied to a video. `{ assetId }`: only through the asset id stored on a video.
 * `{ assetId, videoId, attempt }`: the asset's passthrough verified as reelay's for that video and ingest attempt
 * (shared/mux/binding.ts): the video is bound when it stores this asset id, or — between Mux's create and ingest's
 * write — when it stores none yet and has made that attempt. On a legacy schema (no asset id column) the verified
 * passthrough is all that can be checked.
 */
export type AssetBinding = { readonly assetId: string } | { readonly assetId: string; readonly videoId: string; readonly attempt: number };

/** What a Mux event does to its video; applied in the same statement that records the event. */
export type MuxEventChange =
  /** What Mux reported about an asset, applied without ever moving the video backwards (see progressClause). */
  | { kind: 'progress'; binding: AssetBinding; videoStatus?: VideoStatus; mux: Partial<MuxFields> }
  /** The video's asset is gone: playback fields cleared, video and Mux status `errored` with `error`. */
  | { kind: 'asset_deleted'; binding: AssetBinding; error: string }
  /** Recorded only (an event reelay acknowledges without applying). */
  | { kind: 'none' };

export interface MuxEventResult {
  /** The event id was recorded before: nothing was applied. */
  duplicate: boolean;
  /** False on a schema without `mux_webhook_events`: no deduplication is possible there, the guards still hold. */
  recorded: boolean;
  /** The row after the change; null when no video matched or a guard refused the change. */
  video: VideoRecord | null;
  /** A video is bound to the event's asset, whether or not its guards let the change through (false for `none`). */
  bound: boolean;
  deferredFields: MuxField[];
}

export interface ClaimIngestOptions {
  /** Statuses a video may be claimed from (a compare-and-set). */
  from: readonly VideoStatus[];
  /**
   * Also take over a `processing` video that has no asset id and was last claimed longer ago than this: its ingest
   * died between the claim and storing the asset (needs the Mux columns). Must exceed the ingest function's timeout.
   */
  staleClaimSeconds?: number;
  /** Only claim while `ingest_attempts` is below this (needs the Mux columns). */
  maxAttempts?: number;
  /**
   * A re-ingest: forget the previous asset (its id, playback fields, error, captions) in the same statement, so the
   * new asset's webhooks apply and the old asset's are ignored once the new one is attached.
   */
  resetAsset?: boolean;
}

export interface ListOptions {
  /** Only this owner's videos; omit for all (admins). */
  ownerId?: string;
  limit: number;
  cursor?: string;
}

export interface ListPage {
  videos: VideoRecord[];
  nextCursor: string | null;
}

export interface VideoDBOptions {
  executor: Executor;
  capabilities?: CapabilityCache;
  logger?: Logger;
  /** Counts fallback creates and deferred payloads (shared/metrics.ts). */
  metrics?: Metrics;
  /**
   * Told of every deferral once it is logged and stored, so the reconcile job learns there is work without querying
   * (a "work pending" marker, shared/storage/pending-work.ts). Must not throw.
   */
  onDeferred?: DeferralListener;
  /** Where the lifecycle events the writes record go once committed (shared/events/outbox.ts); default: nowhere. */
  events?: LifecycleEventSink;
}

/** A deferral of Mux fields: the video, and whether the payload is in `deferred_mux_data` (else only in the log). */
export type DeferralListener = (deferral: { readonly videoId: string; readonly stored: boolean }) => Promise<void>;
