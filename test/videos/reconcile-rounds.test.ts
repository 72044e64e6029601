/**
 * How long a reconcile run goes on: a sweep with a full batch reads again while it makes progress, until the time
 * budget — cut to the Lambda's remaining time — is spent; a run that stops with work left says `more`. A sweep that
 * throws is one failure, and the sweeps after it still run.
 */
import { describe, expect, it } from 'vitest';
import type { VideoDB, VideoRecord } from '../../shared/db/video-db.js';
import { memoryLogger } from '../../shared/log.js';
import { ReconcileService, type ReconcileServiceOptions } from '../../shared/videos/reconcile-service.js';
import { sweepDeadline } from '../../shared/videos/reconcile/runner.js';

/** A backlog of `size` uploaded videos; each ingest takes `ingestMs` on the fake clock and claims its video. */
function backlog(size: number, options: { ingestMs: number; timeBudgetSeconds?: number; remainingMs?: number; batchSize?: number; failDeferred?: boolean }) {
  let clock = 0;
  const waiting = Array.from({ length: size }, (_, index) => ({ id: `video-${index}`, status: 'uploaded' }) as unknown as VideoRecord);
  const listings: number[] = [];
  const logger = memoryLogger();
  const videos = {
    listAwaitingIngest: async (_olderThan: number, limit: number) => {
      listings.push(limit);
      return waiting.slice(0, limit);
    },
    listDeferred: async () => {
      if (options.failDeferred) throw new Error('database unreachable');
      return [];
    },
    listWithoutMuxAsset: async () => [],
    listMissingCaptions: async () => [],
  } as unknown as VideoDB;
  const reconcile = new ReconcileService({
    videos,
    ingest: {
      ingestVideo: async (video: VideoRecord) => {
        clock += options.ingestMs;
        waiting.splice(waiting.indexOf(video), 1);
        return { result: 'created', videoId: video.id, assetId: `asset-${video.id}` };
      },
    },
    logger,
    concurrency: 1,
    batchSize: options.batchSize ?? 2,
    timeBudgetSeconds: options.timeBudgetSeconds ?? 60,
    remainingTimeMs: () => options.remainingMs,
    now: () => new Date(clock),
  } as unknown as ReconcileServiceOptions);
  return { reconcile, waiting, listings, logger };
}

describe('reconcile rounds', () => {
  it('reads again while its batch is full and it makes progress, until the backlog is done', async () => {
    const { reconcile, waiting, listings } = backlog(5, { ingestMs: 10 });
    expect(await reconcile.run(['backfill'])).toMatchObject({ backfilled: 5, failed: 0, more: false });
    expect(waiting).toEqual([]);
    // 2 + 2 + 1: the short batch is the last.
    expect(listings).toEqual([2, 2, 2]);
  });

  it('stops when the time budget is spent and reports more work', async () => {
    const { reconcile, waiting } = backlog(10, { ingestMs: 400, timeBudgetSeconds: 1 });
    const summary = await reconcile.run(['backfill']);
    // Items start until the deadline (1 s): 0, 400 and 800 ms.
    expect(summary).toMatchObject({ backfilled: 3, more: true });
    expect(waiting).toHaveLength(7);
  });

  it('keeps a margin of the Lambda’s remaining time, whatever the budget', async () => {
    // 150 s left and a 30 s margin: 120 s for the sweeps, not the budget's 240.
    const { reconcile } = backlog(10, { ingestMs: 50_000, timeBudgetSeconds: 240, remainingMs: 150_000 });
    expect(await reconcile.run(['backfill'])).toMatchObject({ backfilled: 3, more: true });
    expect(sweepDeadline(1_000, 240_000, 300_000, 30_000)).toBe(241_000);
    expect(sweepDeadline(1_000, 5_000, undefined, 30_000)).toBe(6_000);
    // A short invocation keeps a fifth of its time back, not all of it.
    expect(sweepDeadline(1_000, 240_000, 10_000, 30_000)).toBe(9_000);
  });

  it('counts a sweep that throws as one failure and runs the next ones', async () => {
    const { reconcile, logger } = backlog(1, { ingestMs: 1, failDeferred: true });
    const summary = await reconcile.run(['reconcile', 'backfill']);
    expect(summary).toMatchObject({ backfilled: 1, failed: 1, more: false });
    expect(logger.lines.filter((line) => line.event === 'reconcile.sweep_failed').map((line) => [line.sweep, (line.error as { message?: string }).message])).toEqual([
      ['restore', 'database unreachable'],
    ]);
  });
});
