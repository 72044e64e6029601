/**
 * What reconcile's sweeps share: the run's summary, how one item of a sweep ends, and the loop that works through a
 * batch a few items at a time until the run's time is up.
 */
import type { Logger } from '../../log.js';
import type { MuxAssetError } from '../../mux/assets.js';
import type { IngestOutcome } from '../ingest-service.js';

export interface ReconcileSummary {
  /** Deferred payloads restored into columns. */
  restored: number;
  /** Videos whose Mux fields were recovered from Mux (an asset proven theirs). */
  reconciled: number;
  /** `processing` videos whose asset was re-read from Mux and had moved on (webhooks that never arrived). */
  refreshed: number;
  /** Videos whose missing transcript or SRT was completed. */
  captions: number;
  /** Errored videos re-ingested. */
  retried: number;
  /** Videos sent to Mux that had never reached it. */
  backfilled: number;
  /** `awaiting_upload` videos whose object was in S3 (its S3 event was lost), moved to `uploaded` and ingested. */
  stranded: number;
  /** Half-done deletions finished (video, objects and assets gone). */
  deleted: number;
  /** Lifecycle events left unpublished (a crash, a failed PutEvents) put on the bus. */
  republished: number;
  /** Items that failed this run, and sweeps that failed as a whole (they are picked up again by the next run). */
  failed: number;
  /** The run stopped (its time budget) while a sweep still had a full batch to go: the next run has work. */
  more: boolean;
}

export const emptySummary = (): ReconcileSummary => ({
  restored: 0,
  reconciled: 0,
  refreshed: 0,
  captions: 0,
  retried: 0,
  backfilled: 0,
  stranded: 0,
  deleted: 0,
  republished: 0,
  failed: 0,
  more: false,
});

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

/**
 * How one item of a sweep ended: `done` counts toward the summary, `skipped` was nothing to do, `failed` counts as a
 * failure and is logged with its reason (the next run tries again). An unexpected throw counts as `failed` too.
 */
export type ReconcileItemOutcome = { readonly result: 'done' } | { readonly result: 'skipped' } | { readonly result: 'failed'; readonly reason: string };

export const done: ReconcileItemOutcome = { result: 'done' };
export const skipped: ReconcileItemOutcome = { result: 'skipped' };
export const failed = (reason: string): ReconcileItemOutcome => ({ result: 'failed', reason });
export const doneIf = (condition: boolean): ReconcileItemOutcome => (condition ? done : skipped);

export const ingested = (outcome: IngestOutcome) => outcome.result === 'created' || outcome.result === 'adopted';

/** An ingest that ended without an asset and must be tried again is a failure of this item; the others are final. */
export function ingestItemOutcome(outcome: IngestOutcome, step: string): ReconcileItemOutcome {
  if (outcome.result === 'retry' || outcome.result === 'rejected') return failed(`${step} ended ${outcome.result}`);
  return doneIf(ingested(outcome));
}

export interface ItemCounts {
  done: number;
  failed: number;
  /** Items not started: the run's time was up. */
  left: number;
}

export interface ItemLoop {
  readonly concurrency: number;
  readonly logger: Logger;
  /** True once no further item may start (the run's deadline). */
  readonly timeUp: () => boolean;
}

/** Runs `work` over `items`, a few at a time, until the time is up; counts the items done, and failures (logged, not thrown). */
export async function sweepItems<T extends { id: string } | { videoId: string }>(
  loop: ItemLoop,
  step: string,
  items: readonly T[],
  work: (item: T) => Promise<ReconcileItemOutcome>,
): Promise<ItemCounts> {
  let next = 0;
  const counts = { done: 0, failed: 0, left: 0 };
  const worker = async () => {
    while (next < items.length && !loop.timeUp()) {
      const item = items[next] as T;
      next += 1;
      const videoId = 'id' in item ? item.id : item.videoId;
      let outcome: ReconcileItemOutcome;
      try {
        outcome = await work(item);
      } catch (error) {
        // A fault nobody expected (the database, Mux): a failure of this item, like a `failed` outcome.
        loop.logger.warn('reconcile.item_failed', { step, videoId, error });
        counts.failed += 1;
        continue;
      }
      if (outcome.result === 'done') counts.done += 1;
      if (outcome.result === 'failed') {
        counts.failed += 1;
        loop.logger.warn('reconcile.item_failed', { step, videoId, reason: outcome.reason });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(loop.concurrency, items.length) }, worker));
  counts.left = items.length - next;
  return counts;
}

/**
 * Whether a sweep whose listing does not move past what it read (it re-reads from the start) should read again:
 * its batch was full, every item it took left the set (done), and none failed — a failure (Mux throttling, say)
 * waits for the next run rather than being hammered again, and a batch of items that stay (skipped) would be read
 * again as they are.
 */
export const consumedFullBatch = (found: number, batch: number, counts: ItemCounts) => found >= batch && counts.done > 0 && counts.failed === 0;
