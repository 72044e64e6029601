/**
 * Ingest: an uploaded object becomes exactly one Mux asset, however often and however concurrently its S3 event is
 * delivered, and whatever happens between the Mux call and the database write.
 *
 * 1. The video is found by its S3 key; keys that are not `…/{videoId}/source[.ext]` (captions, strays) are skipped.
 *    An object at the key of a cancelled video is not ingested: the key is sealed instead (UploadStorage.sealKey), which
 *    replaces an upload that landed after (or while) the video was cancelled with an empty marker.
 * 2. `awaiting_upload → uploaded` (a single PUT completes without calling the API), then a compare-and-set claim
 *    `uploaded → processing` that counts the attempt. Of two concurrent deliveries one gets the claim; the other
 *    finds the video processing without an asset and asks SQS to deliver it again later (by then the asset is
 *    stored, or the claim has gone stale because its holder died, and it is taken over).
 * 3. Before creating, a retry (ApproximateReceiveCount > 1, an attempt already counted, a re-ingest) looks for an
 *    asset Mux already has for the video: a handler killed after the create, or a create whose response was lost,
 *    made one, and it is adopted instead of making a second — only once AssetOwnership proves it reelay's (its tagged
 *    passthrough and its input; an asset someone else made with the video's id is never adopted).
 * 4. The asset is created from a presigned GET URL with the requested options (the row's `mux_options`, or on a
 *    legacy schema the object's `reelay-options` metadata) and a passthrough tagged for the video and the attempt
 *    (shared/mux/binding.ts), and stored with VideoDB.attachMuxAsset, which never overwrites what a faster webhook
 *    stored for the same asset, and replaces another asset a webhook bound meanwhile.
 * 5. Mux 408/409/429/5xx and timeouts give the claim back and report `retry` with Mux's Retry-After (SQS redelivers
 *    then: functions/ingest/handler.ts; the DLQ catches the rest). A permanent refusal (4xx) makes the video `errored`
 *    with Mux's message. Any other failure after the claim (the passthrough search, presigning) gives the claim back
 *    too, so the next delivery can claim at once instead of waiting for it to go stale.
 * 6. While Mux throttles (a 429's Retry-After, MuxThrottleGate), ingests in this container do not call it: they
 *    report `retry` with the time left, before claiming.
 *
 * Mux is called with SDK retries off (shared/runtime/mux.ts): an SDK retry of a timed-out create would make a second
 * asset, which the passthrough search of the next delivery cannot tell from the first.
 */
import type { S3ObjectCreated } from '../storage/events.js';
import type { UploadStorage } from '../storage/uploads.js';
import type { VideoDB } from '../db/video-db.js';
import { hasMuxColumns, type MuxFields, type VideoRecord, type VideoStatus } from '../db/video-fields.js';
import { MuxApiError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { MuxAsset } from '../mux/assets.js';
import type { AssetBinder } from '../mux/binding.js';
import type { MuxGateway } from '../mux/client.js';
import { AssetOwnership } from './asset-ownership.js';
import type { MuxThrottleGate } from './ingest-backoff.js';
import type { IngestSettings } from './ingest-settings.js';
import type { VideoDeletion } from './video-deletion.js';
import { ingestOptions, ingestOptionsFromColumn, ingestOptionsFromMetadata, type IngestOptions } from './ingest-options.js';


export type IngestStorage = Pick<UploadStorage, 'bucket' | 'videoIdFromKey' | 'folderVideoIdFromKey' | 'presignGet' | 'headObject' | 'sealKey' | 'deleteVideoObjects'>;

export interface IngestServiceOptions extends IngestSettings {
  readonly videos: VideoDB;
  readonly storage: IngestStorage;
  /** Built on first use (the Mux credentials may only be readable during an invocation). */
  readonly gateway: () => Promise<Pick<MuxGateway, 'createAsset' | 'findAsset' | 'getInputs' | 'deleteAsset'>>;
  /** Tags the passthrough of every asset created (shared/mux/binding.ts); built on first use, like the gateway. */
  readonly binding: () => Promise<AssetBinder>;
  readonly logger?: Logger;
  /** Pages of the asset list searched for an existing asset (100 assets each, newest first). Default 5. */
  readonly passthroughSearchPages?: number;
  /**
   * Finishes the deletion of a video whose ingest this was (shared/videos/video-deletion.ts); built on first use.
   * Without it, the asset made for a deleted video is still deleted and reconcile finishes the rest.
   */
  readonly deletion?: () => Promise<Pick<VideoDeletion, 'finish'>>;
  /** Shared by the ingests of one container: no Mux call while a 429's Retry-After runs. Without it, none is kept. */
  readonly throttle?: MuxThrottleGate;
}

export type IngestOutcome =
  | { readonly result: 'created' | 'adopted'; readonly videoId: string; readonly assetId: string }
  | {
      readonly result: 'skipped';
      readonly videoId: string | null;
      readonly reason: 'other_bucket' | 'not_a_source_key' | 'unknown_video' | 'not_claimable' | 'cancelled' | 'deleted';
    }
  /** Mux refused the input for good; the video is `errored` with the message. */
  | { readonly result: 'rejected'; readonly videoId: string; readonly error: string }
  /**
   * Try again later: the SQS message is reported failed so it is redelivered. `retryAfterMs`: what Mux asked for
   * (a 429's Retry-After, or what is left of it when this container's gate deferred the call without calling).
   */
  | {
      readonly result: 'retry';
      readonly videoId: string;
      readonly reason: 'mux_unavailable' | 'mux_throttled' | 'claimed_elsewhere';
      readonly retryAfterMs?: number;
    };

export interface IngestVideoOptions {
  /** Statuses the video may be claimed from. */
  readonly from: readonly VideoStatus[];
  /** How many times SQS has delivered this message (1 on the first delivery). */
  readonly receiveCount?: number;
  /** A re-ingest of an errored video: the asset being replaced (never adopted as "already created"). */
  readonly replaces?: string | null;
  /** Only claim below this many attempts. */
  readonly maxAttempts?: number;
}

/** What an ingest found before creating: an asset to adopt, or what the create needs. */
type Prepared =
  | { readonly existing: MuxAsset }
  | {
      readonly existing: null;
      readonly gateway: Awaited<ReturnType<IngestServiceOptions['gateway']>>;
      readonly requested: IngestOptions;
      readonly input: Awaited<ReturnType<IngestStorage['presignGet']>>;
    };

const defaultInputUrlTtlSeconds = 6 * 3600;
/** Video ids are UUIDs (any other folder name is nobody's video, and is not looked up). */
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class IngestService {
  readonly #videos: VideoDB;
  readonly #storage: IngestStorage;
  readonly #gateway: IngestServiceOptions['gateway'];
  readonly #binding: IngestServiceOptions['binding'];
  readonly #ownership: AssetOwnership;
  readonly #logger: Logger;
  readonly #inputUrlTtlSeconds: number;
  readonly #staleClaimSeconds: number;
  readonly #searchPages: number;
  readonly #deletion: IngestServiceOptions['deletion'];
  readonly #throttle: MuxThrottleGate | undefined;

  constructor(options: IngestServiceOptions) {
    this.#videos = options.videos;
    this.#storage = options.storage;
    this.#gateway = options.gateway;
    this.#binding = options.binding;
    this.#ownership = new AssetOwnership({ binding: options.binding, gateway: options.gateway, storage: async () => options.storage });
    this.#logger = options.logger ?? silentLogger;
    this.#inputUrlTtlSeconds = options.inputUrlTtlSeconds ?? defaultInputUrlTtlSeconds;
    this.#staleClaimSeconds = options.staleClaimSeconds ?? 900;
    this.#searchPages = options.passthroughSearchPages ?? 5;
    this.#deletion = options.deletion;
    this.#throttle = options.throttle;
  }

  /** One object from an S3 event notification. */
  async ingestObject(object: S3ObjectCreated, delivery: { readonly receiveCount: number }): Promise<IngestOutcome> {
    const log = this.#logger.child({ key: object.key, messageId: object.messageId });
    if (object.bucket !== this.#storage.bucket) {
      log.warn('ingest.skipped', { reason: 'other_bucket', bucket: object.bucket });
      return { result: 'skipped', videoId: null, reason: 'other_bucket' };
    }
    const videoId = this.#storage.videoIdFromKey(object.key);
    if (videoId === undefined) return this.#otherObject(object.key, log);
    const video = await this.#videos.findByS3Key(object.key);
    // No row has this key: the video was deleted (the upload landed after, or during, the deletion). Rows are written
    // before any upload URL is handed out, so an object without one is left over, and goes.
    if (video === null) return this.#removeUploadOfDeleted(videoId, log);
    if (video.id !== videoId) {
      log.warn('ingest.skipped', { reason: 'unknown_video', videoId });
      return { result: 'skipped', videoId, reason: 'unknown_video' };
    }
    if (video.status === 'deleting') return this.#removeUploadOfDeleted(videoId, log, video);
    if (video.status === 'cancelled') return this.#sealCancelled(video, log);
    if (object.size !== video.sizeBytes) {
      // The signed PUT fixes the length and multipart parts are signed one by one, so a difference means a client
      // completed a multipart upload with other parts than planned. Mux judges the file itself; this is for operators.
      log.warn('ingest.size_mismatch', { videoId, declaredBytes: video.sizeBytes, objectBytes: object.size });
    }
    if (video.status === 'awaiting_upload') {
      await this.#videos.transition(video.id, { from: ['awaiting_upload'], to: 'uploaded' });
    }
    return this.ingestVideo(video, { from: ['uploaded'], receiveCount: delivery.receiveCount });
  }

  /** Claims the video and makes sure it has exactly one Mux asset (used by the SQS path and the reconcile job). */
  async ingestVideo(video: VideoRecord, options: IngestVideoOptions): Promise<IngestOutcome> {
    const log = this.#logger.child({ videoId: video.id });
    const replaces = options.replaces ?? null;
    const wait = this.#throttle?.waitMs() ?? 0;
    if (wait > 0) {
      log.info('ingest.mux_throttled', { retryAfterMs: wait });
      return { result: 'retry', videoId: video.id, reason: 'mux_throttled', retryAfterMs: wait };
    }
    const claimOnce = () =>
      this.#videos.claimIngest(video.id, {
        from: options.from,
        staleClaimSeconds: this.#staleClaimSeconds,
        ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
        ...(replaces === null ? {} : { resetAsset: true }),
      });
    let claim = await claimOnce();
    // Lost to a holder that gave the claim back since (reconcile's ingest after a Mux failure, or this video's other
    // delivery): the video is claimable again, so claim it now rather than drop this delivery. Once: a second loss
    // is a live race, and the `retry` below brings the message back.
    if (claim.video === null && (await this.#claimableAgain(video.id, options))) claim = await claimOnce();
    if (claim.video === null) return this.#unclaimed(video.id, options, log);
    const claimed = claim.video;
    const attempts = claimed.mux.ingestAttempts ?? 0;
    const isRetry = (options.receiveCount ?? 1) > 1 || attempts > 1 || replaces !== null;
    let prepared: Prepared;
    try {
      prepared = await this.#prepare(claimed, replaces, isRetry, log);
    } catch (error) {
      // Nothing was created: the claim goes back at once (held, it would block every retry until it went stale).
      await this.#release(claimed.id, log);
      if (error instanceof MuxApiError && error.retryable) return this.#muxUnavailable(claimed.id, error, log);
      throw error;
    }
    if (prepared.existing !== null) return this.#attach(claimed, prepared.existing, replaces, 'adopted', undefined, log);
    const { gateway, requested, input } = prepared;
    log.info('ingest.create_asset', { attempt: attempts, options: requested, inputUrlExpiresAt: input.expiresAt });
    let asset: MuxAsset;
    try {
      const passthrough = (await this.#binding()).passthrough(claimed.id, attempts);
      ({ asset } = await gateway.createAsset({ inputUrl: input.url, passthrough, ...requested }));
    } catch (error) {
      if (!(error instanceof MuxApiError)) {
        await this.#release(claimed.id, log);
        throw error;
      }
      if (error.retryable) {
        await this.#release(claimed.id, log);
        return this.#muxUnavailable(claimed.id, error, log);
      }
      const message = `rejected: ${error.message}`;
      log.error('ingest.rejected', { error });
      await this.#videos.transition(claimed.id, { from: ['processing'], to: 'errored', set: { mux: { status: 'errored', error: message } } });
      return { result: 'rejected', videoId: claimed.id, error: message };
    }
    return this.#attach(claimed, asset, replaces, 'created', requested, log);
  }

  /** Before the create: the asset a retry adopts instead, or what the create needs. Creates nothing. */
  async #prepare(claimed: VideoRecord, replaces: string | null, isRetry: boolean, log: Logger): Promise<Prepared> {
    const gateway = await this.#gateway();
    const existing = isRetry ? await this.#findExisting(claimed, replaces, gateway, log) : null;
    if (existing !== null) return { existing };
    const requested = await this.#requestedOptions(claimed);
    const input = await this.#storage.presignGet({ key: claimed.s3Key, ttlSeconds: this.#inputUrlTtlSeconds });
    return { existing, gateway, requested, input };
  }

  /** A retryable Mux failure: `retry`, with Mux's Retry-After, which also closes this container's gate. */
  #muxUnavailable(videoId: string, error: MuxApiError, log: Logger): IngestOutcome {
    log.warn('ingest.mux_unavailable', { error, retryAfterMs: error.retryAfterMs ?? null });
    if (error.retryAfterMs !== undefined && error.status === 429) this.#throttle?.throttled(error.retryAfterMs);
    return {
      result: 'retry',
      videoId,
      reason: 'mux_unavailable',
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    };
  }

  /** Whether the video is back in a status this ingest may claim from (its claim was given back meanwhile). */
  async #claimableAgain(videoId: string, options: IngestVideoOptions): Promise<boolean> {
    const current = await this.#videos.findById(videoId);
    return current !== null && options.from.includes(current.status) && (options.maxAttempts === undefined || (current.mux.ingestAttempts ?? 0) < options.maxAttempts);
  }

  /** Someone else has the video: done (it has an asset, or is past ingest), or being created right now. */
  async #unclaimed(videoId: string, options: IngestVideoOptions, log: Logger): Promise<IngestOutcome> {
    const current = await this.#videos.findById(videoId);
    if (current?.status === 'processing' && current.mux.assetId === null && hasMuxColumns(current)) {
      // Adopting never creates, so it is safe while another ingest may hold the claim.
      const existing = await this.#findExisting(current, null, await this.#gateway(), log);
      if (existing) return this.#attach(current, existing, null, 'adopted', undefined, log);
      log.info('ingest.claimed_elsewhere');
      return { result: 'retry', videoId, reason: 'claimed_elsewhere' };
    }
    // Cancelled or deleted between this delivery's read and its claim: the upload that landed must not stay either.
    if (current?.status === 'cancelled') return this.#sealCancelled(current, log);
    if (current === null || current.status === 'deleting') return this.#removeUploadOfDeleted(videoId, log, current);
    // Claimable again after two lost claims (a claim given back twice meanwhile): still someone's to ingest, so the
    // message must come back, never be acknowledged and dropped.
    if (options.from.includes(current.status) && (options.maxAttempts === undefined || (current.mux.ingestAttempts ?? 0) < options.maxAttempts)) {
      log.info('ingest.claimed_elsewhere', { status: current.status });
      return { result: 'retry', videoId, reason: 'claimed_elsewhere' };
    }
    log.info('ingest.skipped', { reason: 'not_claimable', status: current.status });
    return { result: 'skipped', videoId, reason: 'not_claimable' };
  }

  /** The upload of a cancelled video: replaced by the seal marker (a no-op when this event is the marker's own). */
  async #sealCancelled(video: VideoRecord, log: Logger): Promise<IngestOutcome> {
    const outcome = await this.#storage.sealKey(video.s3Key, 'cancelled');
    if (outcome === 'already_sealed') log.debug('ingest.skipped', { reason: 'cancelled', videoId: video.id });
    else log.info('ingest.cancelled_upload_removed', { videoId: video.id, outcome });
    return { result: 'skipped', videoId: video.id, reason: 'cancelled' };
  }

  /**
   * Not a source (captions reelay wrote, a seal marker, a stray): not ingested. One written into the folder of a video
   * that is being deleted or is gone — a caption file a webhook wrote while the deletion ran — is deleted with it.
   */
  async #otherObject(key: string, log: Logger): Promise<IngestOutcome> {
    const folderOf = this.#storage.folderVideoIdFromKey(key);
    if (folderOf !== undefined && uuidPattern.test(folderOf)) {
      const video = await this.#videos.findById(folderOf);
      if (video === null || video.status === 'deleting') return this.#removeUploadOfDeleted(folderOf, log, video);
    }
    log.debug('ingest.skipped', { reason: 'not_a_source_key' });
    return { result: 'skipped', videoId: null, reason: 'not_a_source_key' };
  }

  /** The objects of a video that is deleted or being deleted (an upload that landed late): deleted too. */
  async #removeUploadOfDeleted(videoId: string, log: Logger, deleting: VideoRecord | null = null): Promise<IngestOutcome> {
    const deleted = await this.#storage.deleteVideoObjects(videoId);
    log.info('ingest.upload_of_deleted_video_removed', { videoId, objects: deleted });
    // A deletion still under way (it may have waited for an ingest of this video, or its last step failed): finished
    // here rather than on reconcile's next run.
    if (deleting !== null) await this.#finishDeletion(deleting, log);
    return { result: 'skipped', videoId, reason: 'deleted' };
  }

  async #finishDeletion(video: VideoRecord, log: Logger): Promise<void> {
    if (this.#deletion === undefined) return;
    const finished = await (await this.#deletion()).finish(video);
    log.info('ingest.deletion_finished', { result: finished.result });
  }

  /**
   * The attach was refused because the video is being deleted (or is gone): the asset just made or adopted is deleted,
   * and the deletion that waited for this ingest is finished here.
   */
  async #discardForDeletion(videoId: string, assetId: string, log: Logger): Promise<IngestOutcome | null> {
    const current = await this.#videos.findById(videoId);
    if (current !== null && current.status !== 'deleting') return null;
    const outcome = await (await this.#gateway()).deleteAsset(assetId);
    log.info('ingest.asset_of_deleted_video_removed', { assetId, outcome });
    if (current !== null) await this.#finishDeletion(current, log);
    return { result: 'skipped', videoId, reason: 'deleted' };
  }

  /** The newest asset that AssetOwnership proves reelay made for the video (never `replaces`), or null. */
  async #findExisting(video: VideoRecord, replaces: string | null, gateway: Pick<MuxGateway, 'findAsset'>, log: Logger): Promise<MuxAsset | null> {
    const namesVideo = await this.#ownership.namesVideo(video);
    const match = async (asset: MuxAsset) => {
      if (asset.id === replaces || !namesVideo(asset)) return false;
      const refusal = await this.#ownership.refusal(video, asset);
      if (refusal !== null) log.warn('ingest.adoption_refused', { assetId: asset.id, passthrough: asset.passthrough, reason: refusal });
      return refusal === null;
    };
    return gateway.findAsset(match, { maxPages: this.#searchPages });
  }

  async #attach(
    video: VideoRecord,
    asset: MuxAsset,
    replaces: string | null,
    result: 'created' | 'adopted',
    requested: IngestOptions | undefined,
    log: Logger,
  ): Promise<IngestOutcome> {
    const mux: Partial<MuxFields> & { assetId: string } = {
      assetId: asset.id,
      status: 'preparing',
      ...(asset.createdAt ? { createdAt: asset.createdAt } : {}),
      ...(requested ? { audioEnhanced: requested.normalizeAudio, options: { ...requested } } : {}),
    };
    const attached = await this.#videos.attachMuxAsset(video.id, { replaces, attempt: video.mux.ingestAttempts, mux });
    if (attached.video === null) {
      const discarded = await this.#discardForDeletion(video.id, asset.id, log);
      if (discarded !== null) return discarded;
    }
    log.info(result === 'created' ? 'ingest.asset_created' : 'ingest.asset_adopted', {
      assetId: asset.id,
      // False when a webhook stored the asset first (or the video was cancelled meanwhile): nothing to add.
      stored: attached.video !== null,
    });
    return { result, videoId: video.id, assetId: asset.id };
  }

  /** The row's options; for a row without them (legacy schema, or written before 0002) the object's metadata. */
  async #requestedOptions(video: VideoRecord): Promise<IngestOptions> {
    const fromRow = ingestOptionsFromColumn(video.mux.options);
    if (fromRow) return fromRow;
    const object = await this.#storage.headObject(video.s3Key);
    return ingestOptionsFromMetadata(object?.metadata) ?? ingestOptions();
  }

  async #release(videoId: string, log: Logger): Promise<void> {
    try {
      await this.#videos.releaseIngestClaim(videoId);
    } catch (error) {
      // The claim then goes stale and is taken over later; the original failure is what the caller must see.
      log.warn('ingest.release_failed', { error });
    }
  }
}
