/**
 * Retry and reconcile: the sweeps that make sure nothing written during a legacy-schema period, a crash or a Mux
 * outage stays lost.
 *
 * - `reconcile`:
 *   1. deferred Mux data (kept in `deferred_mux_data` while columns were missing) is restored into the columns;
 *   2. videos that reached Mux (processing, ready, errored) but have no asset id stored — written before 0002, when
 *      webhooks could only move the status, or whose ingest died between the create and the write — get their
 *      asset's fields back: the asset list is paged once, matched to the videos by passthrough, and an asset is
 *      adopted only once AssetOwnership proves it reelay's (its tag and its input: another Mux user's asset carrying
 *      the video's id, or a copy of its tag, is never adopted). A `processing` video with no such asset whose claim
 *      has gone stale (its ingest died before creating one) is ingested again;
 *   3. ready videos whose caption track is known but whose transcript or SRT is missing (a fetch failed inside the
 *      webhook's time budget) get them now.
 *   4. deletions left half-done (Mux or S3 unreachable, a crash, an ingest that was waited for and died) are finished
 *      (shared/videos/video-deletion.ts).
 *   Restoring only fills what is empty and never moves a status backwards (VideoDB.restoreMuxFields).
 * - `retry-errored`: errored videos whose error is transient (see {@link isTransientAssetError}) are re-ingested,
 *   up to `maxIngestAttempts` in total: the row is reset and gets the new asset, the old asset's events are ignored.
 * - `backfill`: videos left `uploaded` (their S3 event went to the DLQ, or they predate the pipeline) are ingested.
 */
import type { VideoDB } from '../db/video-db.js';
import type { VideoRecord } from '../db/video-fields.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { noMetrics, type Metrics } from '../metrics.js';
import type { MuxAsset, MuxAssetError } from '../mux/assets.js';
import { videoFieldsFromAsset } from '../mux/webhooks.js';
import type { MuxRuntime } from '../runtime/mux.js';
import type { AssetOwnership } from './asset-ownership.js';
import type { CaptionsService } from './captions-service.js';
import type { IngestOutcome, IngestService } from './ingest-service.js';
import type { VideoDeletion } from './video-deletion.js';
import type { EventOutbox } from '../events/outbox.js';
import { presentFields, videoStatusFor } from './webhook-service.js';

export const reconcileActions = ['reconcile', 'retry-errored', 'backfill'] as const;
export type ReconcileAction = (typeof reconcileActions)[number];

export interface ReconcileSummary {
  /** Deferred payloads restored into columns. */
  restored: number;
  /** Videos whose Mux fields were recovered from Mux (an asset proven theirs). */
  reconciled: number;
  /** Videos whose missing transcript or SRT was completed. */
  captions: number;
  /** Errored videos re-ingested. */
  retried: number;
  /** Videos sent to Mux that had never reached it. */
  backfilled: number;
  /** Half-done deletions finished (video, objects and assets gone). */
  deleted: number;
  /** Lifecycle events left unpublished (a crash, a failed PutEvents) put on the bus. */
  republished: number;
  /** Items that failed this run (they are picked up again by the next one). */
  failed: number;
}

export interface ReconcileServiceOptions {
  readonly videos: VideoDB;
  readonly ingest: Pick<IngestService, 'ingestVideo'>;
  readonly captions: CaptionsService;
  readonly mux: Pick<MuxRuntime, 'gateway' | 'urls' | 'config'>;
  /** Decides which assets may be adopted. */
  readonly ownership: Pick<AssetOwnership, 'namesVideo' | 'refusal'>;
  /** Finishes half-done deletions; without it they are left alone (and logged by nobody). */
  readonly deletion?: Pick<VideoDeletion, 'listUnfinished' | 'finish'>;
  /** Republishes unacknowledged events (shared/events/outbox.ts); without it they wait for a function that has one. */
  readonly events?: Pick<EventOutbox, 'sweep'>;
  /** Events younger than this are left to the function publishing them (default 60 s). */
  readonly eventGraceSeconds?: number;
  readonly logger?: Logger;
  /** Where restores and the pending deferred payloads are counted (the handler counts the rest of the summary). */
  readonly metrics?: Metrics;
  /** Attempts in total, the first ingest included (default 3). */
  readonly maxIngestAttempts?: number;
  /** Errors older than this are not retried automatically (default 24 h). */
  readonly retryWindowSeconds?: number;
  /** A video `uploaded` for longer than this is backfilled (default 600 s: its S3 event had time to be handled). */
  readonly backfillAfterSeconds?: number;
  /** As the ingest's (default 900 s): a `processing` video without an asset older than this is ingested again. */
  readonly staleClaimSeconds?: number;
  /** Pages of 100 assets read when matching by passthrough (default 20). */
  readonly assetPages?: number;
  /** Items handled at once. Default 4. */
  readonly concurrency?: number;
  readonly now?: () => Date;
}

/**
 * Whether re-ingesting can help an asset that errored. Mux reports a `type` per error and does not publish the list;
 * what reelay knows:
 * - `invalid_input` is what Mux reports both for a file it cannot read and for an input URL it could not download.
 *   The second is reelay's own transient failure (a presigned URL signed with a Lambda session that expired, an S3
 *   hiccup), indistinguishable by type, so it gets one retry with a fresh URL (attempts < 2); a second one means the
 *   file itself.
 * - Any other type (Mux-side processing failures) is transient up to the attempt limit.
 * - No asset at Mux any more (deleted) or no error reported: not retried.
 */
export function isTransientAssetError(errors: MuxAssetError | null, attempts: number): boolean {
  if (errors === null) return false;
  return errors.type === 'invalid_input' ? attempts < 2 : true;
}

export const emptySummary = (): ReconcileSummary => ({ restored: 0, reconciled: 0, captions: 0, retried: 0, backfilled: 0, deleted: 0, republished: 0, failed: 0 });

const ingested = (outcome: IngestOutcome) => outcome.result === 'created' || outcome.result === 'adopted';

/**
 * How one item of a sweep ended: `done` counts toward the summary, `skipped` was nothing to do, `failed` counts as a
 * failure and is logged with its reason (the next run tries again). An unexpected throw counts as `failed` too.
 */
export type ReconcileItemOutcome = { readonly result: 'done' } | { readonly result: 'skipped' } | { readonly result: 'failed'; readonly reason: string };

const done: ReconcileItemOutcome = { result: 'done' };
const skipped: ReconcileItemOutcome = { result: 'skipped' };
const failed = (reason: string): ReconcileItemOutcome => ({ result: 'failed', reason });
const doneIf = (condition: boolean): ReconcileItemOutcome => (condition ? done : skipped);

/** An ingest that ended without an asset and must be tried again is a failure of this item; the others are final. */
function ingestItemOutcome(outcome: IngestOutcome, step: string): ReconcileItemOutcome {
  if (outcome.result === 'retry' || outcome.result === 'rejected') return failed(`${step} ended ${outcome.result}`);
  return doneIf(ingested(outcome));
}

export class ReconcileService {
  readonly #videos: VideoDB;
  readonly #ingest: Pick<IngestService, 'ingestVideo'>;
  readonly #captions: CaptionsService;
  readonly #mux: ReconcileServiceOptions['mux'];
  readonly #ownership: ReconcileServiceOptions['ownership'];
  readonly #deletion: ReconcileServiceOptions['deletion'];
  readonly #events: ReconcileServiceOptions['events'];
  readonly #eventGraceSeconds: number;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #maxAttempts: number;
  readonly #retryWindowSeconds: number;
  readonly #backfillAfterSeconds: number;
  readonly #staleClaimSeconds: number;
  readonly #assetPages: number;
  readonly #concurrency: number;
  readonly #now: () => Date;

  constructor(options: ReconcileServiceOptions) {
    this.#videos = options.videos;
    this.#ingest = options.ingest;
    this.#captions = options.captions;
    this.#mux = options.mux;
    this.#ownership = options.ownership;
    this.#deletion = options.deletion;
    this.#events = options.events;
    this.#eventGraceSeconds = options.eventGraceSeconds ?? 60;
    this.#logger = options.logger ?? silentLogger;
    this.#metrics = options.metrics ?? noMetrics;
    this.#maxAttempts = options.maxIngestAttempts ?? 3;
    this.#retryWindowSeconds = options.retryWindowSeconds ?? 24 * 3600;
    this.#backfillAfterSeconds = options.backfillAfterSeconds ?? 600;
    this.#staleClaimSeconds = options.staleClaimSeconds ?? 900;
    this.#assetPages = options.assetPages ?? 20;
    this.#concurrency = options.concurrency ?? 4;
    this.#now = options.now ?? (() => new Date());
  }

  /** Runs the given actions in order (all three by default) over at most `limit` items each. */
  async run(actions: readonly ReconcileAction[] = reconcileActions, limit = 100): Promise<ReconcileSummary> {
    const summary = emptySummary();
    for (const action of actions) {
      if (action === 'reconcile') await this.#reconcile(summary, limit);
      if (action === 'retry-errored') await this.#retryErrored(summary, limit);
      if (action === 'backfill') await this.#backfill(summary, limit);
    }
    this.#logger.info('reconcile.summary', { actions, limit, ...summary });
    return summary;
  }

  async #reconcile(summary: ReconcileSummary, limit: number): Promise<void> {
    const deferred = await this.#videos.listDeferred(limit);
    const restored = await this.#each('restore', deferred, async ({ videoId, fields }) => {
      // Refused (the video moved on to another asset, or was cancelled): the payload is stale, and done with too.
      await this.#videos.restoreMuxFields(videoId, fields);
      await this.#videos.markDeferredReconciled(videoId);
      return done;
    });
    summary.restored += restored.done;
    summary.failed += restored.failed;
    // The pending gauge of the alarm on payloads waiting for over an hour; at most `limit` are seen per run.
    this.#metrics.count('DeferredPayloadsRestored', restored.done);
    this.#metrics.gauge('DeferredPayloadsPending', deferred.length - restored.done, { properties: { atLimit: deferred.length >= limit } });

    const orphans = await this.#videos.listWithoutMuxAsset(limit);
    if (orphans.length > 0) {
      const assets = await this.#ownAssets(orphans);
      const recovered = await this.#each('recover', orphans, (video) => this.#recover(video, assets.get(video.id), summary));
      summary.reconciled += recovered.done;
      summary.failed += recovered.failed;
    }

    const uncaptioned = await this.#videos.listMissingCaptions(limit);
    if (uncaptioned.length > 0) {
      const gateway = await this.#mux.gateway();
      const completed = await this.#each('captions', uncaptioned, async (video) => {
        const asset = video.mux.assetId === null ? null : await gateway.getAsset(video.mux.assetId);
        const result = asset === null ? null : await this.#captions.collect(video.id, asset, gateway);
        if (result === null || Object.keys(result.fields).length === 0) return skipped;
        await this.#videos.restoreMuxFields(video.id, { ...result.fields, assetId: video.mux.assetId });
        return result.missing.length > 0 ? failed(`captions still missing: ${result.missing.join(', ')}`) : done;
      });
      summary.captions += completed.done;
      summary.failed += completed.failed;
    }

    await this.#finishDeletions(summary, limit);
    await this.#republishEvents(summary, limit);
  }

  /** Last, so the events of what this run changed are among those it finds (if their own publish failed). */
  async #republishEvents(summary: ReconcileSummary, limit: number): Promise<void> {
    if (this.#events === undefined) return;
    try {
      const result = await this.#events.sweep({ olderThanSeconds: this.#eventGraceSeconds, limit });
      summary.republished += result.republished;
      summary.failed += result.failed;
      if (result.pruned > 0) this.#logger.info('reconcile.events_pruned', { pruned: result.pruned });
    } catch (error) {
      summary.failed += 1;
      this.#logger.error('reconcile.events_sweep_failed', { error });
    }
  }

  async #finishDeletions(summary: ReconcileSummary, limit: number): Promise<void> {
    const deletion = this.#deletion;
    if (deletion === undefined) return;
    const unfinished = await deletion.listUnfinished(limit);
    const counts = await this.#each('delete', unfinished, async (video) => {
      const outcome = await deletion.finish(video);
      return outcome.result === 'deleted' ? done : failed(`deletion waits for ${outcome.waitingFor}`);
    });
    summary.deleted += counts.done;
    summary.failed += counts.failed;
  }

  /**
   * The newest asset proven to be each video's, from one pass over the asset list (newest first); it stops once every
   * video has one. The passthrough filters (no Mux call); the input check runs for the few candidates left.
   */
  async #ownAssets(videos: readonly VideoRecord[]): Promise<Map<string, MuxAsset>> {
    const gateway = await this.#mux.gateway();
    const wanted = new Map(await Promise.all(videos.map(async (video) => [video.id, { video, names: await this.#ownership.namesVideo(video) }] as const)));
    const found = new Map<string, MuxAsset>();
    let cursor: string | null = null;
    for (let page = 0; page < this.#assetPages && found.size < wanted.size; page += 1) {
      const { assets, nextCursor } = await gateway.listAssets({ limit: 100, cursor });
      for (const asset of assets) {
        // A passthrough begins with the video id, tagged or (before tags) alone.
        const candidate = wanted.get(asset.passthrough?.slice(0, 36) ?? '');
        if (candidate === undefined || found.has(candidate.video.id) || !candidate.names(asset)) continue;
        const refusal = await this.#ownership.refusal(candidate.video, asset);
        if (refusal === null) found.set(candidate.video.id, asset);
        else this.#logger.warn('reconcile.adoption_refused', { videoId: candidate.video.id, assetId: asset.id, passthrough: asset.passthrough, reason: refusal });
      }
      if (nextCursor === null) break;
      cursor = nextCursor;
    }
    return found;
  }

  async #recover(video: VideoRecord, asset: MuxAsset | undefined, summary: ReconcileSummary): Promise<ReconcileItemOutcome> {
    if (asset === undefined) {
      const staleBefore = this.#now().getTime() - this.#staleClaimSeconds * 1000;
      if (video.status !== 'processing' || video.updatedAt.getTime() >= staleBefore) return skipped;
      // Claimed, never created (the ingest died first): send it again; the claim's staleness is re-checked in SQL.
      const outcome = await this.#ingest.ingestVideo(video, { from: [] });
      if (ingested(outcome)) summary.backfilled += 1;
      return skipped;
    }
    // Until reconciled, a ready video's last update is the webhook that made it ready: the best ready time known.
    const observedAt = video.status === 'ready' ? video.updatedAt : this.#now();
    const fields = videoFieldsFromAsset(asset, this.#mux.urls, { observedAt, playbackPolicy: this.#mux.config.playbackPolicy });
    const result = await this.#videos.restoreMuxFields(video.id, presentFields({ ...fields }), videoStatusFor[asset.status]);
    this.#logger.info('reconcile.recovered', { videoId: video.id, assetId: asset.id, stored: result.video !== null });
    return doneIf(result.video !== null);
  }

  async #retryErrored(summary: ReconcileSummary, limit: number): Promise<void> {
    const errored = await this.#videos.listErroredForRetry({ maxAttempts: this.#maxAttempts, withinSeconds: this.#retryWindowSeconds, limit });
    if (errored.length === 0) return;
    const gateway = await this.#mux.gateway();
    const counts = await this.#each('retry', errored, async (video) => {
      const assetId = video.mux.assetId as string;
      const asset = await gateway.getAsset(assetId);
      const attempts = video.mux.ingestAttempts ?? 0;
      if (asset?.status !== 'errored' || !isTransientAssetError(asset.errors, attempts)) {
        this.#logger.debug('reconcile.retry_skipped', { videoId: video.id, assetId, errorType: asset?.errors?.type ?? null, attempts });
        return skipped;
      }
      const outcome = await this.#ingest.ingestVideo(video, { from: ['errored'], replaces: assetId, maxAttempts: this.#maxAttempts });
      this.#logger.info('reconcile.retried', { videoId: video.id, replaces: assetId, outcome: outcome.result, errorType: asset.errors?.type });
      return ingestItemOutcome(outcome, 're-ingest');
    });
    summary.retried += counts.done;
    summary.failed += counts.failed;
  }

  /** Runs `work` over `items`, a few at a time; counts the items done, and failures (logged, not thrown). */
  async #each<T extends { id: string } | { videoId: string }>(
    step: string,
    items: readonly T[],
    work: (item: T) => Promise<ReconcileItemOutcome>,
  ): Promise<{ done: number; failed: number }> {
    let next = 0;
    const counts = { done: 0, failed: 0 };
    const worker = async () => {
      while (next < items.length) {
        const item = items[next] as T;
        next += 1;
        const videoId = 'id' in item ? item.id : item.videoId;
        let outcome: ReconcileItemOutcome;
        try {
          outcome = await work(item);
        } catch (error) {
          // A fault nobody expected (the database, Mux): a failure of this item, like a `failed` outcome.
          this.#logger.warn('reconcile.item_failed', { step, videoId, error });
          counts.failed += 1;
          continue;
        }
        if (outcome.result === 'done') counts.done += 1;
        if (outcome.result === 'failed') {
          counts.failed += 1;
          this.#logger.warn('reconcile.item_failed', { step, videoId, reason: outcome.reason });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, items.length) }, worker));
    return counts;
  }

  async #backfill(summary: ReconcileSummary, limit: number): Promise<void> {
    const waiting = await this.#videos.listAwaitingIngest(this.#backfillAfterSeconds, limit);
    const counts = await this.#each('backfill', waiting, async (video) => {
      return ingestItemOutcome(await this.#ingest.ingestVideo(video, { from: ['uploaded'] }), 'backfill');
    });
    summary.backfilled += counts.done;
    summary.failed += counts.failed;
  }
}
