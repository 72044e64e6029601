/**
 * The sweeps that bring Mux's side into the database: deferred payloads restored into their columns, assets found
 * again for videos that lost their asset id, assets re-read for `processing` videos whose webhooks never came, and
 * missing captions. Restoring only fills what is empty and never moves a status backwards (VideoDB.restoreMuxFields);
 * what an asset means for its video is the webhook's own reading of it (progressOf, shared/videos/webhook-service.ts).
 */
import type { VideoRecord } from '../../db/video-fields.js';
import type { SweepCursor } from '../../db/video-sweeps-db.js';
import type { MuxAsset } from '../../mux/assets.js';
import type { MuxGateway } from '../../mux/client.js';
import { progressOf } from '../webhook-service.js';
import { itemLoop, type SweepContext } from './context.js';
import { consumedFullBatch, done, doneIf, failed, ingested, skipped, sweepItems, type ReconcileItemOutcome, type ReconcileSummary } from './outcomes.js';
import type { Sweep } from './runner.js';

/** Deferred Mux data (kept in `deferred_mux_data` while columns were missing) restored into the columns. */
export function restoreSweep(context: SweepContext): Sweep {
  return {
    name: 'restore',
    async round({ batch, summary, timeUp }) {
      const deferred = await context.videos.listDeferred(batch);
      const counts = await sweepItems(itemLoop(context, timeUp), 'restore', deferred, async ({ videoId, fields }) => {
        // Refused (the video moved on to another asset, or was cancelled): the payload is stale, and done with too.
        await context.videos.restoreMuxFields(videoId, fields);
        await context.videos.markDeferredReconciled(videoId);
        return done;
      });
      summary.restored += counts.done;
      summary.failed += counts.failed;
      // The pending gauge of the alarm on payloads waiting for over an hour; at most a batch is seen per round.
      context.metrics.count('DeferredPayloadsRestored', counts.done);
      context.metrics.gauge('DeferredPayloadsPending', deferred.length - counts.done, { properties: { atLimit: deferred.length >= batch } });
      return counts.left > 0 || consumedFullBatch(deferred.length, batch, counts);
    },
  };
}

/**
 * Videos that reached Mux (processing, ready, errored) but have no asset id stored — written before 0002, when
 * webhooks could only move the status, or whose ingest died between the create and the write — get their asset's
 * fields back: the asset list is paged once per round, matched to the videos by passthrough, and an asset is adopted
 * only once AssetOwnership proves it reelay's. A `processing` video with no such asset whose claim has gone stale
 * (its ingest died before creating one) is ingested again.
 */
export function recoverSweep(context: SweepContext): Sweep {
  return {
    name: 'recover',
    async round({ batch, summary, timeUp }) {
      const orphans = await context.videos.listWithoutMuxAsset(batch);
      if (orphans.length === 0) return false;
      const assets = await ownAssets(context, orphans);
      const counts = await sweepItems(itemLoop(context, timeUp), 'recover', orphans, (video) => recover(context, video, assets.get(video.id), summary));
      summary.reconciled += counts.done;
      summary.failed += counts.failed;
      return counts.left > 0 || consumedFullBatch(orphans.length, batch, counts);
    },
  };
}

/**
 * The newest asset proven to be each video's, from one pass over the asset list (newest first); it stops once every
 * video has one. The passthrough filters (no Mux call); the input check runs for the few candidates left.
 */
async function ownAssets(context: SweepContext, videos: readonly VideoRecord[]): Promise<Map<string, MuxAsset>> {
  const gateway = await context.mux.gateway();
  const wanted = new Map(await Promise.all(videos.map(async (video) => [video.id, { video, names: await context.ownership.namesVideo(video) }] as const)));
  const found = new Map<string, MuxAsset>();
  let cursor: string | null = null;
  for (let page = 0; page < context.settings.assetPages && found.size < wanted.size; page += 1) {
    const { assets, nextCursor } = await gateway.listAssets({ limit: 100, cursor });
    for (const asset of assets) {
      // A passthrough begins with the video id, tagged or (before tags) alone.
      const candidate = wanted.get(asset.passthrough?.slice(0, 36) ?? '');
      if (candidate === undefined || found.has(candidate.video.id) || !candidate.names(asset)) continue;
      const refusal = await context.ownership.refusal(candidate.video, asset);
      if (refusal === null) found.set(candidate.video.id, asset);
      else context.logger.warn('reconcile.adoption_refused', { videoId: candidate.video.id, assetId: asset.id, passthrough: asset.passthrough, reason: refusal });
    }
    if (nextCursor === null) break;
    cursor = nextCursor;
  }
  return found;
}

async function recover(context: SweepContext, video: VideoRecord, asset: MuxAsset | undefined, summary: ReconcileSummary): Promise<ReconcileItemOutcome> {
  if (asset === undefined) {
    const staleBefore = context.now().getTime() - context.settings.staleClaimSeconds * 1000;
    if (video.status !== 'processing' || video.updatedAt.getTime() >= staleBefore) return skipped;
    // Claimed, never created (the ingest died first): send it again; the claim's staleness is re-checked in SQL.
    const outcome = await context.ingest.ingestVideo(video, { from: [] });
    if (ingested(outcome)) summary.backfilled += 1;
    return skipped;
  }
  // Until reconciled, a ready video's last update is the webhook that made it ready: the best ready time known.
  const observedAt = video.status === 'ready' ? video.updatedAt : context.now();
  const { videoStatus, mux } = progressOf(asset, context.mux, observedAt);
  const result = await context.videos.restoreMuxFields(video.id, mux, videoStatus);
  context.logger.info('reconcile.recovered', { videoId: video.id, assetId: asset.id, stored: result.video !== null });
  return doneIf(result.video !== null);
}

/**
 * `processing` videos whose stored asset has not changed for `refreshAfterSeconds` (its webhooks never arrived: an
 * endpoint broken for longer than Mux retries) get the asset as Mux has it now, applied as its webhook would have
 * been. One still preparing is left as it is (untouched, so its age keeps showing in diagnostics); one Mux no longer
 * has is errored, as `video.asset.deleted` makes it. The listing pages on, so each run reads every such video once.
 */
export function refreshSweep(context: SweepContext): Sweep | null {
  const sweepDb = context.sweepDb;
  if (sweepDb === undefined) return null;
  let after: SweepCursor | null = null;
  return {
    name: 'refresh',
    async round({ batch, summary, timeUp }) {
      const page = await sweepDb.listStaleProcessing({ olderThanSeconds: context.settings.refreshAfterSeconds, limit: batch, after });
      if (page.videos.length === 0) return false;
      after = page.next;
      const gateway = await context.mux.gateway();
      const counts = await sweepItems(itemLoop(context, timeUp), 'refresh', page.videos, (video) => refresh(context, gateway, video));
      summary.refreshed += counts.done;
      summary.failed += counts.failed;
      return counts.left > 0 || (page.videos.length >= batch && counts.failed === 0);
    },
  };
}

async function refresh(context: SweepContext, gateway: Pick<MuxGateway, 'getAsset'>, video: VideoRecord): Promise<ReconcileItemOutcome> {
  const assetId = video.mux.assetId as string;
  const asset = await gateway.getAsset(assetId);
  if (asset === null) {
    // Guarded by the asset id: a video that has moved on to another asset meanwhile is left alone.
    const result = await context.videos.restoreMuxFields(video.id, { assetId, status: 'errored', error: `deleted: the Mux asset ${assetId} was deleted` }, 'errored');
    context.logger.warn('reconcile.asset_gone', { videoId: video.id, assetId, stored: result.video !== null });
    return doneIf(result.video?.status === 'errored');
  }
  if (asset.status === 'preparing') return skipped;
  const { videoStatus, mux } = progressOf(asset, context.mux, context.now());
  const result = await context.videos.restoreMuxFields(video.id, mux, videoStatus);
  context.logger.info('reconcile.refreshed', { videoId: video.id, assetId, assetStatus: asset.status, status: result.video?.status ?? null });
  return doneIf(result.video !== null && result.video.status !== video.status);
}

/**
 * Ready videos whose caption track is known but whose transcript or SRT is missing (a fetch failed inside the
 * webhook's time budget, or the track was learnt by a refresh) get them now.
 */
export function captionsSweep(context: SweepContext): Sweep {
  return {
    name: 'captions',
    async round({ batch, summary, timeUp }) {
      const uncaptioned = await context.videos.listMissingCaptions(batch);
      if (uncaptioned.length === 0) return false;
      const gateway = await context.mux.gateway();
      const counts = await sweepItems(itemLoop(context, timeUp), 'captions', uncaptioned, async (video) => {
        const asset = video.mux.assetId === null ? null : await gateway.getAsset(video.mux.assetId);
        const result = asset === null ? null : await context.captions.collect(video.id, asset, gateway);
        if (result === null || Object.keys(result.fields).length === 0) return skipped;
        await context.videos.restoreMuxFields(video.id, { ...result.fields, assetId: video.mux.assetId });
        return result.missing.length > 0 ? failed(`captions still missing: ${result.missing.join(', ')}`) : done;
      });
      summary.captions += counts.done;
      summary.failed += counts.failed;
      return counts.left > 0 || consumedFullBatch(uncaptioned.length, batch, counts);
    },
  };
}
