/**
 * The sweeps that send videos to Mux when their ingest never happened or must happen again: errored videos whose
 * error is transient, videos left `uploaded`, and videos left `awaiting_upload` although their object is in S3.
 */
import type { VideoRecord } from '../../db/video-fields.js';
import type { SweepCursor } from '../../db/video-sweeps-db.js';
import { itemLoop, type SweepContext } from './context.js';
import { consumedFullBatch, ingestItemOutcome, isTransientAssetError, skipped, sweepItems, type ReconcileItemOutcome } from './outcomes.js';
import type { Sweep } from './runner.js';

/**
 * Errored videos whose error is transient (see isTransientAssetError) are re-ingested, up to `maxIngestAttempts` in
 * total: the row is reset and gets the new asset, the old asset's events are ignored.
 */
export function retryErroredSweep(context: SweepContext): Sweep {
  const { maxIngestAttempts, retryWindowSeconds } = context.settings;
  return {
    name: 'retry-errored',
    async round({ batch, summary, timeUp }) {
      const errored = await context.videos.listErroredForRetry({ maxAttempts: maxIngestAttempts, withinSeconds: retryWindowSeconds, limit: batch });
      if (errored.length === 0) return false;
      const gateway = await context.mux.gateway();
      const counts = await sweepItems(itemLoop(context, timeUp), 'retry', errored, async (video) => {
        const assetId = video.mux.assetId as string;
        const asset = await gateway.getAsset(assetId);
        const attempts = video.mux.ingestAttempts ?? 0;
        if (asset?.status !== 'errored' || !isTransientAssetError(asset.errors, attempts)) {
          context.logger.debug('reconcile.retry_skipped', { videoId: video.id, assetId, errorType: asset?.errors?.type ?? null, attempts });
          return skipped;
        }
        const outcome = await context.ingest.ingestVideo(video, { from: ['errored'], replaces: assetId, maxAttempts: maxIngestAttempts });
        context.logger.info('reconcile.retried', { videoId: video.id, replaces: assetId, outcome: outcome.result, errorType: asset.errors?.type });
        return ingestItemOutcome(outcome, 're-ingest');
      });
      summary.retried += counts.done;
      summary.failed += counts.failed;
      return counts.left > 0 || consumedFullBatch(errored.length, batch, counts);
    },
  };
}

/** Videos left `uploaded` for `backfillAfterSeconds` (their S3 event went to the DLQ, or they predate the pipeline). */
export function backfillSweep(context: SweepContext): Sweep {
  return {
    name: 'backfill',
    async round({ batch, summary, timeUp }) {
      const waiting = await context.videos.listAwaitingIngest(context.settings.backfillAfterSeconds, batch);
      const counts = await sweepItems(itemLoop(context, timeUp), 'backfill', waiting, async (video) => {
        return ingestItemOutcome(await context.ingest.ingestVideo(video, { from: ['uploaded'] }), 'backfill');
      });
      summary.backfilled += counts.done;
      summary.failed += counts.failed;
      return counts.left > 0 || consumedFullBatch(waiting.length, batch, counts);
    },
  };
}

/**
 * Videos `awaiting_upload` for `strandedAfterSeconds` whose object is in S3: a single PUT completes without calling
 * the API, so only the S3 event moves them, and it was lost (dead-lettered before its first write, purged). A
 * multipart upload completes through the API, which moves the row itself, so any object found here is a finished
 * upload. Oldest first, one look-up each (a one-key listing: see UploadStorage.findObject), paging on through the window (rows older than `strandedMaxAgeSeconds`
 * can no longer receive an upload and are not looked at); each one found moves to `uploaded` (recording its `Video
 * Uploaded` event, as the ingest does) and is ingested at once.
 */
export function strandedSweep(context: SweepContext): Sweep | null {
  const { sweepDb, storage } = context;
  if (sweepDb === undefined || storage === undefined) return null;
  let after: SweepCursor | null = null;
  return {
    name: 'stranded',
    async round({ batch, summary, timeUp }) {
      const page = await sweepDb.listAwaitingUpload({
        olderThanSeconds: context.settings.strandedAfterSeconds,
        maxAgeSeconds: context.settings.strandedMaxAgeSeconds,
        limit: batch,
        after,
      });
      if (page.videos.length === 0) return false;
      after = page.next;
      const objects = await storage();
      const counts = await sweepItems(itemLoop(context, timeUp), 'stranded', page.videos, (video) => ingestStranded(context, objects, video));
      summary.stranded += counts.done;
      summary.failed += counts.failed;
      return counts.left > 0 || (page.videos.length >= batch && counts.failed === 0);
    },
  };
}

async function ingestStranded(context: SweepContext, objects: Awaited<ReturnType<NonNullable<SweepContext['storage']>>>, video: VideoRecord): Promise<ReconcileItemOutcome> {
  const object = await objects.findObject(video.s3Key);
  // Empty: a seal marker (a cancelled upload's), never an upload (every upload declares at least one byte).
  if (object === null || object.size === 0) return skipped;
  // A compare-and-set: an S3 event delivered meanwhile, or a cancellation, finds the row moved and wins.
  const moved = await context.videos.transition(video.id, { from: ['awaiting_upload'], to: 'uploaded' });
  if (moved.video === null) return skipped;
  context.logger.warn('reconcile.stranded_upload', { videoId: video.id, key: video.s3Key, objectBytes: object.size, declaredBytes: video.sizeBytes });
  // Should this ingest fail, the video is `uploaded` now, and the backfill sweep takes it from there.
  return ingestItemOutcome(await context.ingest.ingestVideo(moved.video, { from: ['uploaded'] }), 'stranded ingest');
}
