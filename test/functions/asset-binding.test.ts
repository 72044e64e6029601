/**
 * An asset binds to a video only if reelay created it for that video: another user of the same Mux environment can
 * create assets with any passthrough (a victim's video id, a forged tag, a copy of a real tag), and none of their
 * events, nor ingest's or reconcile's adoption, may change a reelay video. reelay's own assets keep working,
 * including in the window between Mux's create and reelay's write, and those created before tags existed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoRecord } from '../../shared/db/video-fields.js';
import { assetBinder } from '../../shared/mux/binding.js';
import { muxFromEnv } from '../../shared/runtime/mux.js';
import { storageFromEnv } from '../../shared/runtime/storage.js';
import { backends } from '../support/databases.js';
import { age, assetsFor, bindingKey, muxEvent, sqsEvent, startPipeline, type Pipeline } from '../videos/ingest-support.js';

const binder = assetBinder(bindingKey);

/** The webhook bodies the emulator prepared for an asset, by type (the pipeline does not relay them by itself). */
async function eventsOf(pipeline: Pipeline, assetId: string): Promise<(type: string) => string> {
  await pipeline.mux.whenIdle();
  const bodies = new Map(pipeline.mux.deliveries.filter((delivery) => delivery.assetId === assetId).map((delivery) => [delivery.type, delivery.body]));
  return (type) => {
    const body = bodies.get(type);
    if (body === undefined) throw new Error(`no ${type} event for ${assetId}`);
    return body;
  };
}

function deletedEvent(assetId: string, passthrough: string): string {
  return muxEvent('video.asset.deleted', { id: assetId, status: 'ready', passthrough, playback_ids: [] });
}

async function claimed(pipeline: Pipeline): Promise<VideoRecord> {
  const { video } = await pipeline.upload({ status: 'uploaded' });
  const claim = await pipeline.videos.claimIngest(video.id, { from: ['uploaded'] });
  if (!claim.video) throw new Error('not claimed');
  return claim.video;
}

const notOwnedLines = (pipeline: Pipeline, assetId: string) =>
  pipeline.logger.lines.filter((line) => line.event === 'mux_webhook.not_owned' && line.assetId === assetId);

describe.each(backends)('asset binding on %s', (backend) => {
  describe('on the migrated schema', () => {
    let pipeline: Pipeline;
    beforeAll(async () => {
      pipeline = await startPipeline(backend);
    });
    afterAll(async () => {
      await pipeline.close();
    });

    it("acknowledges every event of another user's asset that names a video by id, and changes nothing", async () => {
      const { video: victim } = await pipeline.upload();
      const foreign = await pipeline.createForeignAsset(victim.id);
      const forged = await pipeline.createForeignAsset(`${victim.id}.0.${'A'.repeat(22)}`);
      const bodies = [
        ...['video.asset.created', 'video.asset.ready'].map((type) => async () => (await eventsOf(pipeline, foreign.assetId))(type)),
        async () => deletedEvent(foreign.assetId, victim.id),
        async () => (await eventsOf(pipeline, forged.assetId))('video.asset.ready'),
      ];

      for (const body of bodies) {
        const answer = await pipeline.postWebhook(await body());
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ result: 'not_owned' });
      }

      expect(await pipeline.videos.findById(victim.id)).toEqual(victim);
      expect(notOwnedLines(pipeline, foreign.assetId).map((line) => line.reason)).toEqual(['untagged', 'untagged', 'untagged']);
      expect(notOwnedLines(pipeline, forged.assetId)).toMatchObject([{ reason: 'invalid_tag', level: 'warn', passthrough: `${victim.id}.0.${'A'.repeat(22)}` }]);
    });

    it('never applies a video.upload.* event (reelay makes no Mux direct uploads), whatever video it names', async () => {
      const { video: victim } = await pipeline.upload();
      const upload = { id: 'someone-elses-upload', new_asset_settings: { passthrough: victim.id }, asset_id: 'someone-elses-asset' };
      for (const type of ['video.upload.cancelled', 'video.upload.errored', 'video.upload.asset_created']) {
        const answer = await pipeline.postWebhook(muxEvent(type, { ...upload, status: type.split('.')[2] }, { objectType: 'upload', objectId: upload.id }));
        expect(answer).toMatchObject({ status: 200, body: { result: 'not_owned', reason: 'direct_upload' } });
      }
      expect(await pipeline.videos.findById(victim.id)).toEqual(victim);
    });

    it('keeps a ready video as it is when a copy of its tagged passthrough is made ready, then deleted', async () => {
      const video = await claimed(pipeline);
      const own = await pipeline.createReelayAsset(video, 1);
      expect((await pipeline.postWebhook((await eventsOf(pipeline, own.assetId))('video.asset.ready'))).body).toMatchObject({ result: 'applied' });
      const ready = await pipeline.videos.findById(video.id);
      expect(ready?.status).toBe('ready');

      const copy = await pipeline.createForeignAsset(binder.passthrough(video.id, 1));
      const answers = [
        await pipeline.postWebhook((await eventsOf(pipeline, copy.assetId))('video.asset.ready')),
        await pipeline.postWebhook(deletedEvent(copy.assetId, binder.passthrough(video.id, 1))),
        await pipeline.postWebhook(deletedEvent(copy.assetId, video.id)),
      ];

      expect(answers.map((answer) => [answer.status, (answer.body as { result: string }).result])).toEqual([[200, 'ignored'], [200, 'ignored'], [200, 'not_owned']]);
      expect(await pipeline.videos.findById(video.id)).toEqual(ready);
    });

    it("applies reelay's own asset events that arrive before ingest stored the asset (Mux's create, then the webhook, then the write)", async () => {
      const video = await claimed(pipeline);
      const own = await pipeline.createReelayAsset(video, 1);
      const events = await eventsOf(pipeline, own.assetId);

      expect((await pipeline.postWebhook(events('video.asset.created'))).body).toMatchObject({ result: 'applied', videoId: video.id });
      expect((await pipeline.postWebhook(events('video.asset.ready'))).body).toMatchObject({ result: 'applied', videoId: video.id });
      // Ingest's write comes last and leaves what the webhook stored.
      expect((await pipeline.videos.attachMuxAsset(video.id, { replaces: null, attempt: 1, mux: { assetId: own.assetId, status: 'preparing' } })).video).toBeNull();

      const stored = await pipeline.videos.findById(video.id);
      expect(stored).toMatchObject({ status: 'ready', mux: { assetId: own.assetId, status: 'ready', playbackId: pipeline.mux.assets.get(own.assetId)?.json.playback_ids[0]?.id } });
    });

    it("replaces an asset bound in that window by a copy of the tag with the one ingest created, once ingest writes", async () => {
      const video = await claimed(pipeline);
      const own = await pipeline.createReelayAsset(video, 1);
      const copy = await pipeline.createForeignAsset(binder.passthrough(video.id, 1));
      // Nothing is stored yet, so the copy's first event binds it (see docs/RELIABILITY.md, Security).
      expect((await pipeline.postWebhook((await eventsOf(pipeline, copy.assetId))('video.asset.created'))).body).toMatchObject({ result: 'applied' });

      const attached = await pipeline.videos.attachMuxAsset(video.id, { replaces: null, attempt: 1, mux: { assetId: own.assetId, status: 'preparing' } });
      expect(attached.video?.mux.assetId).toBe(own.assetId);
      expect((await pipeline.postWebhook((await eventsOf(pipeline, copy.assetId))('video.asset.ready'))).body).toMatchObject({ result: 'ignored' });
      expect((await pipeline.postWebhook((await eventsOf(pipeline, own.assetId))('video.asset.ready'))).body).toMatchObject({ result: 'applied' });

      expect((await pipeline.videos.findById(video.id))?.mux).toMatchObject({ assetId: own.assetId, status: 'ready', playbackId: pipeline.mux.assets.get(own.assetId)?.json.playback_ids[0]?.id });
    });

    it('never lets an asset event move a video still waiting for its upload, even an asset tagged for it', async () => {
      const { video } = await pipeline.upload();
      const tagged = await pipeline.createForeignAsset(binder.passthrough(video.id, 0));
      const answer = await pipeline.postWebhook((await eventsOf(pipeline, tagged.assetId))('video.asset.ready'));
      expect(answer).toMatchObject({ status: 200, body: { result: 'ignored' } });
      expect(await pipeline.videos.findById(video.id)).toEqual(video);
    });

    it('keeps applying the events of assets created before tags (a bare video id as passthrough, the asset id stored)', async () => {
      const video = await claimed(pipeline);
      const input = await storageFromEnv(pipeline.env).storage.presignGet({ key: video.s3Key, ttlSeconds: 3600 });
      const old = await (await muxFromEnv(pipeline.env).gateway()).createAsset({ inputUrl: input.url, passthrough: video.id });
      await pipeline.videos.attachMuxAsset(video.id, { replaces: null, attempt: 1, mux: { assetId: old.assetId, status: 'preparing' } });

      expect((await pipeline.postWebhook((await eventsOf(pipeline, old.assetId))('video.asset.ready'))).body).toMatchObject({ result: 'applied' });
      expect(await pipeline.videos.findById(video.id)).toMatchObject({ status: 'ready', mux: { assetId: old.assetId, status: 'ready' } });
    });

    it('does not adopt, on an ingest redelivery, assets another user made with the video id or a forged tag: it creates its own', async () => {
      const { video, record } = await pipeline.upload();
      const foreign = await pipeline.createForeignAsset(video.id);
      const forged = await pipeline.createForeignAsset(`${video.id}.1.${'B'.repeat(22)}`);

      expect((await pipeline.ingest(sqsEvent([{ record }], 2))).batchItemFailures).toEqual([]);

      const stored = await pipeline.videos.findById(video.id);
      expect([foreign.assetId, forged.assetId]).not.toContain(stored?.mux.assetId);
      const [own, ...others] = assetsFor(pipeline, video.id).filter((asset) => asset.id !== forged.assetId);
      expect(others).toEqual([]);
      expect(own?.json.passthrough).toBe(binder.passthrough(video.id, 1));
      expect(stored?.mux.assetId).toBe(own?.id);
    });

    it('adopts the asset its lost create made, not a newer copy of its tag made from other content', async () => {
      const { video, record } = await pipeline.upload();
      pipeline.mux.faults.hangNextCreates(1, { createAsset: true });
      expect((await pipeline.ingest(sqsEvent([{ record, messageId: 'lost' }]))).batchItemFailures).toEqual([{ itemIdentifier: 'lost' }]);
      const [lost] = assetsFor(pipeline, video.id);
      if (!lost) throw new Error('the hung create made no asset');
      const copy = await pipeline.createForeignAsset(lost.json.passthrough as string);

      expect((await pipeline.ingest(sqsEvent([{ record, messageId: 'lost' }], 2))).batchItemFailures).toEqual([]);

      expect((await pipeline.videos.findById(video.id))?.mux.assetId).toBe(lost.id);
      expect(pipeline.logger.lines.filter((line) => line.event === 'ingest.adoption_refused' && line.assetId === copy.assetId)).toMatchObject([{ reason: 'foreign_input' }]);
    });

    it('does not let reconcile adopt a foreign asset for a video whose ingest died: it ingests the video again', async () => {
      const video = await claimed(pipeline);
      const foreign = await pipeline.createForeignAsset(video.id);
      const copyOfNothing = await pipeline.createForeignAsset(binder.passthrough(video.id, 1));
      await pipeline.mux.whenIdle();
      await age(pipeline, video.id, 5);

      const summary = await pipeline.reconcile({ action: 'reconcile' });

      expect(summary).toMatchObject({ reconciled: 0, backfilled: 1, failed: 0 });
      const stored = await pipeline.videos.findById(video.id);
      expect([foreign.assetId, copyOfNothing.assetId, null]).not.toContain(stored?.mux.assetId);
      expect(pipeline.mux.assets.get(stored?.mux.assetId as string)?.json.passthrough).toBe(binder.passthrough(video.id, 2));
    });

    it('lets reconcile recover the asset a dead ingest made, not a newer copy of its tag', async () => {
      const video = await claimed(pipeline);
      const own = await pipeline.createReelayAsset(video, 1);
      const copy = await pipeline.createForeignAsset(binder.passthrough(video.id, 1));
      await pipeline.mux.whenIdle();

      const summary = await pipeline.reconcile({ action: 'reconcile' });

      expect(summary).toMatchObject({ reconciled: 1, failed: 0 });
      expect((await pipeline.videos.findById(video.id))?.mux).toMatchObject({ assetId: own.assetId, status: 'ready' });
      expect(pipeline.logger.lines.filter((line) => line.event === 'reconcile.adoption_refused' && line.assetId === copy.assetId)).toMatchObject([{ reason: 'foreign_input' }]);
    });
  });

  describe('on the legacy schema (0001), where no asset id is stored', () => {
    let pipeline: Pipeline;
    beforeAll(async () => {
      pipeline = await startPipeline(backend, { schema: 1 });
    });
    afterAll(async () => {
      await pipeline.close();
    });

    it("moves a video only for reelay's tagged assets: another user's asset naming it changes nothing", async () => {
      const { video, record } = await pipeline.upload();
      expect((await pipeline.ingest(sqsEvent([{ record }]))).batchItemFailures).toEqual([]);
      const processing = await pipeline.videos.findById(video.id);
      expect(processing?.status).toBe('processing');
      const foreign = await pipeline.createForeignAsset(video.id);

      for (const body of [(await eventsOf(pipeline, foreign.assetId))('video.asset.ready'), deletedEvent(foreign.assetId, video.id)]) {
        expect(await pipeline.postWebhook(body)).toMatchObject({ status: 200, body: { result: 'not_owned' } });
      }
      expect(await pipeline.videos.findById(video.id)).toEqual(processing);

      const [own] = assetsFor(pipeline, video.id);
      expect((await pipeline.postWebhook((await eventsOf(pipeline, own!.id))('video.asset.ready'))).body).toMatchObject({ result: 'applied' });
      expect((await pipeline.videos.findById(video.id))?.status).toBe('ready');
    });
  });
});
