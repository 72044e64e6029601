import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UploadStorage } from '../../shared/storage/uploads.js';
import { backends } from '../support/databases.js';
import { assetBinder } from '../../shared/mux/binding.js';
import { assetsFor, bindingKey, s3Record, sqsEvent, startPipeline, type Pipeline } from '../videos/ingest-support.js';

describe.each(backends)('ingest function on %s', (backend) => {
  let pipeline: Pipeline;
  const storage = () => new UploadStorage({ client: pipeline.s3.client, bucket: pipeline.s3.bucket, prefix: 'uploads/', urlTtlSeconds: 60 });

  afterEach(() => {
    pipeline.mux.faults.reset();
  });

  describe('on the migrated schema', () => {
    // One stack per suite: every test works on its own video and counts only that video's assets.
    beforeAll(async () => {
      pipeline = await startPipeline(backend);
    });
    afterAll(async () => {
      await pipeline.close();
    });

    it('turns a single PUT into one Mux asset with the requested options and stores it', async () => {
      const { video, record } = await pipeline.upload({ options: { captions: true, normalizeAudio: true, mp4: true } });

      const response = await pipeline.ingest(sqsEvent([{ record }]));

      expect(response.batchItemFailures).toEqual([]);
      const [asset, ...others] = assetsFor(pipeline, video.id);
      expect(others).toEqual([]);
      expect(asset?.request).toMatchObject({
        passthrough: assetBinder(bindingKey).passthrough(video.id, 1),
        normalize_audio: true,
        static_renditions: [{ resolution: 'highest' }],
        inputs: [{ generated_subtitles: [{ language_code: 'en' }] }],
      });
      // Mux downloaded the object through the presigned URL.
      await pipeline.mux.whenIdle();
      expect(asset?.input.bytes).toBe(video.sizeBytes);
      const stored = await pipeline.videos.findById(video.id);
      expect(stored?.status).toBe('processing');
      expect(stored?.mux).toMatchObject({ assetId: asset?.id, status: 'preparing', ingestAttempts: 1, audioEnhanced: true });
      expect(stored?.mux.createdAt).toBeInstanceOf(Date);
    });

    it('creates nothing more when the same message is delivered again, one after the other', async () => {
      const { video, record } = await pipeline.upload();
      const event = sqsEvent([{ record, messageId: 'same-message' }]);

      pipeline.logger.lines.length = 0;
      expect((await pipeline.ingest(event)).batchItemFailures).toEqual([]);
      expect((await pipeline.ingest(sqsEvent([{ record, messageId: 'same-message' }], 2))).batchItemFailures).toEqual([]);

      expect(assetsFor(pipeline, video.id)).toHaveLength(1);
      expect((await pipeline.videos.findById(video.id))?.mux.ingestAttempts).toBe(1);
      // One IngestOutcomes point per delivery, by Outcome; the ids are properties.
      const outcomes = pipeline.logger.lines.filter((line) => 'IngestOutcomes' in line);
      expect(outcomes.map((line) => [line.Outcome, line.IngestOutcomes, line.receiveCount])).toEqual([
        ['created', 1, 1],
        ['skipped', 1, 2],
      ]);
      expect(outcomes[0]).toMatchObject({ Service: 'ingest', videoId: video.id, messageId: 'same-message' });
      expect((outcomes[0]?._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> }).CloudWatchMetrics[0]?.Dimensions).toEqual([['Service', 'Outcome']]);
    });

    it('creates one asset when the same message is delivered twice at once; the loser is redelivered and then finds it', async () => {
      const { video, record } = await pipeline.upload();

      const [first, second] = await Promise.all([
        pipeline.ingest(sqsEvent([{ record, messageId: 'twin' }])),
        pipeline.ingest(sqsEvent([{ record, messageId: 'twin' }])),
      ]);
      const failures = [...first.batchItemFailures, ...second.batchItemFailures];
      expect(failures.length).toBeLessThanOrEqual(1);
      if (failures.length === 1) {
        // SQS delivers the failed copy again later.
        expect((await pipeline.ingest(sqsEvent([{ record, messageId: 'twin' }], 2))).batchItemFailures).toEqual([]);
      }

      expect(assetsFor(pipeline, video.id)).toHaveLength(1);
      const stored = await pipeline.videos.findById(video.id);
      expect(stored?.mux.assetId).toBe(assetsFor(pipeline, video.id)[0]?.id);
    });

    it('adopts the asset Mux made when the create response was lost, instead of making a second', async () => {
      const { video, record } = await pipeline.upload();
      pipeline.mux.faults.hangNextCreates(1, { createAsset: true });

      const first = await pipeline.ingest(sqsEvent([{ record, messageId: 'lost' }]));
      expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'lost' }]);
      expect(assetsFor(pipeline, video.id)).toHaveLength(1);
      expect((await pipeline.videos.findById(video.id))?.status).toBe('uploaded');

      const again = await pipeline.ingest(sqsEvent([{ record, messageId: 'lost' }], 2));

      expect(again.batchItemFailures).toEqual([]);
      const assets = assetsFor(pipeline, video.id);
      expect(assets).toHaveLength(1);
      const stored = await pipeline.videos.findById(video.id);
      expect(stored?.mux.assetId).toBe(assets[0]?.id);
      expect(stored?.mux.ingestAttempts).toBe(2);
    });

    it.each([
      // The redelivery comes after the Retry-After: before it, this container's throttle gate defers without calling Mux.
      ['a 429 with retry-after', (p: Pipeline) => p.mux.faults.rateLimitNextCreates(1, 1), 1_100],
      ['a 500', (p: Pipeline) => p.mux.faults.failNextCreates(1, 500), 0],
    ])('reports the message failed on %s and succeeds on redelivery', async (_name, inject, redeliverAfterMs) => {
      const { video, record } = await pipeline.upload();
      inject(pipeline);

      expect((await pipeline.ingest(sqsEvent([{ record, messageId: 'busy' }]))).batchItemFailures).toEqual([{ itemIdentifier: 'busy' }]);
      expect(assetsFor(pipeline, video.id)).toHaveLength(0);
      expect((await pipeline.videos.findById(video.id))?.status).toBe('uploaded');

      await new Promise((resolve) => setTimeout(resolve, redeliverAfterMs));
      expect((await pipeline.ingest(sqsEvent([{ record, messageId: 'busy' }], 2))).batchItemFailures).toEqual([]);
      expect(assetsFor(pipeline, video.id)).toHaveLength(1);
      expect((await pipeline.videos.findById(video.id))?.status).toBe('processing');
    });

    it('marks the video errored with Mux’s message when Mux refuses the input for good', async () => {
      const { video, record } = await pipeline.upload();
      pipeline.mux.faults.failNextCreates(1, 400);

      const response = await pipeline.ingest(sqsEvent([{ record }]));

      expect(response.batchItemFailures).toEqual([]);
      const stored = await pipeline.videos.findById(video.id);
      expect(stored?.status).toBe('errored');
      expect(stored?.mux.status).toBe('errored');
      expect(stored?.mux.error).toMatch(/^rejected: .*400.*Emulated fault/);
    });

    it('skips S3 test events, captions objects and keys that belong to no video, without failing the batch', async () => {
      const { video } = await pipeline.upload();
      const captions = s3Record(pipeline.s3.bucket, `uploads/${video.id}/captions/en.srt`, 10);
      const stranger = s3Record(pipeline.s3.bucket, 'uploads/00000000-0000-4000-8000-000000000000/source.mp4', 10);
      const event = sqsEvent([{ record: captions }, { record: stranger }]);
      event.Records.push({ ...event.Records[0]!, messageId: 'test-event', body: JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }) });

      const response = await pipeline.ingest(event);

      expect(response.batchItemFailures).toEqual([]);
      expect(assetsFor(pipeline, video.id)).toHaveLength(0);
      expect(assetsFor(pipeline, '00000000-0000-4000-8000-000000000000')).toHaveLength(0);
      expect((await pipeline.videos.findById(video.id))?.status).toBe('awaiting_upload');
    });

    it('reports only the malformed message of a batch as failed', async () => {
      const { video, record } = await pipeline.upload();
      const event = sqsEvent([{ record, messageId: 'good' }]);
      event.Records.push({ ...event.Records[0]!, messageId: 'bad', body: '{"Records": "nope"}' });

      const response = await pipeline.ingest(event);

      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
      expect(assetsFor(pipeline, video.id)).toHaveLength(1);
    });

    it('creates nothing for a cancelled video, and replaces the upload that landed with the empty seal marker', async () => {
      const { video, record } = await pipeline.upload();
      await pipeline.videos.transition(video.id, { from: ['awaiting_upload'], to: 'cancelled' });
      expect(await storage().headObject(video.s3Key)).toMatchObject({ size: video.sizeBytes });

      expect((await pipeline.ingest(sqsEvent([{ record }]))).batchItemFailures).toEqual([]);

      expect(assetsFor(pipeline, video.id)).toHaveLength(0);
      expect((await pipeline.videos.findById(video.id))?.status).toBe('cancelled');
      // None of the uploaded bytes stay, and the key stays closed to the video's upload URL.
      const left = await storage().headObject(video.s3Key);
      expect(left).toMatchObject({ size: 0, metadata: { 'reelay-sealed': 'cancelled' } });
      // The marker's own event (and any redelivery) changes nothing more.
      const marker = s3Record(pipeline.s3.bucket, video.s3Key, 0);
      expect((await pipeline.ingest(sqsEvent([{ record: marker }, { record }], 2))).batchItemFailures).toEqual([]);
      expect(await storage().headObject(video.s3Key)).toEqual(left);
      expect(assetsFor(pipeline, video.id)).toHaveLength(0);
    });
  });

  describe('on the legacy schema (0001)', () => {
    beforeAll(async () => {
      pipeline = await startPipeline(backend, { schema: 1 });
    });
    afterAll(async () => {
      await pipeline.close();
    });

    it('takes the options from the object metadata and still creates exactly one asset', async () => {
      const { video, record } = await pipeline.upload({ options: { captions: true, mp4: true }, optionsInMetadataOnly: true });

      const response = await pipeline.ingest(sqsEvent([{ record }]));
      await pipeline.ingest(sqsEvent([{ record }], 2));

      expect(response.batchItemFailures).toEqual([]);
      const assets = assetsFor(pipeline, video.id);
      expect(assets).toHaveLength(1);
      expect(assets[0]?.request).toMatchObject({ static_renditions: [{ resolution: 'highest' }], inputs: [{ generated_subtitles: [{ language_code: 'en' }] }] });
      expect(assets[0]?.request.normalize_audio).toBeUndefined();
      expect((await pipeline.videos.findById(video.id))?.status).toBe('processing');
    });
  });
});
