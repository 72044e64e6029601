/**
 * Deleting a video (DELETE /api/videos/{id}): everything it left anywhere goes — the S3 folder (source, captions, a
 * seal marker), an unfinished multipart upload, the Mux assets, and last the row. The row is deleted, not kept as a
 * tombstone: nothing needs one (see "Deleting a video" in docs/ARCHITECTURE.md).
 *
 * A small state machine on the row's status:
 *
 *   any status ──mark (one CAS statement)──▶ deleting ──storage, Mux, row──▶ (no row)
 *
 * 1. Mark: the row becomes `deleting` in one statement that also says what it was (video-deletion-db.ts). From then
 *    on nothing brings it back: ingest may not claim or attach, webhooks and restores leave it alone
 *    (status-rules.ts `stillLiving`, `acceptsAssetEvents`), edits are refused.
 * 2. Finish: the S3 objects and the multipart upload, then every Mux asset (the stored one, and — when an ingest may
 *    have made one the row never learned of — those whose passthrough carries reelay's tag for the video), then the
 *    row. A step that cannot be done now (Mux or S3 unreachable, the DELETE grant of migration 0005 not applied yet)
 *    leaves the row `deleting`; the reconcile job finishes it on its next run.
 * 3. Waiting: a video that was `processing` without a stored asset may have an ingest creating its asset right now.
 *    That ingest's attach is refused by the mark; it deletes the asset it made and finishes the deletion itself
 *    (ingest-service.ts). Until then the answer is 202, and reconcile takes over after `ingestGraceSeconds`.
 *
 * Late arrivals cannot resurrect anything: an upload that lands after the delete raises an S3 event whose ingest
 * finds no row (or a `deleting` one) and deletes the object; an asset created after it is deleted by its ingest, or
 * by the webhook that reports it (webhook-service.ts), since its tag names a video that no longer exists.
 */
import { readDuration, type Env } from '../config/reader.js';
import { hasMuxColumns, type VideoRecord, type VideoStatus } from '../db/video-fields.js';
import type { Executor } from '../db/driver.js';
import { deleteVideoRow, listDeleting, markDeleting } from '../db/video-deletion-db.js';
import { hasTable, type CapabilityCache } from '../db/capabilities.js';
import type { EventOutbox } from '../events/outbox.js';
import { isDatabaseError, NotFoundError, SqlState } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { MuxAsset } from '../mux/assets.js';
import type { AssetBinder } from '../mux/binding.js';
import type { MuxGateway } from '../mux/client.js';
import type { UploadStorage } from '../storage/uploads.js';
import type { Viewer } from './access.js';

/** What a deletion still waits for when it answers 202. */
export type DeletionWait = 'ingest' | 'mux' | 'storage' | 'database_grant';

export type DeletionOutcome =
  /** Everything is gone (HTTP 204). */
  | { readonly result: 'deleted'; readonly videoId: string }
  /** The row stays `deleting` until the rest is done (HTTP 202 with the video). */
  | { readonly result: 'deleting'; readonly video: VideoRecord; readonly waitingFor: DeletionWait };

export type DeletionStorage = Pick<UploadStorage, 'deleteVideoObjects' | 'abortMultipart'>;
export type DeletionGateway = Pick<MuxGateway, 'deleteAsset' | 'listAssets'>;

export interface VideoDeletionOptions {
  readonly executor: Executor;
  /** Built on first use, like every Mux and S3 client of the functions. */
  readonly storage: () => Promise<DeletionStorage>;
  readonly gateway: () => Promise<DeletionGateway>;
  readonly binding: () => Promise<AssetBinder>;
  readonly logger?: Logger;
  /** What the schema has: with the events outbox, the mark records `Video Deleted` in its own statement. */
  readonly capabilities?: CapabilityCache;
  /** Where `Video Deleted` is published (the function's outbox); none: the event stays for the sweep. */
  readonly events?: DeletionEvents;
  /**
   * How long after the mark a deletion leaves a video alone whose ingest may still be creating its asset (that
   * ingest finishes the deletion itself). Default 60 s; reconcile finishes what is older.
   */
  readonly ingestGraceSeconds?: number;
  /** Pages of 100 assets searched for assets tagged for the video (newest first). Default 5, as ingest's search. */
  readonly assetSearchPages?: number;
  readonly now?: () => Date;
}

export const defaultIngestGraceSeconds = 60;

/** The part of the events outbox a deletion uses: it acknowledges in the statement that removes the row. */
export type DeletionEvents = Pick<EventOutbox, 'publish' | 'acknowledge' | 'unrecorded'>;

const noDeletionEvents: DeletionEvents = { publish: async () => [], acknowledge: async () => {}, unrecorded: async () => {} };

/** DELETION_GRACE_SECONDS (the functions that finish deletions: video-deletes, reconcile); the default when unset. */
export function deletionSettingsFromEnv(env: Env): Pick<VideoDeletionOptions, 'ingestGraceSeconds'> {
  const ingestGraceSeconds = readDuration(env, 'DELETION_GRACE_SECONDS', 'seconds', { min: 0 });
  return ingestGraceSeconds === undefined ? {} : { ingestGraceSeconds };
}

export class VideoDeletion {
  readonly #executor: Executor;
  readonly #storage: VideoDeletionOptions['storage'];
  readonly #gateway: VideoDeletionOptions['gateway'];
  readonly #binding: VideoDeletionOptions['binding'];
  readonly #logger: Logger;
  readonly #graceSeconds: number;
  readonly #searchPages: number;
  readonly #now: () => Date;
  readonly #capabilities: CapabilityCache | undefined;
  readonly #events: DeletionEvents;

  constructor(options: VideoDeletionOptions) {
    this.#executor = options.executor;
    this.#capabilities = options.capabilities;
    this.#events = options.events ?? noDeletionEvents;
    this.#storage = options.storage;
    this.#gateway = options.gateway;
    this.#binding = options.binding;
    this.#logger = options.logger ?? silentLogger;
    this.#graceSeconds = options.ingestGraceSeconds ?? defaultIngestGraceSeconds;
    this.#searchPages = options.assetSearchPages ?? 5;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * The owner's (or an admin's) request. NotFoundError for a missing video or another owner's (as a read would say).
   * A video already `deleting` is finished now unless an ingest may still be at work on it.
   */
  async request(viewer: Viewer, id: string): Promise<DeletionOutcome> {
    const target = { id, ...(viewer.admin ? {} : { ownerId: viewer.sub }) };
    const marked = this.#capabilities === undefined
      ? await markDeleting(this.#executor, target)
      : await this.#capabilities.withCapabilities((capabilities) => markDeleting(this.#executor, target, { outbox: hasTable(capabilities, 'video_events') }));
    if (marked === null) throw new NotFoundError(`No video ${id}.`);
    const { video, previousStatus } = marked;
    const log = this.#logger.child({ videoId: id });
    if (previousStatus !== 'deleting') log.info('video.deletion_requested', { previousStatus, admin: viewer.admin && viewer.sub !== video.ownerId });
    const published = marked.event === null ? [] : await this.#events.publish([marked.event]);
    if (marked.change !== null) await this.#events.unrecorded([marked.change]);
    if (this.#mayAwaitIngest(video, previousStatus)) {
      await this.#events.acknowledge(published);
      log.info('video.deletion_waits', { waitingFor: 'ingest' });
      return { result: 'deleting', video, waitingFor: 'ingest' };
    }
    const outcome = await this.finish(video, published);
    if (outcome.result !== 'deleted') await this.#events.acknowledge(published);
    return outcome;
  }

  /** Deletions marked longer than the grace period ago and not finished (for reconcile), oldest first. */
  async listUnfinished(limit: number): Promise<VideoRecord[]> {
    return listDeleting(this.#executor, { olderThanSeconds: this.#graceSeconds, limit });
  }

  /**
   * Carries out the rest of a deletion whose row is `deleting` (a request, reconcile, or the ingest that was waited
   * for). `acknowledge`: published events the row's removal acknowledges in the same statement.
   */
  async finish(video: VideoRecord, acknowledge: readonly string[] = []): Promise<DeletionOutcome> {
    const log = this.#logger.child({ videoId: video.id });
    const pending = (waitingFor: DeletionWait, error: unknown): DeletionOutcome => {
      log.warn('video.deletion_pending', { waitingFor, error });
      return { result: 'deleting', video, waitingFor };
    };
    try {
      await this.#deleteObjects(video);
    } catch (error) {
      return pending('storage', error);
    }
    let assets: number;
    try {
      assets = await this.#deleteAssets(video, log);
    } catch (error) {
      return pending('mux', error);
    }
    try {
      await deleteVideoRow(this.#executor, video.id, acknowledge);
    } catch (error) {
      if (!isDatabaseError(error, SqlState.insufficientPrivilege)) throw error;
      log.error('video.deletion_needs_migration', { error, hint: 'apply migration 0005 (POST /api/database/run-mux-migration or the migrate function); reconcile then deletes the row' });
      return { result: 'deleting', video, waitingFor: 'database_grant' };
    }
    log.info('video.deleted', { muxAssets: assets });
    return { result: 'deleted', videoId: video.id };
  }

  /**
   * True while an ingest may be creating the video's asset: it was `processing` with no asset stored when marked (or,
   * asked again, it was marked less than the grace period ago and may have been).
   */
  #mayAwaitIngest(video: VideoRecord, previousStatus: VideoStatus): boolean {
    if (video.mux.assetId !== null) return false;
    if (previousStatus === 'processing') return true;
    if (previousStatus !== 'deleting' || !this.#mayHaveUnstoredAsset(video)) return false;
    return this.#now().getTime() - video.updatedAt.getTime() < this.#graceSeconds * 1000;
  }

  /** An asset the row does not name may exist: the schema cannot store one (legacy), or an ingest ran but stored none. */
  #mayHaveUnstoredAsset(video: VideoRecord): boolean {
    if (!hasMuxColumns(video)) return true;
    const attempts = video.mux.ingestAttempts ?? 0;
    return attempts > 1 || (attempts > 0 && video.mux.assetId === null);
  }

  async #deleteObjects(video: VideoRecord): Promise<void> {
    const storage = await this.#storage();
    // Abort first: parts are not objects, and a completion racing this delete then fails instead of landing.
    if (video.s3UploadId !== null) await storage.abortMultipart({ key: video.s3Key, uploadId: video.s3UploadId });
    await storage.deleteVideoObjects(video.id);
  }

  /** Deletes the stored asset and any asset tagged for the video; a 404 from Mux counts as deleted. */
  async #deleteAssets(video: VideoRecord, log: Logger): Promise<number> {
    const ids = new Set<string>(video.mux.assetId === null ? [] : [video.mux.assetId]);
    const search = this.#mayHaveUnstoredAsset(video);
    if (ids.size === 0 && !search) return 0;
    const gateway = await this.#gateway();
    if (search) for (const asset of await this.#taggedAssets(video.id, gateway)) ids.add(asset.id);
    for (const assetId of ids) {
      const outcome = await gateway.deleteAsset(assetId);
      log.info('video.deletion_asset', { assetId, outcome });
    }
    return ids.size;
  }

  /** Assets whose passthrough carries reelay's tag for the video (an untagged or forged one is never deleted). */
  async #taggedAssets(videoId: string, gateway: DeletionGateway): Promise<MuxAsset[]> {
    const binder = await this.#binding();
    const found: MuxAsset[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < this.#searchPages; page += 1) {
      const { assets, nextCursor } = await gateway.listAssets({ limit: 100, cursor });
      for (const asset of assets) {
        const check = binder.verify(asset.passthrough);
        if (check.ok && check.videoId === videoId) found.push(asset);
      }
      if (nextCursor === null) break;
      cursor = nextCursor;
    }
    return found;
  }
}
