/**
 * End to end through `npm start`'s stack: create → PUT the file to the presigned URL → S3's
 * notification reaches ingest through the queue → Mux (the emulator) fetches it and sends signed webhooks → the video
 * is `ready` with its Mux fields, for its owner only.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/databases.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { asBody, assetsFor, createUpload, getVideo, isReady, putSingle, uploadRequest, videoBytes, videoDurationSeconds, waitForVideo, type SingleUpload, type VideoJson } from './support.js';

describe.each(backends)('a single-PUT upload through the local stack (%s)', (backend) => {
  let stack: TestStack;
  let alice: string;
  let bob: string;
  const bytes = videoBytes(256 * 1024);
  let videoId: string;
  let ready: VideoJson;

  beforeAll(async () => {
    stack = await startTestStack({ backend });
    [alice, bob] = await Promise.all([stack.tokens.mint(`alice-${randomUUID()}`), stack.tokens.mint(`bob-${randomUUID()}`)]);
  });
  afterAll(() => stack?.dispose());

  it('creates the video awaiting its upload, with a presigned PUT that signs type and length', async () => {
    const created = await createUpload(stack, alice, uploadRequest(bytes, {
      title: 'Team offsite',
      description: 'Day one',
      filename: 'my holiday film.mp4',
      options: { captions: true, mp4: true, normalizeAudio: true },
    }));
    videoId = created.video.id;
    expect(created.video).toMatchObject({ title: 'Team offsite', description: 'Day one', status: 'awaiting_upload', filename: 'my holiday film.mp4', contentType: 'video/mp4', size: bytes.length });
    expect(created.schema).toEqual({ muxColumns: { present: true, missing: [] }, usedFallback: false });
    const upload = created.upload as SingleUpload;
    expect(upload).toMatchObject({ mode: 'single', method: 'PUT' });
    expect(new URL(upload.url).origin).toBe(stack.urls.s3);
    // The key is generated, never the user's file name.
    expect(decodeURIComponent(new URL(upload.url).pathname)).not.toContain('holiday');
    expect(upload.headers).toMatchObject({ 'content-type': 'video/mp4', 'content-length': String(bytes.length) });
    expect(Date.parse(upload.expiresAt)).toBeGreaterThan(Date.now());

    // A PUT of other bytes than were signed is refused by S3 (locally as in AWS) and starts nothing.
    const wrongSize = await fetch(upload.url, { method: 'PUT', headers: { 'content-type': 'video/mp4' }, body: asBody(bytes.subarray(1)) });
    expect(wrongSize.status).toBe(403);

    const put = await putSingle(upload, bytes);
    expect(put.status).toBe(200);
  });

  it('reaches ready with every Mux field, the playback and thumbnail URLs served by Mux', async () => {
    ready = await waitForVideo(stack, alice, videoId, (video) => isReady(video) && video.mux?.mp4Url != null && video.captions?.webvttUrl != null);
    const mux = ready.mux as NonNullable<VideoJson['mux']>;
    expect(mux.assetId).toEqual(expect.any(String));
    expect(mux.playbackId).toEqual(expect.any(String));
    expect(mux).toMatchObject({ status: 'ready', aspectRatio: '16:9', error: null });
    expect(mux.durationSeconds).toBe(videoDurationSeconds);
    expect(Date.parse(mux.createdAt ?? '')).not.toBeNaN();
    expect(Date.parse(mux.readyAt ?? '')).not.toBeNaN();
    const muxOrigin = stack.urls.mux as string;
    expect(mux.streamingUrl).toBe(`${muxOrigin}/${mux.playbackId}.m3u8`);
    expect(mux.thumbnailUrl).toBe(`${muxOrigin}/${mux.playbackId}/thumbnail.jpg`);
    expect(mux.mp4Url).toMatch(new RegExp(`^${muxOrigin}/${mux.playbackId}/.+\\.mp4$`));
    // The public policy keeps the stored URLs as they are (above: no token) and the block's shape, saying public.
    expect(mux).toMatchObject({ playbackPolicy: 'public', playbackTokenExpiresAt: null });
    expect(Object.keys(mux).sort()).toEqual([
      'aspectRatio', 'assetId', 'createdAt', 'durationSeconds', 'error', 'mp4Url', 'playbackId', 'playbackPolicy', 'playbackTokenExpiresAt',
      'readyAt', 'status', 'streamingUrl', 'thumbnailUrl', 'uploadId',
    ]);
    for (const url of [mux.streamingUrl, mux.thumbnailUrl, mux.mp4Url]) {
      expect((await fetch(url as string)).status, url as string).toBe(200);
    }
    expect(ready.audio?.enhanced).toBe(true);
    expect(ready.captions?.webvttUrl).toMatch(new RegExp(`^${muxOrigin}/${mux.playbackId}/text/.+\\.vtt$`));
    expect(ready.captions?.transcriptText).toEqual(expect.stringMatching(/\w+/));
    if (ready.captions?.srtUrl) {
      const srt = await (await fetch(ready.captions.srtUrl)).text();
      expect(srt).toMatch(/^1\r?\n\d\d:\d\d:\d\d,\d{3} --> /);
    }
  });

  it('sent exactly one asset to Mux: from the uploaded object, with the video id as passthrough and the options asked', () => {
    const assets = assetsFor(stack, videoId);
    expect(assets).toHaveLength(1);
    const [asset] = assets;
    expect(asset?.id).toBe(ready.mux?.assetId);
    expect(asset?.input.bytes).toBe(bytes.length);
    expect(asset?.request.normalize_audio).toBe(true);
    expect(stack.objectCreated.map((record) => record.eventName)).toContain('ObjectCreated:Put');
  });

  it('lists the video for its owner and not for another user, who cannot read it either', async () => {
    const own = await stack.request<{ videos: VideoJson[]; nextCursor: string | null }>('GET', '/api/videos', { token: alice });
    expect(own.status).toBe(200);
    expect(own.body.videos.map((video) => video.id)).toEqual([videoId]);
    expect(own.body.videos[0]?.status).toBe('ready');

    const other = await stack.request<{ videos: VideoJson[] }>('GET', '/api/videos', { token: bob });
    expect(other.status).toBe(200);
    expect(other.body.videos).toEqual([]);
    expect((await getVideo(stack, bob, videoId)).status).toBe(404);
  });

  it('pages the owner\'s list newest first with a cursor', async () => {
    const second = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Second' }));
    const third = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Third' }));
    const firstPage = await stack.request<{ videos: VideoJson[]; nextCursor: string | null }>('GET', '/api/videos?limit=2', { token: alice });
    expect(firstPage.status).toBe(200);
    expect(firstPage.body.videos.map((video) => video.id)).toEqual([third.video.id, second.video.id]);
    expect(firstPage.body.nextCursor).toEqual(expect.any(String));
    const secondPage = await stack.request<{ videos: VideoJson[]; nextCursor: string | null }>(
      'GET', `/api/videos?limit=2&cursor=${encodeURIComponent(firstPage.body.nextCursor as string)}`, { token: alice },
    );
    expect(secondPage.body.videos.map((video) => video.id)).toEqual([videoId]);
    expect(secondPage.body.nextCursor).toBeNull();
  });

  it('logs every line of every function with its invocation: request id, cold start and X-Ray trace id', async () => {
    await stack.invoke.reconcile();
    const byFunction = new Map<string, typeof stack.logs>();
    for (const line of stack.logs) {
      if (typeof line.function !== 'string') continue;
      byFunction.set(line.function, [...(byFunction.get(line.function) ?? []), line]);
    }
    // The HTTP functions, the queue's and the schedule's: those the upload above went through.
    expect([...byFunction.keys()].sort()).toEqual(expect.arrayContaining(['ingest', 'mux-webhook', 'reconcile', 'uploads', 'videos']));
    for (const [name, lines] of byFunction) {
      for (const line of lines) {
        expect(line, `${name}: ${String(line.event)}`).toMatchObject({
          requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          coldStart: expect.any(Boolean),
          xrayTraceId: expect.stringMatching(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/),
        });
      }
      expect(lines[0]?.coldStart, `${name}'s first invocation is its cold start`).toBe(true);
    }
    // One request id per invocation: each HTTP request of the uploads function logged its own.
    const uploads = byFunction.get('uploads') ?? [];
    const requests = uploads.filter((line) => line.event === 'http.request');
    expect(requests.length).toBeGreaterThanOrEqual(3);
    expect(new Set(requests.map((line) => line.requestId)).size).toBe(requests.length);
  });
});
