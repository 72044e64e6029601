/**
 * End to end: webhooks are believed only when Mux signed them within 300 s, a duplicate
 * delivery is a no-op, late events never move a video backwards; and an S3 notification delivered more than once
 * (SQS is at-least-once) creates one Mux asset, not two. And an Idempotency-Key stands for one whole request.
 */
import { randomUUID } from 'node:crypto';
import type { S3EventRecord, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { muxSignatureHeader } from '../../local/mux-emulator/signing.js';
import { eventually, startTestStack, type ApiResponse, type TestStack } from '../support/local-stack.js';
import {
  assetsFor,
  createUpload,
  getVideo,
  isReady,
  putSingle,
  uploadRequest,
  videoBytes,
  waitForVideo,
  type CreatedUpload,
  type ErrorBody,
  type SingleUpload,
  type VideoJson,
} from './support.js';

describe('webhooks and redelivered ingest messages through the local stack', () => {
  let stack: TestStack;
  let alice: string;
  const bytes = videoBytes(96 * 1024);

  const postWebhook = (body: string, signature?: string): Promise<ApiResponse> =>
    stack.request('POST', '/api/webhooks/mux', { body, headers: signature === undefined ? {} : { 'mux-signature': signature } });
  const signed = (body: string, secondsAgo = 0) => muxSignatureHeader(body, stack.env.MUX_WEBHOOK_SECRET as string, Math.floor(Date.now() / 1000) - secondsAgo);

  /** Uploads a file and waits until it is ready and Mux has gone quiet; returns the video and its S3 notification. */
  async function readyVideo(title: string): Promise<{ video: VideoJson; record: S3EventRecord }> {
    const created = await createUpload(stack, alice, uploadRequest(bytes, { title }));
    const seen = stack.objectCreated.length;
    expect((await putSingle(created.upload as SingleUpload, bytes)).status).toBe(200);
    await waitForVideo(stack, alice, created.video.id, isReady);
    await stack.idle();
    const record = stack.objectCreated[seen];
    if (!record) throw new Error('the PUT produced no object-created notification');
    return { video: (await getVideo(stack, alice, created.video.id)).body.video, record };
  }

  function deliveredEvent(assetId: string, type: string): string {
    const delivery = stack.muxEmulator.deliveries.find((candidate) => candidate.assetId === assetId && candidate.type === type && candidate.outcome === 'delivered');
    if (!delivery) throw new Error(`the emulator delivered no ${type} for ${assetId}`);
    return delivery.body;
  }

  beforeAll(async () => {
    stack = await startTestStack();
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
  });
  afterAll(() => stack?.dispose());

  describe('webhook signatures', () => {
    let waiting: VideoJson;
    let readyEventBody: string;

    beforeAll(async () => {
      waiting = (await createUpload(stack, alice, uploadRequest(bytes, { title: 'Never uploaded' }))).video;
      // A well-formed `ready` for this video: applied, it would give the video an asset and playback id.
      readyEventBody = JSON.stringify({
        type: 'video.asset.ready',
        id: randomUUID(),
        created_at: new Date().toISOString(),
        object: { type: 'asset', id: 'forgedAsset0001' },
        environment: { name: 'Emulator', id: 'emulator' },
        data: {
          id: 'forgedAsset0001',
          status: 'ready',
          passthrough: waiting.id,
          playback_ids: [{ id: 'forgedPlayback0001', policy: 'public' }],
          duration: 10,
          aspect_ratio: '16:9',
          created_at: String(Math.floor(Date.now() / 1000)),
          tracks: [],
        },
        attempts: [],
      });
    });

    const cases: Array<[string, () => string | undefined]> = [
      ['forged (signed with another secret)', () => muxSignatureHeader(readyEventBody, 'not-the-webhook-secret')],
      ['stale (signed 301 s ago)', () => signed(readyEventBody, 301)],
      ['unsigned', () => undefined],
      ['signed over a different body', () => signed(readyEventBody.replace('"duration":10', '"duration":11'))],
    ];

    it.each(cases)('refuses a %s webhook with 401 and changes nothing', async (_name, signature) => {
      const response = await postWebhook(readyEventBody, signature());
      expect(response.status, response.text).toBe(401);
      expect((response.body as { error?: { code?: string } }).error?.code).toBe('unauthorized');
      const after = (await getVideo(stack, alice, waiting.id)).body.video;
      expect(after).toEqual(waiting);
    });

    it('acknowledges malformed JSON that is correctly signed as rejected (Mux would retry anything else for 24 h), and a redelivery as a duplicate', async () => {
      const body = '{"type": "video.asset.ready", ';
      const response = await postWebhook(body, signed(body));
      expect(response.status, response.text).toBe(200);
      expect(response.body).toMatchObject({ result: 'rejected', eventId: expect.stringMatching(/^sha256:/) });
      expect((await postWebhook(body, signed(body))).status).toBe(204);
    });
  });

  describe('webhook deliveries', () => {
    let video: VideoJson;
    let assetId: string;

    beforeAll(async () => {
      ({ video } = await readyVideo('Delivered twice'));
      assetId = video.mux?.assetId as string;
    });

    it('treats a duplicate delivery (same event id) as a no-op', async () => {
      const body = deliveredEvent(assetId, 'video.asset.ready');
      const response = await postWebhook(body, signed(body));
      expect(response.status, response.text).toBeGreaterThanOrEqual(200);
      expect(response.status, response.text).toBeLessThan(300);
      expect((await getVideo(stack, alice, video.id)).body.video).toEqual(video);
    });

    it('leaves a ready video ready when a late `created` arrives after `ready`', async () => {
      const late = JSON.parse(deliveredEvent(assetId, 'video.asset.created')) as { id: string };
      late.id = randomUUID();
      const body = JSON.stringify(late);
      const response = await postWebhook(body, signed(body));
      expect(response.status, response.text).toBeGreaterThanOrEqual(200);
      expect(response.status, response.text).toBeLessThan(300);
      const after = (await getVideo(stack, alice, video.id)).body.video;
      expect(after.status).toBe('ready');
      expect(after.mux).toMatchObject({ status: 'ready', playbackId: video.mux?.playbackId, assetId });
    });

    it('ends ready when Mux itself delivers `ready` before `created`', async () => {
      stack.muxEmulator.faults.reorderNextAssets(1);
      const { video: reordered } = await readyVideo('Out of order');
      const types = stack.muxEmulator.deliveries.filter((delivery) => delivery.assetId === reordered.mux?.assetId).map((delivery) => delivery.type);
      expect(types.indexOf('video.asset.ready')).toBeLessThan(types.indexOf('video.asset.created'));
      expect(reordered).toMatchObject({ status: 'ready', mux: { status: 'ready' } });
    });

    it('ends ready when Mux delivers every event twice', async () => {
      stack.muxEmulator.faults.duplicateNextEvents(2);
      const { video: twice } = await readyVideo('Duplicated by Mux');
      expect(stack.muxEmulator.deliveries.filter((delivery) => delivery.assetId === twice.mux?.assetId && delivery.duplicate).length).toBeGreaterThan(0);
      expect(twice).toMatchObject({ status: 'ready', mux: { status: 'ready' } });
    });
  });

  describe('an Idempotency-Key', () => {
    it('is one request: other options are a 409 naming them; the same body is replayed, and Mux gets the first options', async () => {
      const body = uploadRequest(bytes, { title: 'Keyed upload', description: 'cut 1', options: { captions: true } });
      const send = (json: unknown) => stack.request<CreatedUpload>('POST', '/api/videos/upload', { token: alice, json, headers: { 'idempotency-key': 'stack-key-1' } });
      const first = await send(body);
      expect(first.status, first.text).toBe(201);

      const other = await send({ ...body, options: { mp4: true } });
      expect(other.status, other.text).toBe(409);
      expect(other.headers.get('idempotent-replayed')).toBeNull();
      expect((other.body as unknown as ErrorBody).error.details).toEqual([
        { path: ['options', 'captions'], message: expect.any(String) },
        { path: ['options', 'mp4'], message: expect.any(String) },
      ]);
      const described = await send({ ...body, description: 'cut 2' });
      expect(described.status, described.text).toBe(409);
      expect((described.body as unknown as ErrorBody).error.details).toEqual([{ path: ['description'], message: expect.any(String) }]);

      // The same request, spelled differently, is a replay; its URL is the one the client uploads with.
      const replay = await send({ options: { captions: true, mp4: false }, ...body });
      expect(replay.status, replay.text).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body.video.id).toBe(first.body.video.id);
      expect((await putSingle(replay.body.upload as SingleUpload, bytes)).status).toBe(200);
      await waitForVideo(stack, alice, first.body.video.id, isReady);
      const [asset, ...more] = assetsFor(stack, first.body.video.id);
      expect(more).toEqual([]);
      expect(asset?.request).toMatchObject({ inputs: [{ generated_subtitles: [expect.objectContaining({ language_code: 'en' })] }] });
      expect(asset?.request).not.toHaveProperty('static_renditions');
      const listed = await stack.request<{ videos: VideoJson[] }>('GET', '/api/videos?limit=100', { token: alice });
      expect(listed.body.videos.filter((video) => video.title === 'Keyed upload')).toHaveLength(1);
    });
  });

  describe('a redelivered S3 notification', () => {
    it('creates no second Mux asset when the same message comes again after the video is ready', async () => {
      const { video, record } = await readyVideo('Redelivered later');
      const messageId = randomUUID();
      const body = JSON.stringify({ Records: [record] });
      const event = (receiveCount: number): SQSEvent => ({
        Records: [{
          messageId,
          receiptHandle: `${messageId}-${receiveCount}`,
          body,
          attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: String(Date.now()), SenderId: 'S3', ApproximateFirstReceiveTimestamp: String(Date.now()) },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:reelay-local-ingest',
          awsRegion: 'us-east-1',
        }],
      });
      // Every object this suite uploaded is redelivered: none may gain a second asset.
      const assetsBefore = stack.muxEmulator.assets.size;
      for (const each of stack.objectCreated) stack.sqs.sendS3Record(each);
      const result = await stack.invoke.ingest(event(2));
      expect(result?.batchItemFailures ?? []).toEqual([]);
      await stack.idle();
      expect(stack.muxEmulator.assets.size).toBe(assetsBefore);
      expect(assetsFor(stack, video.id)).toHaveLength(1);
      expect((await getVideo(stack, alice, video.id)).body.video).toMatchObject({ status: 'ready', mux: { assetId: video.mux?.assetId } });
      expect(stack.sqs.deadLetters).toEqual([]);
    });

    it('creates one asset when copies of the message race each other', async () => {
      const created = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Raced' }));
      const seen = stack.objectCreated.length;
      expect((await putSingle(created.upload as SingleUpload, bytes)).status).toBe(200);
      const record = await eventually(async () => stack.objectCreated[seen], () => 'no object-created notification for the PUT');
      // Three more copies, queued while the first is being handled.
      for (let copy = 0; copy < 3; copy += 1) stack.sqs.sendS3Record(record);
      await waitForVideo(stack, alice, created.video.id, isReady);
      await stack.idle();
      expect(assetsFor(stack, created.video.id)).toHaveLength(1);
      expect(stack.sqs.deadLetters).toEqual([]);
    });
  });
});
