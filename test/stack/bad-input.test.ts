/**
 * End to end: every caller mistake is a 4xx with `{ error: { code, message } }` saying what is
 * wrong — malformed JSON, missing fields, wrong types, an oversized size, a non-video type, a non-UUID id, another
 * owner's video — and never a 5xx.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiB } from '../../shared/storage/config.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { createUpload, expectClientError, uploadRequest, videoBytes, type SingleUpload } from './support.js';

const maxUploadBytes = 64 * MiB;

interface BadRequest {
  readonly name: string;
  readonly method: string;
  /** `:own` is replaced by one of alice's videos, `:other` by one of bob's. */
  readonly path: string;
  readonly body?: string;
  readonly json?: unknown;
  readonly status: number;
  readonly code?: string;
  /** Words the message (or the details) must mention, so the caller knows what to fix. */
  readonly mentions?: readonly string[];
}

const valid = { title: 'Fine', filename: 'fine.mp4', contentType: 'video/mp4', size: 1024 };

const badRequests: readonly BadRequest[] = [
  { name: 'malformed JSON', method: 'POST', path: '/api/videos/upload', body: '{"title": "Oops",', status: 400, code: 'malformed_json' },
  { name: 'a JSON array instead of an object', method: 'POST', path: '/api/videos/upload', json: [valid], status: 400, code: 'validation_failed' },
  { name: 'no body at all', method: 'POST', path: '/api/videos/upload', status: 400 },
  { name: 'missing fields', method: 'POST', path: '/api/videos/upload', json: { title: 'Only a title' }, status: 400, code: 'validation_failed', mentions: ['filename', 'contentType', 'size'] },
  { name: 'a size that is a string', method: 'POST', path: '/api/videos/upload', json: { ...valid, size: 'big' }, status: 400, code: 'validation_failed', mentions: ['size'] },
  { name: 'a title that is a number', method: 'POST', path: '/api/videos/upload', json: { ...valid, title: 42 }, status: 400, code: 'validation_failed', mentions: ['title'] },
  { name: 'a negative size', method: 'POST', path: '/api/videos/upload', json: { ...valid, size: -5 }, status: 400, code: 'validation_failed', mentions: ['size'] },
  { name: 'a fractional size', method: 'POST', path: '/api/videos/upload', json: { ...valid, size: 10.5 }, status: 400, code: 'validation_failed', mentions: ['size'] },
  { name: 'options of the wrong type', method: 'POST', path: '/api/videos/upload', json: { ...valid, options: { captions: 'yes' } }, status: 400, code: 'validation_failed', mentions: ['captions'] },
  { name: 'an unknown field', method: 'POST', path: '/api/videos/upload', json: { ...valid, ownerId: 'someone-else' }, status: 400, code: 'validation_failed', mentions: ['ownerId'] },
  { name: 'a size over the configured maximum', method: 'POST', path: '/api/videos/upload', json: { ...valid, size: maxUploadBytes + 1 }, status: 413, code: 'payload_too_large' },
  { name: 'a non-video content type', method: 'POST', path: '/api/videos/upload', json: { ...valid, filename: 'slides.pdf', contentType: 'application/pdf' }, status: 415, code: 'unsupported_media_type', mentions: ['application/pdf'] },
  { name: 'a non-UUID id (read)', method: 'GET', path: '/api/videos/not-a-uuid', status: 400, code: 'validation_failed', mentions: ['UUID'] },
  { name: 'a non-UUID id (sign parts)', method: 'POST', path: '/api/videos/1234/upload/parts', json: { partNumbers: [1] }, status: 400, code: 'validation_failed', mentions: ['UUID'] },
  { name: 'a non-UUID id (abort)', method: 'DELETE', path: "/api/videos/'%20OR%201=1/upload", status: 400, code: 'validation_failed' },
  { name: 'an unknown id', method: 'GET', path: `/api/videos/${randomUUID()}`, status: 404, code: 'not_found' },
  { name: "another owner's id (read)", method: 'GET', path: '/api/videos/:other', status: 404, code: 'not_found' },
  { name: "another owner's id (sign parts)", method: 'POST', path: '/api/videos/:other/upload/parts', json: { partNumbers: [1] }, status: 404, code: 'not_found' },
  { name: "another owner's id (list parts)", method: 'GET', path: '/api/videos/:other/upload/parts', status: 404, code: 'not_found' },
  { name: "another owner's id (complete)", method: 'POST', path: '/api/videos/:other/upload/complete', json: { parts: [{ partNumber: 1, etag: '"abc"' }] }, status: 404, code: 'not_found' },
  { name: "another owner's id (abort)", method: 'DELETE', path: '/api/videos/:other/upload', status: 404, code: 'not_found' },
  { name: 'part numbers out of range', method: 'POST', path: '/api/videos/:own/upload/parts', json: { partNumbers: [0, 10_001] }, status: 400, code: 'validation_failed', mentions: ['partNumbers'] },
  { name: 'more than 1,000 part numbers at once', method: 'POST', path: '/api/videos/:own/upload/parts', json: { partNumbers: Array.from({ length: 1001 }, (_, index) => index + 1) }, status: 400, code: 'validation_failed' },
  { name: 'complete without parts', method: 'POST', path: '/api/videos/:own/upload/complete', json: {}, status: 400, code: 'validation_failed', mentions: ['parts'] },
  { name: 'a list limit that is not a number', method: 'GET', path: '/api/videos?limit=lots', status: 400, code: 'validation_failed', mentions: ['limit'] },
  { name: 'a forged list cursor', method: 'GET', path: '/api/videos?cursor=not-a-cursor', status: 400, code: 'validation_failed', mentions: ['cursor'] },
];

describe('bad input through the local stack', () => {
  let stack: TestStack;
  let alice: string;
  let bob: string;
  let ownVideo: string;
  let otherVideo: string;

  beforeAll(async () => {
    stack = await startTestStack({ lambdaEnv: { MAX_UPLOAD_BYTES: String(maxUploadBytes) } });
    [alice, bob] = await Promise.all([stack.tokens.mint(`alice-${randomUUID()}`), stack.tokens.mint(`bob-${randomUUID()}`)]);
    const bytes = videoBytes(4096);
    ownVideo = (await createUpload(stack, alice, uploadRequest(bytes))).video.id;
    otherVideo = (await createUpload(stack, bob, uploadRequest(bytes))).video.id;
  });
  afterAll(() => stack?.dispose());

  it.each(badRequests)('answers $name with $status', async (bad) => {
    const path = bad.path.replace(':own', ownVideo).replace(':other', otherVideo);
    const response = await stack.request(bad.method, path, {
      token: alice,
      ...(bad.body !== undefined && { body: bad.body }),
      ...(bad.json !== undefined && { json: bad.json }),
    });
    const error = expectClientError(response, bad.status, bad.code);
    for (const word of bad.mentions ?? []) expect(JSON.stringify(error), response.text).toContain(word);
  });

  it("never lets a failed request touch another owner's video", async () => {
    const otherOwner = await stack.request<{ video: { status: string } }>('GET', `/api/videos/${otherVideo}`, { token: bob });
    expect(otherOwner.body.video.status).toBe('awaiting_upload');
  });

  it('refuses multipart calls on a single-PUT upload with a 4xx, not a 5xx', async () => {
    const created = await createUpload(stack, alice, uploadRequest(videoBytes(2048)));
    expect((created.upload as SingleUpload).mode).toBe('single');
    for (const [method, suffix, json] of [
      ['POST', 'upload/parts', { partNumbers: [1] }],
      ['GET', 'upload/parts', undefined],
      ['POST', 'upload/complete', { parts: [{ partNumber: 1, etag: '"abc"' }] }],
    ] as const) {
      const response = await stack.request(method, `/api/videos/${created.video.id}/${suffix}`, { token: alice, ...(json && { json }) });
      expect(response.status, `${method} ${suffix}: ${response.text}`).toBeGreaterThanOrEqual(400);
      expect(response.status, `${method} ${suffix}: ${response.text}`).toBeLessThan(500);
    }
  });

  it('answers requests without a valid token with 401 before any function runs', async () => {
    expect((await stack.request('GET', '/api/videos')).status).toBe(401);
    expect((await stack.request('POST', '/api/videos/upload', { json: valid, token: 'not.a.jwt' })).status).toBe(401);
  });
});
