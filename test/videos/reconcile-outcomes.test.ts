/**
 * Each item of a reconcile sweep ends in an outcome (done, skipped, failed with a reason) rather than a thrown plain
 * Error: a backfill or re-ingest that must be tried again counts as failed and is logged with why, an unexpected
 * throw still counts as failed, and the other items go on.
 */
import { describe, expect, it } from 'vitest';
import type { VideoDB, VideoRecord } from '../../shared/db/video-db.js';
import { memoryLogger } from '../../shared/log.js';
import type { IngestOutcome } from '../../shared/videos/ingest-service.js';
import { ReconcileService, type ReconcileServiceOptions } from '../../shared/videos/reconcile-service.js';

const video = (id: string) => ({ id, status: 'uploaded' }) as unknown as VideoRecord;

function service(outcomes: Record<string, IngestOutcome | Error>) {
  const logger = memoryLogger();
  const waiting = Object.keys(outcomes).map(video);
  const options = {
    videos: { listAwaitingIngest: async () => waiting } as unknown as VideoDB,
    ingest: {
      ingestVideo: async (record: VideoRecord) => {
        const outcome = outcomes[record.id] as IngestOutcome | Error;
        if (outcome instanceof Error) throw outcome;
        return outcome;
      },
    },
    logger,
  } as unknown as ReconcileServiceOptions;
  return { reconcile: new ReconcileService(options), logger };
}

describe('reconcile item outcomes', () => {
  it('counts a backfill that must be retried as failed, with the reason logged, and the others as they ended', async () => {
    const { reconcile, logger } = service({
      a: { result: 'created', videoId: 'a', assetId: 'asset-a' },
      b: { result: 'retry', videoId: 'b', reason: 'mux_unavailable' },
      c: { result: 'rejected', videoId: 'c', error: 'unsupported codec' },
      d: { result: 'skipped', videoId: 'd', reason: 'not_claimable' },
      e: new Error('connection reset'),
    });
    const summary = await reconcile.run(['backfill']);
    expect(summary).toMatchObject({ backfilled: 1, failed: 3 });
    const failures = logger.lines.filter((line) => line.event === 'reconcile.item_failed');
    // Outcomes carry a reason; only the unexpected throw is logged as an error.
    expect(failures.map((line) => [line.videoId, line.reason ?? null, (line.error as { message?: string } | undefined)?.message ?? null]).sort()).toEqual([
      ['b', 'backfill ended retry', null],
      ['c', 'backfill ended rejected', null],
      ['e', null, 'connection reset'],
    ]);
  });
});
