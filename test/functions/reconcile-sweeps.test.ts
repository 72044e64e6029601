/**
 * Reconcile's sweeps under pressure, through the function as Lambda builds it (a real database, the local S3, the Mux
 * emulator): a Mux outage stops only the sweeps that need Mux, an upload whose S3 event was lost is found in S3, an
 * asset whose webhooks never came is re-read, and a backlog larger than a batch is worked through in one run.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler as createReconcileHandler } from '../../functions/reconcile/handler.js';
import { sqlValue } from '../../shared/db/driver.js';
import type { Logger } from '../../shared/log.js';
import type { PendingWork } from '../../shared/storage/pending-work.js';
import { muxFromEnv } from '../../shared/runtime/mux.js';
import { backends } from '../support/databases.js';
import { recordingPublisher, type RecordingPublisher } from '../support/events.js';
import { age, assetsFor, eventually, sqsEvent, startPipeline, type Pipeline } from '../videos/ingest-support.js';

const statusOf = async (pipeline: Pipeline, id: string) => (await pipeline.videos.findById(id))?.status;

describe.each(backends)('reconcile sweeps on %s', (backend) => {
  describe('while Mux refuses every call', () => {
    let pipeline: Pipeline;
    let publisher: RecordingPublisher;
    beforeAll(async () => {
      publisher = recordingPublisher();
      // Nothing listens on port 9 (discard): every Mux call is refused, as in a full outage.
      pipeline = await startPipeline(backend, { eventPublisher: publisher, extraEnv: { MUX_BASE_URL: 'http://127.0.0.1:9', EVENTS_SWEEP_AFTER_SECONDS: '0' } });
    });
    afterAll(async () => {
      await pipeline.close();
    });

    it('runs every sweep: the database-only ones do their work, the Mux ones fail on their own', async () => {
      // A video that reached Mux without its asset id: recovering it needs Mux's asset list, which fails.
      const { video: orphan } = await pipeline.upload({ status: 'uploaded' });
      await pipeline.db.driver.execute(`UPDATE videos SET status = 'ready' WHERE id = :id`, { id: sqlValue.uuid(orphan.id) });
      // A deferred payload (database only), after it in the `reconcile` action.
      const { video: deferred } = await pipeline.upload({ status: 'uploaded' });
      await pipeline.db.driver.execute('INSERT INTO deferred_mux_data (video_id, payload) VALUES (:id, :payload)', {
        id: sqlValue.uuid(deferred.id),
        payload: sqlValue.json({ aspectRatio: '4:3', durationSeconds: 42 }),
      });
      // An upload whose S3 event was lost, and one left `uploaded`: both need Mux to be ingested.
      const { video: stranded } = await pipeline.upload();
      await age(pipeline, stranded.id, 30);
      const { video: waiting } = await pipeline.upload({ status: 'uploaded' });
      await age(pipeline, waiting.id, 30);
      // The test's own VideoDB publishes nothing: the events its writes recorded wait in the outbox.
      expect(publisher.events.filter((event) => event.detail.videoId === waiting.id)).toEqual([]);
      pipeline.logger.lines.length = 0;

      const summary = await pipeline.reconcile({});

      expect(summary).toMatchObject({ restored: 1, reconciled: 0, stranded: 0, backfilled: 0, more: false });
      expect((await pipeline.videos.findById(deferred.id))?.mux).toMatchObject({ aspectRatio: '4:3', durationSeconds: 42 });
      // The recover sweep failed as a whole; the stranded and backfill items failed one by one.
      const sweepFailures = pipeline.logger.lines.filter((line) => line.event === 'reconcile.sweep_failed');
      expect(sweepFailures.map((line) => line.sweep)).toEqual(['recover']);
      expect(sweepFailures[0]?.error).toBeDefined();
      const itemFailures = pipeline.logger.lines.filter((line) => line.event === 'reconcile.item_failed');
      expect(itemFailures.map((line) => [line.step, line.videoId]).sort()).toEqual([['backfill', waiting.id], ['stranded', stranded.id]].sort());
      expect((summary as { failed: number }).failed).toBe(3);
      // The stranded upload was found in S3 and moved on (backfill takes it once Mux answers); the events sweep ran last.
      expect(await statusOf(pipeline, stranded.id)).toBe('uploaded');
      expect(await statusOf(pipeline, waiting.id)).toBe('uploaded');
      expect((summary as { republished: number }).republished).toBeGreaterThan(0);
      expect(publisher.events.map((event) => event.detail.videoId)).toContain(waiting.id);
      expect(publisher.events.filter((event) => event.detail.videoId === stranded.id).map((event) => event.detailType)).toContain('Video Uploaded');
    });
  });

  describe('with Mux up', () => {
    let pipeline: Pipeline;
    let publisher: RecordingPublisher;
    beforeAll(async () => {
      publisher = recordingPublisher();
      // One item per round: a backlog of three is three rounds of one run. The ages are other than the defaults
      // (3600 s, 600 s), so the tests show they are read.
      pipeline = await startPipeline(backend, {
        eventPublisher: publisher,
        extraEnv: { RECONCILE_BATCH_SIZE: '1', RECONCILE_REFRESH_AFTER_SECONDS: '1800', RECONCILE_BACKFILL_AFTER_SECONDS: '1200' },
      });
    });
    afterAll(async () => {
      await pipeline.close();
    });

    it('re-reads an asset whose webhooks never came and applies it: the video is ready', async () => {
      // Webhooks are not relayed (the emulator's URL is unset): Mux finishes the asset and nobody hears of it.
      const { video, record } = await pipeline.upload({ status: 'uploaded' });
      expect((await pipeline.ingest(sqsEvent([{ record }]))).batchItemFailures).toEqual([]);
      const { video: recent, record: recentRecord } = await pipeline.upload({ status: 'uploaded' });
      await pipeline.ingest(sqsEvent([{ record: recentRecord }]));
      await pipeline.mux.whenIdle();
      const [asset] = assetsFor(pipeline, video.id);
      expect(asset?.json.status).toBe('ready');
      expect(await statusOf(pipeline, video.id)).toBe('processing');

      expect(await pipeline.reconcile({ action: 'reconcile' })).toMatchObject({ refreshed: 0 });
      await age(pipeline, video.id, 40);
      await age(pipeline, recent.id, 20);
      const summary = await pipeline.reconcile({ action: 'reconcile' });

      expect(summary).toMatchObject({ refreshed: 1, failed: 0 });
      const stored = await pipeline.videos.findById(video.id);
      expect(stored?.status).toBe('ready');
      expect(stored?.mux).toMatchObject({ assetId: asset?.id, status: 'ready', playbackId: asset?.json.playback_ids[0]?.id });
      expect(stored?.mux.readyAt).not.toBeNull();
      expect(publisher.events.filter((event) => event.detail.videoId === video.id).map((event) => event.detailType)).toContain('Video Ready');
      // One changed more recently is left to its webhooks.
      expect(await statusOf(pipeline, recent.id)).toBe('processing');
    });

    it('errors a processing video whose asset Mux no longer has, as the deleted webhook would', async () => {
      const { video, record } = await pipeline.upload({ status: 'uploaded' });
      await pipeline.ingest(sqsEvent([{ record }]));
      await pipeline.mux.whenIdle();
      const assetId = (await pipeline.videos.findById(video.id))?.mux.assetId as string;
      await (await muxFromEnv(pipeline.env).gateway()).deleteAsset(assetId);
      await pipeline.db.driver.execute(`UPDATE videos SET status = 'processing' WHERE id = :id`, { id: sqlValue.uuid(video.id) });
      await age(pipeline, video.id, 90);

      expect(await pipeline.reconcile({ action: 'reconcile' })).toMatchObject({ refreshed: 1 });
      expect((await pipeline.videos.findById(video.id))?.mux).toMatchObject({ status: 'errored', error: `deleted: the Mux asset ${assetId} was deleted` });
      expect(await statusOf(pipeline, video.id)).toBe('errored');
    });

    it('ingests an upload whose S3 event was lost (the object is there, no message ever came), through to ready', async () => {
      await pipeline.relayWebhooks();
      const { video: lost } = await pipeline.upload();
      await age(pipeline, lost.id, 30);
      // Never uploaded: nothing to find; and one too recent to be looked at yet.
      const { video: abandoned } = await pipeline.upload();
      await pipeline.s3.client.send(new DeleteObjectCommand({ Bucket: pipeline.s3.bucket, Key: abandoned.s3Key }));
      await age(pipeline, abandoned.id, 40);
      const { video: fresh } = await pipeline.upload();

      const summary = await pipeline.reconcile({ action: 'reconcile' });

      expect(summary).toMatchObject({ stranded: 1, failed: 0 });
      await pipeline.mux.whenIdle();
      await eventually(async () => (await statusOf(pipeline, lost.id)) === 'ready');
      expect(assetsFor(pipeline, lost.id)).toHaveLength(1);
      const types = publisher.events.filter((event) => event.detail.videoId === lost.id).map((event) => event.detailType);
      expect(types).toEqual(expect.arrayContaining(['Video Uploaded', 'Video Processing', 'Video Ready']));
      expect(await statusOf(pipeline, abandoned.id)).toBe('awaiting_upload');
      expect(await statusOf(pipeline, fresh.id)).toBe('awaiting_upload');
      expect(assetsFor(pipeline, fresh.id)).toHaveLength(0);
    });

    it('works through a backlog larger than its batch in one run', async () => {
      const waiting = [];
      for (let index = 0; index < 3; index += 1) {
        const { video } = await pipeline.upload({ status: 'uploaded' });
        await age(pipeline, video.id, 30);
        waiting.push(video);
      }
      // Past the default age, not past RECONCILE_BACKFILL_AFTER_SECONDS.
      const { video: recent } = await pipeline.upload({ status: 'uploaded' });
      await age(pipeline, recent.id, 15);

      const summary = await pipeline.reconcile({ action: 'backfill' });

      expect(summary).toMatchObject({ backfilled: 3, failed: 0, more: false });
      for (const video of waiting) expect(assetsFor(pipeline, video.id)).toHaveLength(1);
      expect(assetsFor(pipeline, recent.id)).toHaveLength(0);
    });

    it('stops when its time budget is spent, says more, and keeps the markers for the next run', async () => {
      const waiting = [];
      for (let index = 0; index < 2; index += 1) {
        const { video } = await pipeline.upload({ status: 'uploaded' });
        await age(pipeline, video.id, 30);
        waiting.push(video);
      }
      const cleared: string[][] = [];
      const pendingWork: PendingWork = {
        durable: true,
        note: async () => {},
        list: async () => ({ markers: [{ key: '_reelay/pending/ingest/1', kind: 'ingest' }], lastSweepAt: null, stampKeys: [] }),
        clear: async (keys) => void cleared.push([...keys]),
        stampSweep: async () => {},
      };
      const reconcile = await createReconcileHandler({ ...pipeline.env, RECONCILE_TIME_BUDGET_SECONDS: '1' }, { driver: pipeline.db.driver, logger: pipeline.logger as Logger, pendingWork });
      // The first create takes longer than the whole budget: the second video waits for the next run.
      pipeline.mux.faults.delayNextCreates(1, 1200);

      const summary = await reconcile({});

      expect(summary).toMatchObject({ backfilled: 1, failed: 0, more: true });
      expect(waiting.map((video) => assetsFor(pipeline, video.id).length).sort()).toEqual([0, 1]);
      expect(cleared).toEqual([]);
      // The next run (no delay) finishes, and clears them.
      expect(await reconcile({})).toMatchObject({ backfilled: 1, more: false });
      expect(cleared).toEqual([['_reelay/pending/ingest/1']]);
    });
  });
});
