/**
 * Black-box: an attacker with access to the same Mux environment (here: the emulator's API with
 * the stack's Mux token) makes assets that name other users' videos — by their id, with a forged tag, with a copy
 * of a real tag, or by PATCHing a passthrough — sends Mux direct-upload events about them, and races an ingest
 * whose create answer was lost and a reconcile. Mux delivers every one of their webhooks, correctly signed, to the
 * stack over HTTP. Every delivery must be acknowledged (no 24 h of retries) and change nothing: not the videos, not
 * their S3 prefixes; ingest and reconcile must adopt only the asset reelay made.
 */
import { randomUUID } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlValue } from '../../shared/db/driver.js';
import { startFileServer, type LocalServer } from '../mux/support/servers.js';
import { eventually, type TestStack } from '../support/local-stack.js';
import {
  assetsFor,
  createUpload,
  finalVideo,
  getVideo,
  logCounts,
  postSignedWebhook,
  recordFigures,
  smallVideo,
  stackDatabase,
  startReliabilityStack,
  uploadRequest,
  uploadVideo,
  type VideoJson,
} from './support.js';
import { putSingle, type SingleUpload } from '../stack/support.js';

const scenario = '9. Security: asset binding';
const webhookEvents = ['mux_webhook.applied', 'mux_webhook.ignored', 'mux_webhook.not_owned', 'mux_webhook.duplicate'];

describe('bindings forged through the Mux environment', () => {
  let stack: TestStack;
  let bob: string;
  /** The attacker's own content, on their own host. */
  let attackerFiles: LocalServer;
  const foreignAssets = new Set<string>();

  beforeAll(async () => {
    stack = await startReliabilityStack({ lambdaEnv: { MUX_TIMEOUT_MS: '1500' } });
    bob = await stack.tokens.mint(`bob-${randomUUID()}`);
    attackerFiles = await startFileServer(smallVideo);
  });
  afterAll(async () => {
    await attackerFiles?.close();
    await stack?.dispose();
  });

  /** The Mux API as the attacker, who holds a token of the same environment. */
  async function muxApi<T>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> {
    const authorization = `Basic ${Buffer.from(`${stack.env.MUX_TOKEN_ID}:${stack.env.MUX_TOKEN_SECRET}`).toString('base64')}`;
    const response = await fetch(`${stack.urls.mux}${path}`, {
      method,
      headers: { authorization, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, data: (text ? (JSON.parse(text) as { data: T }).data : undefined) as T };
  }

  async function foreignAsset(passthrough: string, options: { captions?: boolean } = {}): Promise<string> {
    const created = await muxApi<{ id: string }>('POST', '/video/v1/assets', {
      inputs: [{ url: `${attackerFiles.url}/video.mp4`, ...(options.captions ? { generated_subtitles: [{ language_code: 'en', name: 'English' }] } : {}) }],
      playback_policies: ['public'],
      passthrough,
    });
    expect(created.status).toBe(201);
    foreignAssets.add(created.data.id);
    return created.data.id;
  }

  async function captionObjects(videoId: string): Promise<number> {
    const listed = await stack.s3.client.send(new ListObjectsV2Command({ Bucket: stack.s3.bucket, Prefix: `uploads/${videoId}/captions/` }));
    return listed.KeyCount ?? 0;
  }

  const realPassthrough = (video: VideoJson) => stack.muxEmulator.assets.get(video.mux?.assetId as string)?.json.passthrough as string;

  it("acknowledges every event of another user's assets and of direct uploads, and changes no video", async (context) => {
    const waiting = (await createUpload(stack, bob, uploadRequest(smallVideo, { title: 'security-waiting' }))).video;
    const readyUpload = await uploadVideo(stack, bob, 'security-ready', { bytes: smallVideo });
    const ready = await finalVideo(stack, bob, readyUpload.id);
    expect(ready.status).toBe('ready');
    await stack.idle();
    const before = await Promise.all([waiting.id, ready.id].map(async (id) => (await getVideo(stack, bob, id)).body.video));
    const logMark = stack.logs.length;
    const deliveryMark = stack.muxEmulator.deliveries.length;

    const copiedTag = realPassthrough(ready);
    const forgedTag = `${waiting.id}.0.${'A'.repeat(22)}`;
    await foreignAsset(waiting.id, { captions: true });
    await foreignAsset(forgedTag);
    const byReadyId = await foreignAsset(ready.id);
    const copy = await foreignAsset(copiedTag, { captions: true });
    const patched = await foreignAsset('the-attackers-own-video');
    await stack.idle();
    expect((await muxApi('PATCH', `/video/v1/assets/${patched}`, { passthrough: copiedTag })).status).toBe(200);
    for (const id of [byReadyId, copy, patched]) expect((await muxApi('DELETE', `/video/v1/assets/${id}`)).status).toBe(204);
    await stack.idle();
    const videosNow = () => Promise.all([waiting.id, ready.id].map(async (id) => (await getVideo(stack, bob, id)).body.video));
    expect(await videosNow(), 'unchanged by the foreign assets').toEqual(before);
    // The attacker's Mux direct uploads, which Mux reports (signed) to every webhook of the environment.
    let directUploadEvents = 0;
    for (const [type, video] of [['video.upload.cancelled', waiting], ['video.upload.errored', ready], ['video.upload.asset_created', waiting]] as const) {
      const body = JSON.stringify({
        type,
        id: randomUUID(),
        created_at: new Date().toISOString(),
        object: { type: 'upload', id: `upload-${randomUUID()}` },
        data: { id: 'upload', status: type.split('.')[2], new_asset_settings: { passthrough: video.id }, asset_id: copy },
        attempts: [],
      });
      const answer = await postSignedWebhook(stack, body);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toMatchObject({ result: 'not_owned', reason: 'direct_upload' });
      directUploadEvents += 1;
    }

    const deliveries = stack.muxEmulator.deliveries.slice(deliveryMark).filter((delivery) => foreignAssets.has(delivery.assetId));
    expect(deliveries.length).toBeGreaterThanOrEqual(12);
    for (const delivery of deliveries) {
      expect(delivery.outcome, `${delivery.type} for ${delivery.assetId}`).toBe('delivered');
      expect(delivery.attempts.map((attempt) => attempt.status), 'acknowledged at the first attempt').toEqual([200]);
    }
    expect(await videosNow(), 'unchanged by the direct-upload events').toEqual(before);
    expect(await captionObjects(waiting.id), 'no captions written for a video by a foreign track').toBe(0);
    expect(await captionObjects(ready.id)).toBe(0);

    const seen = logCounts(stack, logMark, webhookEvents);
    expect(seen['mux_webhook.applied'], 'nothing applied').toBe(0);
    recordFigures(context, {
      scenario,
      case: "another user's assets naming reelay videos: bare video id, forged tag, copied tag, passthrough PATCHed to a copied tag, then deleted; direct-upload events",
      injected: {
        'foreign assets': foreignAssets.size,
        'signed webhooks Mux delivered for them': deliveries.length,
        'direct-upload events (signed)': directUploadEvents,
      },
      observed: {
        'acknowledged as not reelay’s (not_owned)': seen['mux_webhook.not_owned'] ?? 0,
        'ignored (tag copied from a video that stores another asset)': seen['mux_webhook.ignored'] ?? 0,
        'applied': seen['mux_webhook.applied'] ?? 0,
        'redeliveries asked of Mux': deliveries.reduce((total, delivery) => total + delivery.attempts.length - 1, 0),
      },
      checked: 2,
      lost: 0,
      extraAssets: 0,
    });
  });

  it('adopts only the asset reelay made, on an ingest retry and in reconcile, not copies made from other content', async (context) => {
    await stack.idle();
    const logMark = stack.logs.length;
    const deliveryMark = stack.muxEmulator.deliveries.length;
    // Ingest's create is performed by Mux but its answer is lost, and no webhook tells reelay about the asset: the
    // next delivery must find it. Meanwhile the attacker has made an asset with the video's id, and copies the tag
    // of reelay's asset onto one made from their own file.
    const started = await createUpload(stack, bob, uploadRequest(smallVideo, { title: 'security-lost-create' }));
    const created = started.video;
    const byId = await foreignAsset(created.id);
    await stack.idle();
    stack.muxEmulator.faults.hangNextCreates(1, { createAsset: true });
    stack.muxEmulator.setWebhookUrl(null);
    let copy = '';
    try {
      expect((await putSingle(started.upload as SingleUpload, smallVideo)).status).toBe(200);
      const lost = await eventually(async () => assetsFor(stack, created.id)[0], () => 'the hung create made no asset', 30_000);
      copy = await foreignAsset(lost.json.passthrough as string);
      await eventually(
        async () => ((await getVideo(stack, bob, created.id)).body.video.mux?.assetId ? true : undefined),
        () => `not adopted yet: ${JSON.stringify(logCounts(stack, logMark, ['ingest.asset_adopted', 'ingest.adoption_refused', 'ingest.mux_unavailable']))}`,
        60_000,
      );
      await stack.idle();
    } finally {
      stack.muxEmulator.setWebhookUrl(`${stack.url}/api/webhooks/mux`);
    }
    // Mux's withheld webhooks arrive late, as its retries would bring them.
    for (const delivery of stack.muxEmulator.deliveries.slice(deliveryMark)) {
      expect((await postSignedWebhook(stack, delivery.body)).status).toBeLessThan(300);
    }
    const [lost] = assetsFor(stack, created.id);
    const adopted = await finalVideo(stack, bob, created.id);
    expect(adopted).toMatchObject({ status: 'ready', mux: { assetId: lost?.id, playbackId: lost?.json.playback_ids[0]?.id } });
    expect([byId, copy]).not.toContain(adopted.mux?.assetId);

    // Reconcile: a video whose asset id was never stored (an ingest killed before its write, or the legacy period).
    const recovering = await finalVideo(stack, bob, (await uploadVideo(stack, bob, 'security-reconcile', { bytes: smallVideo })).id);
    const own = stack.muxEmulator.assets.get(recovering.mux?.assetId as string);
    const reconcileForeign = [await foreignAsset(recovering.id), await foreignAsset(realPassthrough(recovering))];
    await stack.idle();
    const driver = await stackDatabase(stack);
    try {
      await driver.execute(`UPDATE videos SET mux_asset_id = NULL, mux_playback_id = NULL, mux_streaming_url = NULL, mux_thumbnail_url = NULL WHERE id = :id`, {
        id: sqlValue.uuid(recovering.id),
      });
    } finally {
      await driver.close();
    }
    const summary = (await stack.invoke.reconcile({ action: 'reconcile' })) as { reconciled: number; failed: number };
    expect(summary).toMatchObject({ reconciled: 1, failed: 0 });
    const recovered = (await getVideo(stack, bob, recovering.id)).body.video;
    expect(recovered).toMatchObject({ status: 'ready', mux: { assetId: own?.id, playbackId: own?.json.playback_ids[0]?.id } });

    const seen = logCounts(stack, logMark, ['ingest.asset_adopted', 'ingest.adoption_refused', 'reconcile.adoption_refused', 'reconcile.recovered']);
    // The copy is newer than reelay's asset and is examined first; the asset with the bare id is older and is never reached.
    expect(seen['ingest.adoption_refused']).toBeGreaterThanOrEqual(1);
    expect(seen['reconcile.adoption_refused']).toBeGreaterThanOrEqual(2);
    recordFigures(context, {
      scenario,
      case: 'an ingest retry after a lost create, and reconcile, next to assets with the video id and copies of its tag',
      injected: { 'creates performed by Mux with the answer lost': 1, 'foreign assets waiting to be adopted': 2 + reconcileForeign.length },
      observed: {
        'refused by ingest (foreign input)': seen['ingest.adoption_refused'] ?? 0,
        'refused by reconcile (foreign input)': seen['reconcile.adoption_refused'] ?? 0,
        'reelay’s own asset adopted': (seen['ingest.asset_adopted'] ?? 0) + (seen['reconcile.recovered'] ?? 0),
      },
      checked: 2,
      lost: 0,
      extraAssets: 0,
    });
  });
});
