/**
 * Mux webhooks: verify, deduplicate, apply — so that Mux's redeliveries, duplicates and out-of-order events leave
 * every video in the right state, and events about assets reelay did not make for a video leave it alone.
 *
 * - Nothing is read or written before the signature is verified (a forged, stale or altered body is a 401). A
 *   correctly signed body that is not a usable event (a NUL in an id, a duration of 1e308, not JSON) is acknowledged
 *   (200), recorded as rejected and logged (`mux_webhook.rejected`): Mux would retry any other answer for 24 h.
 * - Each event is recorded in `mux_webhook_events` by the same statement that applies it (VideoDB.applyMuxEvent),
 *   so a stored change is recorded exactly once, a duplicate changes nothing (204), and a failure stores neither
 *   (the error answers 5xx and Mux retries for 24 h). A warm asset event costs that one statement.
 * - An event applies to a video only when the asset is bound to it (AssetBinding in shared/db/video-db.ts): the
 *   video stores the asset id, or the asset's passthrough carries reelay's tag for the video (shared/mux/binding.ts)
 *   and the video stores no asset yet. Anything else — another Mux user's asset naming a reelay video id, a forged
 *   tag, every `video.upload.*` event (reelay never makes Mux direct uploads) — is acknowledged, recorded and logged
 *   as `mux_webhook.not_owned` with the asset id and the reason, and changes nothing.
 * - Events that carry less than the whole asset (track and static-rendition events; a track.ready has been seen
 *   with empty data) re-fetch the asset first; a cheap look-up of the event id comes before that fetch, so a
 *   duplicate does not call Mux.
 * - Guards, not arrival order, decide: `ready` is never overwritten by `created`, events for an older asset of a
 *   re-ingested video are ignored, a video still waiting for its upload or cancelled is left alone, and fields an
 *   event lacks never erase stored ones. A refused event is still recorded as processed.
 * - An asset whose tag names a video that no longer exists (deleted while its ingest was creating the asset) is
 *   deleted at Mux (shared/videos/video-deletion.ts).
 * - On a legacy schema (no Mux columns, no events table) the video status still moves for tagged assets; the Mux
 *   fields are deferred by VideoDB (logged, or kept in `deferred_mux_data`) and the reconcile job restores them after
 *   the migration.
 */
import type { AssetBinding, MuxEventChange, MuxEventKey, MuxEventResult, VideoDB } from '../db/video-db.js';
import type { MuxFields, VideoStatus } from '../db/video-fields.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { MuxAsset, MuxAssetStatus } from '../mux/assets.js';
import type { AssetBinder, BindingRefusal } from '../mux/binding.js';
import {
  eventNeedsAssetRefetch,
  verifyAndParseWebhook,
  videoFieldsFromAsset,
  WebhookSignatureError,
  type MuxEvent,
  type RejectedWebhook,
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

/** Why an event was acknowledged as being about an asset no reelay video is bound to. */
export type NotOwnedReason = BindingRefusal | 'direct_upload';

export type WebhookOutcome =
  /** Recorded before: nothing done (HTTP 204). */
  | { readonly result: 'duplicate'; readonly eventId: string; readonly type: string }
  /**
   * Recorded now. `applied`: a video changed; `ignored`: a guard refused the change or the event concerns nothing
   * reelay applies; `not_owned`: the asset is bound to no video (`reason` says why).
   */
  | { readonly result: 'applied' | 'ignored'; readonly eventId: string; readonly type: string; readonly videoId: string | null }
  | { readonly result: 'not_owned'; readonly eventId: string; readonly type: string; readonly assetId: string | null; readonly reason: NotOwnedReason }
  /** Correctly signed but unusable; recorded as rejected (its id may be a digest, see RejectedWebhook). */
  | { readonly result: 'rejected'; readonly eventId: string; readonly type: string };

/** Events after which an asset tagged for a video that no longer exists is deleted (#deleteIfVideoDeleted). */
const orphanCheckedTypes: ReadonlySet<string> = new Set(['video.asset.created', 'video.asset.ready']);

/** The video status an asset status means. */
export const videoStatusFor: Record<MuxAssetStatus, VideoStatus> = { preparing: 'processing', ready: 'ready', errored: 'errored' };

/** The fields that have a value: an event that lacks one (a `created` has no duration) must not erase it. */
export function presentFields<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null && value !== undefined)) as Partial<T>;
}

/**
 * What an asset, as Mux reports it now, means for its video: the status and the fields it has. The webhook applies it
 * to the bound video; reconcile restores it where webhooks never came (shared/videos/reconcile/mux-sweeps.ts).
 */
export function progressOf(asset: MuxAsset, mux: Pick<MuxRuntime, 'urls' | 'config'>, observedAt: Date): { videoStatus: VideoStatus; mux: Partial<MuxFields> } {
  const fields = videoFieldsFromAsset(asset, mux.urls, { observedAt, playbackPolicy: mux.config.playbackPolicy });
  return { videoStatus: videoStatusFor[asset.status], mux: presentFields({ ...fields }) };
}

/** What an asset's passthrough binds it to, and why it binds it only by its stored id when the tag does not verify. */
function bindingOf(asset: MuxAsset, binder: AssetBinder): { binding: AssetBinding; refusal: BindingRefusal | null } {
  const check = binder.verify(asset.passthrough);
  if (!check.ok) return { binding: { assetId: asset.id }, refusal: check.reason };
  return { binding: { assetId: asset.id, videoId: check.videoId, attempt: check.attempt }, refusal: null };
}

interface PlannedChange {
  readonly change: MuxEventChange;
  /** Set when the asset is bound to a video only if one stores its id: why its passthrough did not bind it. */
  readonly refusal: NotOwnedReason | null;
}

const nothing = (refusal: NotOwnedReason | null = null): PlannedChange => ({ change: { kind: 'none' }, refusal });

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
   * @throws WebhookSignatureError (401) before anything is touched; anything else (database, Mux) means nothing was
   *   recorded and Mux should retry.
   */
  async handle(rawBody: string, headers: WebhookHeaders): Promise<WebhookOutcome> {
    const { webhookSecret } = await this.#mux.config.loadCredentials();
    let parsed: MuxEvent | RejectedWebhook;
    try {
      parsed = await verifyAndParseWebhook(rawBody, headers, webhookSecret, { now: this.#now });
    } catch (error) {
      if (error instanceof WebhookSignatureError) this.#logger.warn('mux_webhook.refused', { reason: error.reason });
      throw error;
    }
    if (parsed.kind === 'rejected') return this.#reject(parsed);
    const event = parsed;
    const key: MuxEventKey = { id: event.id, type: event.receivedType, objectId: event.objectId };
    const log = this.#logger.child({ eventId: event.id, type: event.receivedType, assetId: event.assetId });

    if (eventNeedsAssetRefetch(event) && (await this.#videos.isMuxEventProcessed(event.id))) {
      log.info('mux_webhook.duplicate');
      return { result: 'duplicate', eventId: event.id, type: event.receivedType };
    }
    const { change, refusal } = await this.#changeFor(event, log);
    const result: MuxEventResult = await this.#videos.applyMuxEvent(key, change);
    if (result.duplicate) {
      log.info('mux_webhook.duplicate');
      return { result: 'duplicate', eventId: event.id, type: event.receivedType };
    }
    if (refusal !== null && !result.bound) {
      const passthrough = event.kind === 'asset' ? (event.data.passthrough?.slice(0, 255) ?? null) : null;
      log.warn('mux_webhook.not_owned', { reason: refusal, objectId: event.objectId, passthrough, recorded: result.recorded });
      return { result: 'not_owned', eventId: event.id, type: event.receivedType, assetId: event.assetId, reason: refusal };
    }
    // Only the first events of an asset are checked, so an ignored late event of a live video costs no extra read.
    if (result.video === null && change.kind === 'progress' && 'videoId' in change.binding && orphanCheckedTypes.has(event.receivedType)) {
      await this.#deleteIfVideoDeleted(change.binding.videoId, change.binding.assetId, log);
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

  /**
   * An asset tagged for a video that was deleted (or is being deleted) was made by an ingest that lost the race with
   * the deletion and did not clean up (it crashed): it is deleted here, so nothing of the video is left at Mux.
   */
  async #deleteIfVideoDeleted(videoId: string, assetId: string, log: Logger): Promise<void> {
    const video = await this.#videos.findById(videoId);
    if (video !== null && video.status !== 'deleting') return;
    if (video !== null && video.mux.assetId === assetId) return; // the deletion knows this one
    const outcome = await (await this.#mux.gateway()).deleteAsset(assetId);
    log.info('mux_webhook.asset_of_deleted_video_removed', { videoId, outcome });
  }

  async #reject(rejected: RejectedWebhook): Promise<WebhookOutcome> {
    const key: MuxEventKey = { id: rejected.id, type: rejected.receivedType, objectId: rejected.objectId };
    const { recorded, duplicate } = await this.#videos.recordRejectedMuxEvent(key);
    const log = this.#logger.child({ eventId: rejected.id, type: rejected.receivedType, objectId: rejected.objectId });
    if (duplicate) {
      log.info('mux_webhook.duplicate', { rejected: true });
      return { result: 'duplicate', eventId: rejected.id, type: rejected.receivedType };
    }
    log.warn('mux_webhook.rejected', { recorded, issues: rejected.issues.slice(0, 10) });
    return { result: 'rejected', eventId: rejected.id, type: rejected.receivedType };
  }

  async #changeFor(event: MuxEvent, log: Logger): Promise<PlannedChange> {
    switch (event.kind) {
      case 'asset': {
        const { binding, refusal } = bindingOf(event.data, await this.#mux.binding());
        if (event.type === 'video.asset.deleted') {
          // The playback URLs of a deleted asset are dead: a `ready` video pointing at them would be a lie. `errored`
          // shows it to operators; the retry job does not re-ingest it (deleting an asset is a deliberate act).
          return { change: { kind: 'asset_deleted', binding, error: `deleted: the Mux asset ${event.data.id} was deleted` }, refusal };
        }
        return { change: this.#progressFromAsset(event.data, event.createdAt, binding), refusal };
      }
      case 'track':
      case 'static_rendition': {
        if (event.type === 'video.asset.track.created' || event.type === 'video.asset.track.errored') {
          if (event.type === 'video.asset.track.errored') log.warn('mux_webhook.track_errored', { trackId: event.data?.id ?? null });
          return nothing();
        }
        const asset = await this.#refetch(event.assetId, log);
        if (asset === null) return nothing();
        const { binding, refusal } = bindingOf(asset, await this.#mux.binding());
        const change = this.#progressFromAsset(asset, event.createdAt, binding);
        if (event.kind !== 'track' || change.kind !== 'progress') return { change, refusal };
        // Captions are written to the video's S3 prefix: only for the video the asset is bound to.
        const video = await this.#videos.findBound(binding);
        const captions = video === null ? null : await this.#captions.collect(video.id, asset, await this.#mux.gateway());
        return { change: captions === null ? change : { ...change, mux: { ...change.mux, ...captions.fields } }, refusal };
      }
      case 'upload':
        return nothing('direct_upload');
      case 'unknown':
        return nothing();
    }
  }

  #progressFromAsset(asset: MuxAsset, observedAt: Date, binding: AssetBinding): MuxEventChange {
    return { kind: 'progress', binding, ...progressOf(asset, this.#mux, observedAt) };
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
