import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cannedTranscript } from '../../local/mux-emulator/media.js';
import { sqlValue } from '../../shared/db/driver.js';
import { ValidationError } from '../../shared/errors.js';
import { muxFromEnv } from '../../shared/runtime/mux.js';
import { presentVideo } from '../../shared/videos/presenter.js';
import { isTransientAssetError } from '../../shared/videos/reconcile-service.js';
import { backends } from '../support/databases.js';
import { assetBinder } from '../../shared/mux/binding.js';
import { age, assetsFor, bindingKey, eventually, sqsEvent, startPipeline, type Pipeline } from '../videos/ingest-support.js';

/** The values of one EMF metric the pipeline's functions logged, oldest first. */
const metricValues = (pipeline: Pipeline, name: string): unknown[] => pipeline.logger.lines.filter((line) => '_aws' in line && name in line).map((line) => line[name]);

describe('which Mux asset errors are retried', () => {
  it('retries invalid_input once (it may be reelay’s own download URL) and other types up to the limit', () => {
    expect(isTransientAssetError({ type: 'invalid_input', messages: [] }, 1)).toBe(true);
    expect(isTransientAssetError({ type: 'invalid_input', messages: [] }, 2)).toBe(false);
    expect(isTransientAssetError({ type: 'internal_error', messages: [] }, 2)).toBe(true);
    expect(isTransientAssetError(null, 1)).toBe(false);
  });
});

describe.each(backends)('reconcile function on %s', (backend) => {
  describe('after a legacy period', () => {
    let pipeline: Pipeline;
    beforeAll(async () => {
      pipeline = await startPipeline(backend, { schema: 1 });
      await pipeline.relayWebhooks();
    });
    afterAll(async () => {
      await pipeline.close();
    });

    it('restores every Mux field from Mux by passthrough once the columns exist, so nothing is lost', async () => {
      const { video, record } = await pipeline.upload({ options: { captions: true, mp4: true }, optionsInMetadataOnly: true });
      expect((await pipeline.ingest(sqsEvent([{ record }]))).batchItemFailures).toEqual([]);
      await pipeline.mux.whenIdle();
      expect((await pipeline.videos.findById(video.id))?.status).toBe('ready');

      await pipeline.migrate();
      await pipeline.rebuild();
      const summary = await pipeline.reconcile({ action: 'reconcile' });

      expect(summary).toMatchObject({ reconciled: 1, captions: 1, failed: 0 });
      const [asset] = assetsFor(pipeline, video.id);
      const playbackId = asset?.json.playback_ids[0]?.id as string;
      const json = presentVideo((await pipeline.videos.findById(video.id))!);
      expect(json.status).toBe('ready');
      expect(json.mux).toMatchObject({
        assetId: asset?.id,
        playbackId,
        status: 'ready',
        streamingUrl: `${pipeline.mux.baseUrl}/${playbackId}.m3u8`,
        mp4Url: `${pipeline.mux.baseUrl}/${playbackId}/highest.mp4`,
        durationSeconds: Math.round(asset?.json.duration as number),
        aspectRatio: asset?.json.aspect_ratio,
      });
      expect(json.mux?.readyAt).not.toBeNull();
      expect(json.captions).toMatchObject({ transcriptText: cannedTranscript().trim(), srtUrl: `s3://${pipeline.s3.bucket}/uploads/${video.id}/captions/en.srt` });
      expect(json.captions?.webvttUrl).toMatch(/\/text\/\w+\.vtt$/);

      // A second run finds nothing left to do.
      expect(await pipeline.reconcile({ action: 'reconcile' })).toMatchObject({ reconciled: 0, captions: 0, restored: 0, failed: 0 });
    });
  });

  describe('on the migrated schema', () => {
    let pipeline: Pipeline;
    beforeAll(async () => {
      pipeline = await startPipeline(backend);
      await pipeline.relayWebhooks();
    });
    afterAll(async () => {
      await pipeline.close();
    });
    afterEach(() => {
      pipeline.mux.faults.reset();
    });

    it('restores deferred Mux data into the columns and marks it reconciled', async () => {
      const { video } = await pipeline.upload({ status: 'uploaded' });
      await pipeline.db.driver.execute('INSERT INTO deferred_mux_data (video_id, payload) VALUES (:id, :payload)', {
        id: sqlValue.uuid(video.id),
        payload: sqlValue.json({ aspectRatio: '4:3', durationSeconds: 42, createdAt: '2026-01-02T03:04:05.000Z' }),
      });

      const summary = await pipeline.reconcile({ action: 'reconcile' });

      expect(summary).toMatchObject({ restored: 1, failed: 0 });
      const stored = await pipeline.videos.findById(video.id);
      expect(stored?.mux).toMatchObject({ aspectRatio: '4:3', durationSeconds: 42, createdAt: new Date('2026-01-02T03:04:05.000Z') });
      expect(await pipeline.videos.listDeferred(10)).toEqual([]);
      // Its EMF metrics: one restored, none left pending (the gauge of the alarm).
      expect(metricValues(pipeline, 'DeferredPayloadsRestored').at(-1)).toBe(1);
      expect(metricValues(pipeline, 'DeferredPayloadsPending').at(-1)).toBe(0);
    });

    it('counts a deferred payload it cannot restore as pending, run after run', async () => {
      const { video } = await pipeline.upload({ status: 'uploaded' });
      // A duration the column cannot hold: the restore fails, and the payload stays for the next run.
      await pipeline.db.driver.execute('INSERT INTO deferred_mux_data (video_id, payload) VALUES (:id, :payload)', {
        id: sqlValue.uuid(video.id),
        payload: sqlValue.json({ durationSeconds: 'not a number' }),
      });
      pipeline.logger.lines.length = 0;
      for (let run = 0; run < 2; run += 1) expect(await pipeline.reconcile({ action: 'reconcile' })).toMatchObject({ restored: 0, failed: 1 });
      expect(metricValues(pipeline, 'DeferredPayloadsPending')).toEqual([1, 1]);
      expect(metricValues(pipeline, 'DeferredPayloadsRestored')).toEqual([0, 0]);
      expect(metricValues(pipeline, 'ReconcileFailed')).toEqual([1, 1]);
      expect(pipeline.logger.lines.find((line) => 'DeferredPayloadsPending' in line)).toMatchObject({ Service: 'reconcile', atLimit: false });
      await pipeline.db.driver.execute('DELETE FROM deferred_mux_data WHERE video_id = :id', { id: sqlValue.uuid(video.id) });
    });

    it('re-ingests an errored video whose error is transient, onto a new asset, and ignores the old one', async () => {
      const { video } = await pipeline.upload({ status: 'uploaded' });
      // A first ingest whose input Mux could not download.
      await pipeline.videos.claimIngest(video.id, { from: ['uploaded'] });
      const gateway = await muxFromEnv(pipeline.env).gateway();
      const broken = await gateway.createAsset({ inputUrl: 'http://127.0.0.1:9/gone.mp4', passthrough: assetBinder(bindingKey).passthrough(video.id, 1) });
      await pipeline.videos.attachMuxAsset(video.id, { replaces: null, attempt: 1, mux: { assetId: broken.assetId, status: 'preparing' } });
      await pipeline.mux.whenIdle();
      await eventually(async () => (await pipeline.videos.findById(video.id))?.status === 'errored');

      const summary = await pipeline.reconcile({ action: 'retry-errored' });
      await pipeline.mux.whenIdle();

      expect(summary).toMatchObject({ retried: 1, failed: 0 });
      const assets = assetsFor(pipeline, video.id);
      expect(assets).toHaveLength(2);
      const replacement = assets.find((asset) => asset.id !== broken.assetId);
      const stored = await eventually(async () => {
        const current = await pipeline.videos.findById(video.id);
        return current?.status === 'ready' ? current : undefined;
      });
      expect(stored.mux).toMatchObject({ assetId: replacement?.id, status: 'ready', error: null, ingestAttempts: 2 });

      // The old asset's events change nothing now; the retry limit for invalid_input has been reached.
      const oldErrored = pipeline.mux.deliveries.find((delivery) => delivery.assetId === broken.assetId && delivery.type === 'video.asset.errored');
      expect((await pipeline.postWebhook(oldErrored!.body.replace(oldErrored!.eventId, `${oldErrored!.eventId}-again`))).body).toMatchObject({ result: 'ignored' });
      expect((await pipeline.videos.findById(video.id))?.status).toBe('ready');
      expect(await pipeline.reconcile({ action: 'retry-errored' })).toMatchObject({ retried: 0 });
    });

    it('backfills videos left uploaded, and leaves fresh ones to their S3 event', async () => {
      const { video: waiting } = await pipeline.upload({ status: 'uploaded' });
      const { video: fresh } = await pipeline.upload({ status: 'uploaded' });
      await age(pipeline, waiting.id, 30);

      const summary = await pipeline.reconcile({ action: 'backfill', limit: 10 });

      expect(summary).toMatchObject({ backfilled: 1, failed: 0 });
      expect(assetsFor(pipeline, waiting.id)).toHaveLength(1);
      expect(assetsFor(pipeline, fresh.id)).toHaveLength(0);
      expect((await pipeline.videos.findById(waiting.id))?.mux.assetId).toBe(assetsFor(pipeline, waiting.id)[0]?.id);
    });

    it('recovers the asset of an ingest killed between the Mux create and the database write, without a second asset', async () => {
      const { video } = await pipeline.upload({ status: 'uploaded' });
      await pipeline.videos.claimIngest(video.id, { from: ['uploaded'] });
      const orphan = await pipeline.createReelayAsset(video, 1);
      // Its webhooks may have bound it meanwhile (nothing was stored yet): pretend they never came.
      await pipeline.mux.whenIdle();
      await pipeline.db.driver.execute(`UPDATE videos SET mux_asset_id = NULL, status = 'processing' WHERE id = :id`, { id: sqlValue.uuid(video.id) });

      const summary = await pipeline.reconcile({ action: 'reconcile' });

      expect(summary).toMatchObject({ reconciled: 1, failed: 0 });
      expect(assetsFor(pipeline, video.id)).toHaveLength(1);
      expect((await pipeline.videos.findById(video.id))?.mux.assetId).toBe(orphan.assetId);
    });

    it('ingests a video whose claim went stale before any asset was made', async () => {
      const { video } = await pipeline.upload({ status: 'uploaded' });
      await pipeline.videos.claimIngest(video.id, { from: ['uploaded'] });

      expect(await pipeline.reconcile({ action: 'reconcile' })).toMatchObject({ backfilled: 0 });
      await age(pipeline, video.id, 5);
      const summary = await pipeline.reconcile({ action: 'reconcile' });

      expect(summary).toMatchObject({ backfilled: 1, failed: 0 });
      expect(assetsFor(pipeline, video.id)).toHaveLength(1);
      expect((await pipeline.videos.findById(video.id))?.mux.ingestAttempts).toBe(2);
    });

    it('refuses an invocation it does not understand', async () => {
      await expect(pipeline.reconcile({ action: 'delete-everything' })).rejects.toBeInstanceOf(ValidationError);
      await expect(pipeline.reconcile({ action: 'backfill', limit: 0 })).rejects.toBeInstanceOf(ValidationError);
    });
  });
});
