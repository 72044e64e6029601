/**
 * End to end: a file over the multipart threshold (lowered to S3's 5 MiB minimum so the file
 * stays small) is uploaded in parts — more parts signed on request, uploaded parts listed for resume, completed — and
 * becomes `ready`; an aborted multipart upload leaves the video `cancelled`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiB } from '../../shared/storage/config.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import {
  asBody,
  assetsFor,
  createUpload,
  getVideo,
  isReady,
  partBytes,
  putPart,
  uploadRequest,
  videoBytes,
  videoDurationSeconds,
  waitForVideo,
  type MultipartUpload,
  type SignedPart,
  type VideoJson,
} from './support.js';

describe('a multipart upload through the local stack', () => {
  let stack: TestStack;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    stack = await startTestStack({ lambdaEnv: { MULTIPART_THRESHOLD_BYTES: String(5 * MiB) } });
    [alice, bob] = await Promise.all([stack.tokens.mint(`alice-${randomUUID()}`), stack.tokens.mint(`bob-${randomUUID()}`)]);
  });
  afterAll(() => stack?.dispose());

  it('creates, signs more parts, uploads, lists the parts, completes, and reaches ready', async () => {
    const bytes = videoBytes(17 * MiB);
    const created = await createUpload(stack, alice, uploadRequest(bytes, { filename: 'long-take.mov', contentType: 'video/quicktime' }));
    const upload = created.upload as MultipartUpload;
    expect(upload.mode).toBe('multipart');
    expect(upload.uploadId).toEqual(expect.any(String));
    expect(upload.partCount).toBe(Math.ceil(bytes.length / upload.partSize));
    expect(upload.partCount).toBeGreaterThan(1);
    expect(upload.parts.length).toBeGreaterThan(0);
    expect(upload.parts[0]?.partNumber).toBe(1);
    const id = created.video.id;

    // Sign every part again on request (a client resuming, or one that was given only a first batch).
    const wanted = Array.from({ length: upload.partCount }, (_, index) => index + 1);
    const signed = await stack.request<{ parts: SignedPart[] }>('POST', `/api/videos/${id}/upload/parts`, { token: alice, json: { partNumbers: wanted } });
    expect(signed.status, signed.text).toBe(200);
    expect(signed.body.parts.map((part) => part.partNumber)).toEqual(wanted);

    // Another user can neither sign nor list this upload's parts.
    expect((await stack.request('POST', `/api/videos/${id}/upload/parts`, { token: bob, json: { partNumbers: [1] } })).status).toBe(404);
    expect((await stack.request('GET', `/api/videos/${id}/upload/parts`, { token: bob })).status).toBe(404);

    const etags: Array<{ partNumber: number; etag: string }> = [];
    for (const part of signed.body.parts.slice(0, -1)) {
      etags.push({ partNumber: part.partNumber, etag: await putPart(part, partBytes(bytes, upload, part.partNumber)) });
    }
    const listedBefore = await stack.request<{ parts: Array<{ partNumber: number; etag: string; size: number }> }>('GET', `/api/videos/${id}/upload/parts`, { token: alice });
    expect(listedBefore.status, listedBefore.text).toBe(200);
    expect(listedBefore.body.parts.map((part) => part.partNumber)).toEqual(etags.map((part) => part.partNumber));
    expect(listedBefore.body.parts.every((part) => part.size === upload.partSize)).toBe(true);

    const last = signed.body.parts.at(-1) as SignedPart;
    etags.push({ partNumber: last.partNumber, etag: await putPart(last, partBytes(bytes, upload, last.partNumber)) });
    const listed = await stack.request<{ parts: Array<{ partNumber: number; etag: string }> }>('GET', `/api/videos/${id}/upload/parts`, { token: alice });
    expect(listed.body.parts.map((part) => part.partNumber)).toEqual(wanted);

    const completed = await stack.request<{ video: VideoJson }>('POST', `/api/videos/${id}/upload/complete`, { token: alice, json: { parts: etags } });
    expect(completed.status, completed.text).toBe(200);
    expect(completed.body.video.id).toBe(id);
    expect(['uploaded', 'processing', 'ready']).toContain(completed.body.video.status);

    const ready = await waitForVideo(stack, alice, id, isReady);
    expect(ready.mux?.durationSeconds).toBe(videoDurationSeconds);
    const assets = assetsFor(stack, id);
    expect(assets).toHaveLength(1);
    // Mux fetched the whole assembled object.
    expect(assets[0]?.input.bytes).toBe(bytes.length);
    expect(stack.objectCreated.map((record) => record.eventName)).toContain('ObjectCreated:CompleteMultipartUpload');
  });

  it('refuses to complete with a part list that does not match what was uploaded, with a 4xx', async () => {
    const bytes = videoBytes(11 * MiB);
    const created = await createUpload(stack, alice, uploadRequest(bytes));
    const upload = created.upload as MultipartUpload;
    const first = upload.parts[0] as SignedPart;
    const etag = await putPart(first, partBytes(bytes, upload, 1));
    const completed = await stack.request('POST', `/api/videos/${created.video.id}/upload/complete`, {
      token: alice,
      json: { parts: [{ partNumber: 1, etag }, { partNumber: 2, etag: '"0123456789abcdef0123456789abcdef"' }] },
    });
    expect(completed.status, completed.text).toBeGreaterThanOrEqual(400);
    expect(completed.status, completed.text).toBeLessThan(500);
    expect((await getVideo(stack, alice, created.video.id)).body.video.status).toBe('awaiting_upload');
  });

  it('aborts: the upload is gone from S3 and the video is cancelled, and never sent to Mux', async () => {
    const bytes = videoBytes(11 * MiB);
    const created = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Changed my mind' }));
    const upload = created.upload as MultipartUpload;
    const id = created.video.id;
    const signed = await stack.request<{ parts: SignedPart[] }>('POST', `/api/videos/${id}/upload/parts`, { token: alice, json: { partNumbers: [1, 2] } });
    const [partOne, partTwo] = signed.body.parts as [SignedPart, SignedPart];
    await putPart(partOne, partBytes(bytes, upload, 1));

    expect((await stack.request('DELETE', `/api/videos/${id}/upload`, { token: bob })).status).toBe(404);
    const aborted = await stack.request('DELETE', `/api/videos/${id}/upload`, { token: alice });
    expect(aborted.status, aborted.text).toBe(204);

    const video = await getVideo(stack, alice, id);
    expect(video.body.video.status).toBe('cancelled');
    // The parts are gone: S3 no longer knows the upload, so a late part is refused.
    const latePart = await fetch(partTwo.url, { method: 'PUT', body: asBody(partBytes(bytes, upload, 2)) });
    expect(latePart.status).toBe(404);
    const parts = await stack.request('GET', `/api/videos/${id}/upload/parts`, { token: alice });
    expect(parts.status, parts.text).toBeGreaterThanOrEqual(400);
    expect(parts.status, parts.text).toBeLessThan(500);
    await stack.idle();
    expect(assetsFor(stack, id)).toEqual([]);
  });
});
