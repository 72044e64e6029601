import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpEvent, lambdaContext } from '../../local/api-gateway/event.js';
import { cannedCaptionsVtt, cannedTranscript } from '../../local/mux-emulator/media.js';
import { muxSignatureHeader } from '../../local/mux-emulator/signing.js';
import { vttToSrt } from '../../shared/mux/captions.js';
import { presentVideo } from '../../shared/videos/presenter.js';
import { createHandler as createWebhookHandler } from '../../functions/mux-webhook/handler.js';
import { backends } from '../support/databases.js';
import { startDataApi } from '../support/data-api.js';
import { assetBinder } from '../../shared/mux/binding.js';
import { assetsFor, bindingKey, muxEvent, sqsEvent, startPipeline, webhookSecret, type Pipeline } from '../videos/ingest-support.js';

/** A video ingested into the emulator, and the webhook bodies the emulator prepared for it (not yet delivered). */
async function ingested(pipeline: Pipeline, options: { captions?: boolean; mp4?: boolean } = {}) {
  const { video, record } = await pipeline.upload({ options });
  await pipeline.ingest(sqsEvent([{ record }]));
  await pipeline.mux.whenIdle();
  const [asset] = assetsFor(pipeline, video.id);
  if (!asset) throw new Error('no asset');
  const bodies = new Map(pipeline.mux.deliveries.filter((delivery) => delivery.assetId === asset.id).map((delivery) => [delivery.type, delivery.body]));
  const body = (type: string) => {
    const found = bodies.get(type);
    if (!found) throw new Error(`no ${type} event`);
    return found;
  };
  return { video, asset, body };
}

async function eventCount(pipeline: Pipeline): Promise<number> {
  const { rows } = await pipeline.db.driver.execute<{ count: number }>('SELECT count(*)::int AS count FROM mux_webhook_events');
  return rows[0]?.count ?? 0;
}

describe.each(backends)('mux-webhook function on %s', (backend) => {
  describe('on the migrated schema', () => {
    let pipeline: Pipeline;
    beforeAll(async () => {
      pipeline = await startPipeline(backend);
    });
    afterAll(async () => {
      await pipeline.close();
    });

    it('answers 401 to unsigned, forged, stale and altered deliveries, and changes nothing', async () => {
      const { video, body } = await ingested(pipeline);
      const ready = body('video.asset.ready');
      const before = await pipeline.videos.findById(video.id);
      const events = await eventCount(pipeline);
      const now = Math.floor(Date.now() / 1000);

      const attempts = [
        await pipeline.postWebhook(ready, null),
        await pipeline.postWebhook(ready, muxSignatureHeader(ready, 'not-the-secret')),
        await pipeline.postWebhook(ready, muxSignatureHeader(ready, webhookSecret, now - 301)),
        await pipeline.postWebhook(ready.replace('"ready"', '"errored"'), muxSignatureHeader(ready, webhookSecret)),
        await pipeline.postWebhook(ready, 't=abc,v1=zz'),
      ];

      expect(attempts.map((attempt) => attempt.status)).toEqual([401, 401, 401, 401, 401]);
      expect(await pipeline.videos.findById(video.id)).toEqual(before);
      expect(await eventCount(pipeline)).toBe(events);
    });

    it('applies created then ready with every Mux field, and answers a duplicate with 204 and no change', async () => {
      const { video, asset, body } = await ingested(pipeline);

      expect((await pipeline.postWebhook(body('video.asset.created'))).status).toBe(200);
      const ready = await pipeline.postWebhook(body('video.asset.ready'));
      expect(ready).toMatchObject({ status: 200, body: { result: 'applied', videoId: video.id, type: 'video.asset.ready' } });

      const stored = await pipeline.videos.findById(video.id);
      const playbackId = asset.json.playback_ids[0]?.id as string;
      expect(stored?.status).toBe('ready');
      expect(presentVideo(stored!).mux).toMatchObject({
        assetId: asset.id,
        playbackId,
        status: 'ready',
        streamingUrl: `${pipeline.mux.baseUrl}/${playbackId}.m3u8`,
        thumbnailUrl: `${pipeline.mux.baseUrl}/${playbackId}/thumbnail.jpg`,
        durationSeconds: Math.round(asset.json.duration as number),
        aspectRatio: asset.json.aspect_ratio,
        error: null,
      });
      expect(stored?.mux.readyAt).toBeInstanceOf(Date);

      const again = await pipeline.postWebhook(body('video.asset.ready'));
      expect(again.status).toBe(204);
      expect(await pipeline.videos.findById(video.id)).toEqual(stored);
    });

    it('keeps a video ready when created arrives after ready', async () => {
      const { video, body } = await ingested(pipeline);

      await pipeline.postWebhook(body('video.asset.ready'));
      const late = await pipeline.postWebhook(body('video.asset.created'));

      expect(late).toMatchObject({ status: 200, body: { result: 'ignored' } });
      const stored = await pipeline.videos.findById(video.id);
      expect(stored?.status).toBe('ready');
      expect(stored?.mux.status).toBe('ready');
      expect(stored?.mux.playbackId).not.toBeNull();
    });

    it('applies a burst of concurrent copies of one event exactly once', async () => {
      const { video, body } = await ingested(pipeline);
      const ready = body('video.asset.ready');

      const answers = await Promise.all(Array.from({ length: 6 }, () => pipeline.postWebhook(ready)));

      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 204, 204, 204, 204, 204]);
      expect((await pipeline.videos.findById(video.id))?.status).toBe('ready');
    });

    it('stores Mux’s error message and shows it in the API', async () => {
      const { video, asset } = await ingested(pipeline);
      const errored = muxEvent('video.asset.errored', {
        id: asset.id,
        status: 'errored',
        passthrough: video.id,
        errors: { type: 'invalid_input', messages: ['The input file could not be read'] },
      });

      expect((await pipeline.postWebhook(errored)).status).toBe(200);

      const stored = await pipeline.videos.findById(video.id);
      expect(stored?.status).toBe('errored');
      expect(presentVideo(stored!).mux?.error).toBe('invalid_input: The input file could not be read');
    });

    it('on track.ready (even with empty data) re-fetches the asset and stores the VTT URL, the transcript and an SRT in S3', async () => {
      const { video, asset, body } = await ingested(pipeline, { captions: true });
      await pipeline.postWebhook(body('video.asset.ready'));
      const emptyTrackReady = muxEvent('video.asset.track.ready', {}, { objectId: asset.id });

      expect((await pipeline.postWebhook(emptyTrackReady)).status).toBe(200);

      const stored = await pipeline.videos.findById(video.id);
      const track = asset.json.tracks.find((candidate) => candidate.type === 'text');
      const playbackId = asset.json.playback_ids[0]?.id as string;
      const key = `uploads/${video.id}/captions/en.srt`;
      expect(presentVideo(stored!).captions).toEqual({
        webvttUrl: `${pipeline.mux.baseUrl}/${playbackId}/text/${track?.id}.vtt`,
        srtUrl: `s3://${pipeline.s3.bucket}/${key}`,
        transcriptText: cannedTranscript().trim(),
        transcriptConfidence: null,
        jobId: track?.id,
      });
      const object = await pipeline.s3.client.send(new GetObjectCommand({ Bucket: pipeline.s3.bucket, Key: key }));
      expect(await object.Body?.transformToString()).toBe(vttToSrt(cannedCaptionsVtt(asset.json.duration as number)));
    });

    it('stores the MP4 URL on static_rendition.ready', async () => {
      const { video, asset, body } = await ingested(pipeline, { mp4: true });
      await pipeline.postWebhook(body('video.asset.ready'));

      expect((await pipeline.postWebhook(body('video.asset.static_rendition.ready'))).status).toBe(200);

      expect((await pipeline.videos.findById(video.id))?.mux.mp4Url).toBe(`${pipeline.mux.baseUrl}/${asset.json.playback_ids[0]?.id}/highest.mp4`);
    });

    it('marks a video errored and clears its playback when its current asset is deleted, but ignores older assets', async () => {
      const { video, asset, body } = await ingested(pipeline);
      await pipeline.postWebhook(body('video.asset.ready'));

      // An asset reelay made for this video in an earlier attempt (tagged alike), no longer the video's.
      const older = await pipeline.postWebhook(
        muxEvent('video.asset.deleted', { id: 'an-older-asset', status: 'ready', passthrough: assetBinder(bindingKey).passthrough(video.id, 1) }),
      );
      expect(older).toMatchObject({ status: 200, body: { result: 'ignored' } });
      expect((await pipeline.videos.findById(video.id))?.status).toBe('ready');

      await pipeline.postWebhook(muxEvent('video.asset.deleted', { id: asset.id, status: 'ready', passthrough: video.id }));

      const stored = await pipeline.videos.findById(video.id);
      expect(stored?.status).toBe('errored');
      expect(stored?.mux).toMatchObject({ status: 'errored', playbackId: null, streamingUrl: null, thumbnailUrl: null });
      expect(stored?.mux.error).toMatch(/^deleted: /);
    });

    it('ignores events about an asset the video no longer uses, and records them', async () => {
      const { video, body } = await ingested(pipeline);
      // A re-ingest moved the video on to another asset.
      const replaces = (await pipeline.videos.findById(video.id))?.mux.assetId ?? null;
      await pipeline.videos.attachMuxAsset(video.id, { replaces, attempt: null, mux: { assetId: 'the-new-asset', status: 'preparing' } });

      const stale = await pipeline.postWebhook(body('video.asset.ready'));

      expect(stale).toMatchObject({ status: 200, body: { result: 'ignored' } });
      expect((await pipeline.videos.findById(video.id))?.status).toBe('processing');
      expect((await pipeline.postWebhook(body('video.asset.ready'))).status).toBe(204);
    });

    it('acknowledges event types it does not act on and assets that are not reelay videos', async () => {
      const unknown = await pipeline.postWebhook(muxEvent('video.live_stream.active', { id: 'live-1' }, { objectType: 'live_stream' }));
      const foreign = await pipeline.postWebhook(muxEvent('video.asset.ready', { id: 'foreign-asset', status: 'ready', passthrough: 'not-a-video-id' }));

      expect(unknown).toMatchObject({ status: 200, body: { result: 'ignored' } });
      expect(foreign).toMatchObject({ status: 200, body: { result: 'not_owned', assetId: 'foreign-asset', reason: 'untagged' } });
    });

    it('counts each outcome as its EMF metric, with the event id as a property', async () => {
      const { body } = await ingested(pipeline);
      pipeline.logger.lines.length = 0;
      const ready = body('video.asset.ready');
      await pipeline.postWebhook(ready, muxSignatureHeader(ready, 'not-the-secret'));
      await pipeline.postWebhook(ready);
      await pipeline.postWebhook(ready);
      await pipeline.postWebhook(muxEvent('video.asset.ready', { id: 'foreign-asset-2', status: 'ready', passthrough: 'not-a-video-id' }));
      await pipeline.postWebhook(muxEvent('video.live_stream.active', { id: 'live-2' }, { objectType: 'live_stream' }));
      const counted = pipeline.logger.lines
        .filter((line) => '_aws' in line && line.Service === 'mux-webhook' && !('DataApiRetries' in line))
        .map((line) => Object.keys(line).find((key) => key.startsWith('Webhooks')));
      expect(counted).toEqual(['WebhooksRefused', 'WebhooksApplied', 'WebhooksDuplicate', 'WebhooksUnknownAsset', 'WebhooksIgnored']);
      const applied = pipeline.logger.lines.find((line) => 'WebhooksApplied' in line);
      expect(applied).toMatchObject({ WebhooksApplied: 1, type: 'video.asset.ready', eventId: expect.any(String) });
      expect((applied?._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> }).CloudWatchMetrics[0]?.Dimensions).toEqual([['Service']]);
    });

    it('works the same through the Data API driver', async () => {
      const api = await startDataApi(pipeline.db);
      try {
        const handler = await createWebhookHandler({
          ...pipeline.env,
          RDS_RESOURCE_ARN: api.resourceArn,
          RDS_SECRET_ARN: api.secretArn,
          RDS_DATABASE: api.database,
          DATA_API_ENDPOINT: api.endpoint,
        });
        const { video, body } = await ingested(pipeline);
        const ready = body('video.asset.ready');
        const post = async () => {
          const event = buildHttpEvent({ routeKey: 'POST /api/webhooks/mux', headers: { 'mux-signature': muxSignatureHeader(ready, webhookSecret) }, body: ready });
          return (await handler(event, lambdaContext('mux-webhook'))).statusCode;
        };

        expect(await post()).toBe(200);
        expect(await post()).toBe(204);
        expect((await pipeline.videos.findById(video.id))?.status).toBe('ready');
      } finally {
        await api.close();
      }
    });
  });

  describe('on the legacy schema (0001)', () => {
    let pipeline: Pipeline;
    beforeAll(async () => {
      pipeline = await startPipeline(backend, { schema: 1 });
    });
    afterAll(async () => {
      await pipeline.close();
    });

    it('moves the video status and defers the Mux fields, never answering 5xx', async () => {
      const { video, body } = await ingested(pipeline, { captions: true });

      const answers = [
        await pipeline.postWebhook(body('video.asset.created')),
        await pipeline.postWebhook(body('video.asset.ready')),
        await pipeline.postWebhook(body('video.asset.track.ready')),
        await pipeline.postWebhook(body('video.asset.created')),
      ];

      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
      const stored = await pipeline.videos.findById(video.id);
      expect(stored?.status).toBe('ready');
      expect(presentVideo(stored!).mux).toBeNull();
      expect(pipeline.logger.lines.some((line) => line.event === 'videodb.update.deferred_mux_data' && line.videoId === video.id)).toBe(true);
    });
  });
});
