/**
 * An upload URL writes once: the single-PUT URL is signed with `If-None-Match: *` and the multipart completion sends
 * it, so nothing can overwrite the source of a video once it is there; cancelling a video seals its key, so its URL
 * cannot store a file afterwards, nor while a PUT is already on its way.
 */
import { PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/uploads/handler.js';
import type { HttpHandler } from '../../shared/http/index.js';
import { silentLogger } from '../../shared/log.js';
import { MiB } from '../../shared/storage/config.js';
import { UploadStorage, type SinglePutUpload } from '../../shared/storage/uploads.js';
import { patternBytes } from '../storage/local-s3.js';
import { backends } from '../support/databases.js';
import { startSinglePut } from '../stack/support.js';
import { alice, call, openRouteStack, type RouteStack } from './video-routes-support.js';

const create = 'POST /api/videos/upload';
const complete = 'POST /api/videos/{id}/upload/complete';
const abort = 'DELETE /api/videos/{id}/upload';
const small = { title: 'Launch demo', filename: 'demo.mp4', contentType: 'video/mp4', size: 4096 };

/** PUTs with the signed headers, as a browser does (content-length comes from the body). */
function put(upload: SinglePutUpload, bytes: Uint8Array): Promise<Response> {
  const { 'content-length': _length, ...headers } = upload.headers;
  return fetch(upload.url, { method: 'PUT', headers, body: new Uint8Array(bytes) });
}

describe.each(backends)('upload URLs write once, on %s', (backend) => {
  let stack: RouteStack;
  let handler: HttpHandler;
  let storage: UploadStorage;

  // One stack per backend: every test works on its own videos.
  beforeAll(async () => {
    stack = await openRouteStack(backend, { env: { MULTIPART_THRESHOLD_BYTES: String(5 * MiB), MAX_UPLOAD_BYTES: String(64 * MiB) } });
    handler = await createHandler(stack.env, { driver: stack.db.driver, logger: silentLogger });
    storage = new UploadStorage({ client: stack.s3.client, bucket: stack.s3.bucket, prefix: 'uploads/', urlTtlSeconds: 600 });
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  const status = async (id: string) => (await stack.db.driver.execute<{ status: string }>('SELECT status FROM videos WHERE id = :id', { id })).rows[0]?.status;
  const keyOf = (id: string) => `uploads/${id}/source.mp4`;
  const downloaded = async (key: string) => {
    const { url } = await storage.presignGet({ key, ttlSeconds: 60 });
    return new Uint8Array(await (await fetch(url)).arrayBuffer());
  };

  it('lists If-None-Match among the signed headers the client must send', async () => {
    const { upload } = (await call(handler, { routeKey: create, as: alice, body: small })).body;
    expect(upload.headers).toMatchObject({ 'if-none-match': '*' });
    expect(new URL(upload.url).searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('if-none-match');
  });

  it('a replayed PUT after the upload finished is a 412, and the object keeps its bytes', async () => {
    const { video, upload } = (await call(handler, { routeKey: create, as: alice, body: small, headers: { 'idempotency-key': 'replayed-put' } })).body;
    const original = patternBytes(4096, 1);
    expect((await put(upload, original)).status).toBe(200);
    // The same URL, and a fresh one from a retried create (the row still says awaiting_upload until ingest runs).
    const retried = (await call(handler, { routeKey: create, as: alice, body: small, headers: { 'idempotency-key': 'replayed-put' } })).body.upload;
    for (const url of [upload, retried]) expect((await put(url, patternBytes(4096, 9))).status).toBe(412);
    expect(await downloaded(keyOf(video.id))).toEqual(original);
  });

  it('a PUT after DELETE …/upload is refused (412), and none of its bytes are stored', async () => {
    const { video, upload } = (await call(handler, { routeKey: create, as: alice, body: small })).body;
    expect((await call(handler, { routeKey: abort, id: video.id, as: alice })).status).toBe(204);
    expect((await put(upload, patternBytes(4096))).status).toBe(412);
    expect(await status(video.id)).toBe('cancelled');
    // What the key holds is the cancel's empty marker, not the file.
    expect(await storage.headObject(keyOf(video.id))).toMatchObject({ size: 0, metadata: { 'reelay-sealed': 'cancelled' } });
  });

  it('a PUT already on its way when DELETE …/upload lands is refused when it finishes', async () => {
    const { video, upload } = (await call(handler, { routeKey: create, as: alice, body: small })).body;
    const inFlight = startSinglePut(upload, patternBytes(4096));
    expect((await call(handler, { routeKey: abort, id: video.id, as: alice })).status).toBe(204);
    expect(await inFlight.finish()).toBe(412);
    expect((await storage.headObject(keyOf(video.id)))?.size).toBe(0);
  });

  it('an upload that landed just before the cancel (not yet ingested) is replaced by the marker', async () => {
    const { video, upload } = (await call(handler, { routeKey: create, as: alice, body: small })).body;
    expect((await put(upload, patternBytes(4096))).status).toBe(200);
    expect((await call(handler, { routeKey: abort, id: video.id, as: alice })).status).toBe(204);
    expect(await storage.headObject(keyOf(video.id))).toMatchObject({ size: 0, metadata: { 'reelay-sealed': 'cancelled' } });
    // Repeating the cancel changes nothing.
    expect((await call(handler, { routeKey: abort, id: video.id, as: alice })).status).toBe(204);
    expect((await storage.headObject(keyOf(video.id)))?.size).toBe(0);
  });

  it('a multipart completion after another write of its key is a 409, and the object is left as it was', async () => {
    const { video, upload } = (await call(handler, { routeKey: create, as: alice, body: { ...small, size: 6 * MiB } })).body;
    const key = `uploads/${video.id}/source.mp4`;
    // One 6 MiB part (parts are 8 MiB).
    const { ETag } = await stack.s3.client.send(new UploadPartCommand({ Bucket: stack.s3.bucket, Key: key, UploadId: upload.uploadId, PartNumber: 1, Body: patternBytes(6 * MiB) }));
    const parts = [{ partNumber: 1, etag: ETag }];
    await stack.s3.client.send(new PutObjectCommand({ Bucket: stack.s3.bucket, Key: key, Body: 'written by someone else' }));
    const answer = await call(handler, { routeKey: complete, id: video.id, as: alice, body: { parts } });
    expect(answer.status).toBe(409);
    expect(answer.body.error.message).toMatch(/already holds an object/);
    expect(await storage.headObject(key)).toMatchObject({ size: 'written by someone else'.length });
    expect(await status(video.id)).toBe('awaiting_upload');
  });
});
