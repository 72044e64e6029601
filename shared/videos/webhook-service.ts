/**
 * Mux webhooks: verify, deduplicate, apply — so that Mux's redeliveries, duplicates and out-of-order events leave
 * every video in the right state.
 *
 * - Nothing is read or written before the signature is verified (a forged, stale or altered body is a 401).
 * - Each event is recorded in `mux_webhook_events` by the same statement that applies it (VideoDB.applyMuxEvent),
 *   so a stored change is recorded exactly once, a duplicate changes nothing (204), and a failure stores neither
 *   (the error answers 5xx and Mux retries for 24 h). A warm asset event costs that one statement.
 * - Events that carry less than the whole asset (track, static rendition, upload events; a track.ready has been
 *   seen with empty data) re-fetch the asset first; a cheap look-up of the event id comes before that fetch, so a
 *   duplicate does not call Mux.
 * - Guards, not arrival order, decide: `ready` is never overwritten by `created`, events for an older asset of a
 *   re-ingested video are ignored, a cancelled video is left alone, and fields an event lacks never erase stored
 *   ones. A refused event is still recorded as processed.
 * - On a legacy schema (no Mux columns, no events table) the video status still moves; the Mux fields are deferred
 *   by VideoDB (logged, or kept in `deferred_mux_data`) and the reconcile job restores them after the migration.
 */
import type { MuxEventChange, MuxEventKey, MuxEventResult, MuxEventTarget, VideoDB } from '../db/video-db.js';
import type { MuxFields, VideoStatus } from '../db/video-fields.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { describeAssetError, type MuxAsset, type MuxAssetStatus } from '../mux/assets.js';
import {
  eventNeedsAssetRefetch,
  verifyAndParseWebhook,
  videoFieldsFromAsset,
  WebhookSignatureError,
  type MuxEvent,
  type WebhookHeaders,
} from '../mux/webhooks.js';
import type { MuxRuntime } from '../runtime/mux.js';
import type { CaptionsService } from './captions-service.js';

export interface WebhookServiceOptions {
  readonly videos: VideoDB;
  readonly mux: MuxRuntime;
  readonly captions: CaptionsService;
  readonly logger?: Logger;
  /** The clock the signature age is checked against, ms. */
  readonly now?: () => number;
}

export type WebhookOutcome =
  /** Recorded before: nothing done (HTTP 204). */
  | { readonly result: 'duplicate'; readonly eventId: string; readonly type: string }
  /** Recorded now; `applied` when a video changed, `ignored` when no video matched or a guard refused the change. */
  | { readonly result: 'applied' | 'ignored'; readonly eventId: string; readonly type: string; readonly videoId: string | null };

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The video status an asset status means. */
export const videoStatusFor: Record<MuxAssetStatus, VideoStatus> = { preparing: 'processing', ready: 'ready', errored: 'errored' };

/** The fields that have a value: an event that lacks one (a `created` has no duration) must not erase it. */
export function presentFields<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null && value !== undefined)) as Partial<T>;
}

/** The video an event is about: its passthrough when that is a video id, else the asset id stored on the video. */
function targetOf(videoId: string | null, assetId: string | null): MuxEventTarget | null {
  if (videoId !== null && uuidPattern.test(videoId)) return { videoId };
  if (assetId !== null) return { assetId };
  return null;
}

export class WebhookService {
  readonly #videos: VideoDB;
  readonly #mux: MuxRuntime;
  readonly #captions: CaptionsService;
  readonly #logger: Logger;
  readonly #now: () => number;

  constructor(options: WebhookServiceOptions) {
    this.#videos = options.videos;
    this.#mux = options.mux;
    this.#captions = options.captions;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
  }

  /**
   * @param rawBody the body exactly as received.
   * @throws WebhookSignatureError (401) before anything is touched; ValidationError (400) for a signed non-event;
   *   anything else (database, Mux) means nothing was recorded and Mux should retry.
   */
  async handle(rawBody: string, headers: WebhookHeaders): Promise<WebhookOutcome> {
    const { webhookSecret } = await this.#mux.config.loadCredentials();
    let event: MuxEvent;
    try {
      event = await verifyAndParseWebhook(rawBody, headers, webhookSecret, { now: this.#now });
    } catch (error) {
      if (error instanceof WebhookSignatureError) this.#logger.warn('mux_webhook.refused', { reason: error.reason });
      throw error;
    }
    const key: MuxEventKey = { id: event.id, type: event.receivedType, objectId: event.objectId };
    const log = this.#logger.child({ eventId: event.id, type: event.receivedType, assetId: event.assetId });

    if (eventNeedsAssetRefetch(event) && (await this.#videos.isMuxEventProcessed(event.id))) {
      log.info('mux_webhook.duplicate');
      return { result: 'duplicate', eventId: event.id, type: event.receivedType };
    }
    const change = await this.#changeFor(event, log);
    const result: MuxEventResult = await this.#videos.applyMuxEvent(key, change);
    if (result.duplicate) {
      log.info('mux_webhook.duplicate');
      return { result: 'duplicate', eventId: event.id, type: event.receivedType };
    }
    const videoId = result.video?.id ?? null;
    log.info(result.video ? 'mux_webhook.applied' : 'mux_webhook.ignored', {
      videoId,
      change: change.kind,
      recorded: result.recorded,
      ...(result.deferredFields.length > 0 ? { deferredFields: result.deferredFields } : {}),
    });
    return { result: result.video ? 'applied' : 'ignored', eventId: event.id, type: event.receivedType, videoId };
  }

  async #changeFor(event: MuxEvent, log: Logger): Promise<MuxEventChange> {
    switch (event.kind) {
      case 'asset': {
        if (event.type === 'video.asset.deleted') {
          const target = targetOf(event.videoId, event.assetId);
          if (target === null) return { kind: 'none' };
          // The playback URLs of a deleted asset are dead: a `ready` video pointing at them would be a lie. `errored`
          // shows it to operators; the retry job does not re-ingest it (deleting an asset is a deliberate act).
          return { kind: 'asset_deleted', target, assetId: event.data.id, error: `deleted: the Mux asset ${event.data.id} was deleted` };
        }
        return this.#progressFromAsset(event.data, event.createdAt);
      }
      case 'track':
      case 'static_rendition': {
        if (event.type === 'video.asset.track.created' || event.type === 'video.asset.track.errored') {
          if (event.type === 'video.asset.track.errored') log.warn('mux_webhook.track_errored', { trackId: event.data?.id ?? null });
          return { kind: 'none' };
        }
        const asset = await this.#refetch(event.assetId, log);
        if (asset === null) return { kind: 'none' };
        const change = this.#progressFromAsset(asset, event.createdAt);
        if (event.kind !== 'track' || change.kind !== 'progress' || !('videoId' in change.target)) return change;
        const captions = await this.#captions.collect(change.target.videoId, asset, await this.#mux.gateway());
        return captions === null ? change : { ...change, mux: { ...change.mux, ...captions.fields } };
      }
      case 'upload': {
        const upload = event.data;
        if (event.type === 'video.upload.asset_created') {
          const asset = await this.#refetch(event.assetId, log);
          if (asset === null) return { kind: 'none' };
          const change = this.#progressFromAsset(asset, event.createdAt);
          return change.kind === 'progress' && upload.id !== null ? { ...change, mux: { ...change.mux, uploadId: upload.id } } : change;
        }
        const target = targetOf(event.videoId, null);
        if (target === null) return { kind: 'none' };
        if (event.type === 'video.upload.cancelled') return { kind: 'transition', target, from: ['awaiting_upload'], to: 'cancelled' };
        return {
          kind: 'progress',
          target,
          assetId: null,
          videoStatus: 'errored',
          mux: presentFields({ status: 'errored' as const, uploadId: upload.id, error: upload.error ? describeAssetError(upload.error) : 'upload errored' }),
        };
      }
      case 'unknown':
        return { kind: 'none' };
    }
  }

  #progressFromAsset(asset: MuxAsset, observedAt: Date): MuxEventChange {
    const target = targetOf(asset.passthrough, asset.id);
    if (target === null) return { kind: 'none' };
    const fields = videoFieldsFromAsset(asset, this.#mux.urls, { observedAt, playbackPolicy: this.#mux.config.playbackPolicy });
    const mux: Partial<MuxFields> = presentFields({ ...fields });
    return { kind: 'progress', target, assetId: asset.id, videoStatus: videoStatusFor[asset.status], mux };
  }

  /** The asset as Mux has it now; null when Mux no longer knows it (nothing left to apply). */
  async #refetch(assetId: string | null, log: Logger): Promise<MuxAsset | null> {
    if (assetId === null) {
      log.warn('mux_webhook.no_asset_id');
      return null;
    }
    const asset = await (await this.#mux.gateway()).getAsset(assetId);
    if (asset === null) log.warn('mux_webhook.asset_gone');
    return asset;
  }
}
