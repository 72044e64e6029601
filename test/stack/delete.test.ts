/**
 * DELETE /api/videos/{id} over HTTP through the local stack, on the latest schema and the legacy one (0001): a video
 * is deleted in every state it can be in, by its owner or an admin (another user gets a 404), and afterwards nothing
 * is left anywhere — no row (GET 404, absent from the list), no asset at the Mux emulator, no object in local S3.
 * The races of shared/videos/video-deletion.ts: an upload that lands after the delete, an ingest creating the asset
 * while the delete runs, webhooks delivered again after it, and Mux failing (finished by reconcile).
 */
import { randomUUID } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { muxSignatureHeader } from '../../local/mux-emulator/signing.js';
import { MiB } from '../../shared/storage/config.js';
import { eventually, startTestStack, type TestStack } from '../support/local-stack.js';
import {
  assetsFor,
  createUpload,
  expectClientError,
  getVideo,
  isReady,
  partBytes,
  putPart,
  putSingle,
  uploadRequest,
  videoBytes,
  waitForVideo,
  type CreatedUpload,
  type VideoJson,
} from './support.js';

const graceSeconds = 1;

describe.each(['latest', 'legacy'] as const)('DELETE /api/videos/{id} through the local stack (%s schema)', (schema) => {
  let stack: TestStack;
  let alice: string;
  let bob: string;
  let root: string;
  const settled = schema === 'legacy' ? (video: VideoJson) => video.status === 'ready' : isReady;

  beforeAll(async () => {
    stack = await startTestStack({
      schema,
      lambdaEnv: { MULTIPART_THRESHOLD_BYTES: String(5 * MiB), DELETION_GRACE_SECONDS: String(graceSeconds) },
    });
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
    bob = await stack.tokens.mint(`bob-${randomUUID()}`);
    root = await stack.tokens.mint(`root-${randomUUID()}`, { admin: true });
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  async function objectsOf(videoId: string): Promise<string[]> {
    const listed = await stack.s3.client.send(new ListObjectsV2Command({ Bucket: stack.s3.bucket, Prefix: `${stack.env.UPLOAD_PREFIX ?? ''}${videoId}/` }));
    return (listed.Contents ?? []).map((object) => object.Key ?? '');
  }

  const liveAssets = (videoId: string) => assetsFor(stack, videoId).filter((asset) => !asset.deleted);

  /** Nothing of the video anywhere: no row (GET 404, not listed), no live asset, no object. */
  async function expectGone(videoId: string, token = alice): Promise<void> {
    await stack.idle();
    expectClientError(await getVideo(stack, token, videoId), 404, 'not_found');
    const listed = await stack.request<{ videos: VideoJson[] }>('GET', '/api/videos?limit=100', { token });
    expect(listed.body.videos.map((video) => video.id)).not.toContain(videoId);
    expect(liveAssets(videoId).map((asset) => asset.json.id)).toEqual([]);
    expect(await objectsOf(videoId)).toEqual([]);
  }

  async function readyVideo(options: { captions?: boolean } = {}): Promise<VideoJson> {
    const bytes = videoBytes(4096);
    const created = await createUpload(stack, alice, uploadRequest(bytes, { title: 'to delete', options: { captions: options.captions ?? false } }));
    if (created.upload.mode !== 'single') throw new Error('expected a single PUT');
    expect((await putSingle(created.upload, bytes)).status).toBe(200);
    return waitForVideo(stack, alice, created.video.id, settled);
  }

  const del = (id: string, token = alice) => stack.request<{ video: VideoJson; waitingFor: string }>('DELETE', `/api/videos/${id}`, { token });

  it('deletes a video still awaiting its upload (204); a second DELETE is a 404; the upload URL cannot resurrect it', async () => {
    const bytes = videoBytes(2048);
    const created = await createUpload(stack, alice, uploadRequest(bytes));
    if (created.upload.mode !== 'single') throw new Error('expected a single PUT');
    const deleted = await del(created.video.id);
    expect(deleted.status, deleted.text).toBe(204);
    expect(deleted.text).toBe('');
    await expectGone(created.video.id);
    expectClientError(await del(created.video.id), 404, 'not_found');

    // The presigned PUT still works at S3 (its URL is valid until it expires): the object it lands is removed by
    // ingest, which finds no video for it, and no asset is made.
    expect((await putSingle(created.upload, bytes)).status).toBe(200);
    await eventually(async () => ((await objectsOf(created.video.id)).length === 0 ? true : undefined), () => 'the late upload was not removed');
    await expectGone(created.video.id);
    expect(stack.logs.some((line) => line.event === 'ingest.upload_of_deleted_video_removed' && line.videoId === created.video.id)).toBe(true);
  });

  it('deletes a video while its multipart upload is half done: the upload is aborted and its part URLs stop working', async () => {
    const bytes = videoBytes(12 * MiB);
    const created: CreatedUpload = await createUpload(stack, alice, uploadRequest(bytes));
    if (created.upload.mode !== 'multipart') throw new Error('expected a multipart upload');
    const [first, second] = created.upload.parts;
    if (first === undefined || second === undefined) throw new Error('expected two part URLs');
    await putPart(first, partBytes(bytes, created.upload, 1));
    expect((await del(created.video.id)).status).toBe(204);
    const late = await fetch(second.url, { method: 'PUT', body: new Uint8Array(partBytes(bytes, created.upload, 2)) });
    expect(late.status).toBe(404);
    expect(await late.text()).toContain('NoSuchUpload');
    await expectGone(created.video.id);
  });

  it('deletes a ready video with captions: its asset at Mux, its source and its SRT in S3, its row', async () => {
    const ready = await readyVideo({ captions: true });
    if (schema === 'latest') {
      await waitForVideo(stack, alice, ready.id, (video) => video.captions?.srtUrl != null);
      expect((await objectsOf(ready.id)).some((key) => key.endsWith('.srt'))).toBe(true);
    }
    expect(liveAssets(ready.id)).toHaveLength(1);
    expect((await del(ready.id)).status).toBe(204);
    await expectGone(ready.id);
  });

  it('deletes an errored video and a cancelled one', async () => {
    stack.muxEmulator.faults.failNextCreates(1, 400);
    const bytes = videoBytes(4096);
    const failing = await createUpload(stack, alice, uploadRequest(bytes));
    if (failing.upload.mode !== 'single') throw new Error('expected a single PUT');
    expect((await putSingle(failing.upload, bytes)).status).toBe(200);
    await waitForVideo(stack, alice, failing.video.id, (video) => video.status === 'errored');
    expect((await del(failing.video.id)).status).toBe(204);
    await expectGone(failing.video.id);

    const cancelled = await createUpload(stack, alice, uploadRequest(bytes));
    expect((await stack.request('DELETE', `/api/videos/${cancelled.video.id}/upload`, { token: alice })).status).toBe(204);
    expect(await objectsOf(cancelled.video.id)).not.toEqual([]); // the seal marker
    expect((await del(cancelled.video.id)).status).toBe(204);
    await expectGone(cancelled.video.id);
  });

  it('is a 404 for another user (nothing deleted) and works for an admin', async () => {
    const ready = await readyVideo();
    expectClientError(await del(ready.id, bob), 404, 'not_found');
    expect((await getVideo(stack, alice, ready.id)).body.video).toMatchObject({ id: ready.id, status: 'ready' });
    expect(liveAssets(ready.id)).toHaveLength(1);
    expectClientError(await del(randomUUID(), root), 404, 'not_found');
    expect((await del(ready.id, root)).status).toBe(204);
    await expectGone(ready.id);
    expect((await stack.request('DELETE', `/api/videos/${ready.id}`)).status).toBe(401);
  });

  it('waits (202, deleting) for an ingest that is creating the asset; that ingest deletes the asset and finishes', async () => {
    stack.muxEmulator.faults.delayNextCreates(1, 1_500);
    const bytes = videoBytes(4096);
    const created = await createUpload(stack, alice, uploadRequest(bytes));
    if (created.upload.mode !== 'single') throw new Error('expected a single PUT');
    const creates = () => stack.muxEmulator.requests.filter((request) => request.method === 'POST' && request.path === '/video/v1/assets').length;
    const before = creates();
    expect((await putSingle(created.upload, bytes)).status).toBe(200);
    await eventually(async () => (creates() > before ? true : undefined), () => 'the ingest never called Mux');

    const waiting = await del(created.video.id);
    expect(waiting.status, waiting.text).toBe(202);
    expect(waiting.body).toMatchObject({ video: { id: created.video.id, status: 'deleting' }, waitingFor: 'ingest' });
    expect((await getVideo(stack, alice, created.video.id)).body.video.status).toBe('deleting');
    expectClientError(await stack.request('PATCH', `/api/videos/${created.video.id}`, { token: alice, json: { title: 'back' } }), 409, 'conflict');
    expect((await del(created.video.id)).status).toBe(202);

    await eventually(async () => ((await getVideo(stack, alice, created.video.id)).status === 404 ? true : undefined), () => 'the ingest did not finish the deletion');
    expect(assetsFor(stack, created.video.id)).toHaveLength(1); // it was made, and deleted
    await expectGone(created.video.id);
  });

  it('deletes a video whose ingest Mux keeps refusing (uploaded, retried by SQS): the next delivery finds it gone', async () => {
    stack.muxEmulator.faults.failNextCreates(3, 503);
    const bytes = videoBytes(4096);
    const created = await createUpload(stack, alice, uploadRequest(bytes));
    if (created.upload.mode !== 'single') throw new Error('expected a single PUT');
    const refused = () => stack.muxEmulator.requests.filter((request) => request.method === 'POST' && request.path === '/video/v1/assets' && request.status === 503).length;
    const before = refused();
    expect((await putSingle(created.upload, bytes)).status).toBe(200);
    await eventually(async () => (refused() > before ? true : undefined), () => 'Mux never refused a create');
    const deleted = await del(created.video.id);
    expect([202, 204], deleted.text).toContain(deleted.status);
    await eventually(async () => ((await getVideo(stack, alice, created.video.id)).status === 404 ? true : undefined), () => 'the deletion was not finished');
    stack.muxEmulator.faults.reset();
    await expectGone(created.video.id);
    expect(assetsFor(stack, created.video.id)).toEqual([]);
  });

  it('ignores webhooks of the deleted asset delivered again afterwards: nothing comes back', async () => {
    const ready = await readyVideo();
    await stack.idle(); // every webhook of the asset delivered before they are counted
    const assetId = assetsFor(stack, ready.id)[0]?.json.id;
    const earlier = stack.muxEmulator.deliveries.filter((delivery) => delivery.assetId === assetId && delivery.outcome === 'delivered');
    expect(earlier.length).toBeGreaterThan(1);
    expect((await del(ready.id)).status).toBe(204);
    await stack.idle();
    for (const delivery of earlier) {
      const signature = muxSignatureHeader(delivery.body, stack.env.MUX_WEBHOOK_SECRET as string, Math.floor(Date.now() / 1000));
      const replay = await stack.request('POST', '/api/webhooks/mux', { body: delivery.body, headers: { 'mux-signature': signature } });
      expect([200, 204]).toContain(replay.status);
    }
    await expectGone(ready.id);
  });

  it('finishes a deletion Mux refused, on the next reconcile run (202 until then)', async () => {
    const ready = await readyVideo();
    stack.muxEmulator.faults.failNextDeletes(1, 503);
    const waiting = await del(ready.id);
    expect(waiting.status, waiting.text).toBe(202);
    expect(waiting.body).toMatchObject({ video: { id: ready.id, status: 'deleting' }, waitingFor: 'mux' });
    expect(await objectsOf(ready.id)).toEqual([]); // S3 went first
    expect(liveAssets(ready.id)).toHaveLength(1);
    const listed = await stack.request<{ videos: VideoJson[] }>('GET', '/api/videos?limit=100', { token: alice });
    expect(listed.body.videos.find((video) => video.id === ready.id)?.status).toBe('deleting');

    await new Promise((resolve) => setTimeout(resolve, graceSeconds * 1000 + 100));
    const summary = (await stack.invoke.reconcile({ action: 'reconcile' })) as { deleted: number };
    expect(summary.deleted).toBe(1);
    await expectGone(ready.id);
  });
});
