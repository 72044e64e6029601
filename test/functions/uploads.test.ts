import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHandler, uploadRoutes } from '../../functions/uploads/handler.js';
import type { HttpHandler } from '../../shared/http/index.js';
import { silentLogger } from '../../shared/log.js';
import { recordingPublisher } from '../support/events.js';
import { MiB, storageConfigFromEnv } from '../../shared/storage/config.js';
import { VideoDB } from '../../shared/db/video-db.js';
import { UploadStorage } from '../../shared/storage/uploads.js';
import { ingestOptionsFromMetadata } from '../../shared/videos/ingest-options.js';
import { UploadService } from '../../shared/videos/upload-service.js';
import { muxColumnNames } from '../../shared/db/schema.js';
import { patternBytes } from '../storage/local-s3.js';
import { backends } from '../support/databases.js';
import { startDataApi, type StartedDataApi } from '../support/data-api.js';
import {
  admin,
  alice,
  bob,
  call,
  countVideos,
  manifestRouteKeys,
  openMultipartUploads,
  openRouteStack,
  otherFunctionsRouteKeys,
  type RouteStack,
} from './video-routes-support.js';

const create = 'POST /api/videos/upload';
const signParts = 'POST /api/videos/{id}/upload/parts';
const listParts = 'GET /api/videos/{id}/upload/parts';
const complete = 'POST /api/videos/{id}/upload/complete';
const abort = 'DELETE /api/videos/{id}/upload';

/** 5 MiB is the lowest threshold allowed; with 8 MiB parts, 17 MiB is a three-part upload. */
const thresholdEnv = { MULTIPART_THRESHOLD_BYTES: String(5 * MiB), MAX_UPLOAD_BYTES: String(64 * MiB) };
const multipartSize = 17 * MiB;

const smallVideo = { title: 'Launch demo', description: 'first cut', filename: 'demo.mp4', contentType: 'video/mp4', size: 4096 };
const largeVideo = { ...smallVideo, title: 'Keynote', filename: 'keynote.mov', contentType: 'video/quicktime', size: multipartSize };

async function putBytes(url: string, bytes: Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  // fetch computes content-length from the body, as a browser does; the signed value must match it.
  const sent = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'content-length'));
  return fetch(url, { method: 'PUT', headers: sent, body: new Uint8Array(bytes) });
}

describe.each(backends)('uploads function on %s', (backend) => {
  let stack: RouteStack;
  let handler: HttpHandler;
  let storage: UploadStorage;

  async function start(options: { schemaVersion?: number } = {}): Promise<void> {
    stack = await openRouteStack(backend, { ...options, env: thresholdEnv });
    handler = await createHandler(stack.env, { driver: stack.db.driver, logger: silentLogger, initialPartBatch: 1 });
    storage = new UploadStorage({ client: stack.s3.client, bucket: stack.s3.bucket, prefix: 'uploads/', urlTtlSeconds: 600 });
  }

  afterEach(async () => {
    await stack?.dispose();
  });

  describe('on the latest schema', () => {
    beforeEach(() => start());

    it('serves exactly the routes functions/routes.json gives it, each behind the JWT', async () => {
      const service = new UploadService({ videos: new VideoDB({ executor: stack.db.driver }), storage, config: storageConfigFromEnv(stack.env) });
      expect(Object.keys(uploadRoutes(service)).sort()).toEqual(manifestRouteKeys('uploads'));
      for (const routeKey of manifestRouteKeys('uploads')) {
        const answer = await call(handler, { routeKey, id: randomUUID(), body: {} });
        expect(answer.status, routeKey).toBe(401);
      }
      for (const routeKey of otherFunctionsRouteKeys('uploads')) {
        const answer = await call(handler, { routeKey, as: alice });
        expect(answer.status, routeKey).toBe(404);
        expect(answer.body.error.message).toContain('No route');
      }
    });

    it('single upload: create → PUT the bytes with the returned headers → the object exists with the ingest options', async () => {
      const created = await call(handler, { routeKey: create, as: alice, body: { ...smallVideo, options: { captions: true, mp4: true } } });
      expect(created.status).toBe(201);
      const { video, upload, schema } = created.body;
      expect(video).toMatchObject({
        title: 'Launch demo',
        description: 'first cut',
        status: 'awaiting_upload',
        filename: 'demo.mp4',
        contentType: 'video/mp4',
        size: 4096,
        mux: { status: 'pending', assetId: null },
      });
      expect(schema).toEqual({ muxColumns: { present: true, missing: [] }, usedFallback: false });
      expect(upload).toMatchObject({ mode: 'single', method: 'PUT', headers: { 'content-type': 'video/mp4', 'content-length': '4096' } });
      expect(Date.parse(upload.expiresAt)).toBeGreaterThan(Date.now());
      expect(upload.headers['x-amz-meta-reelay-options']).toBeDefined();

      const bytes = patternBytes(4096);
      expect((await putBytes(upload.url, bytes, upload.headers)).status).toBe(200);
      const key = `uploads/${video.id}/source.mp4`;
      const object = await storage.headObject(key);
      expect(object).toMatchObject({ key, size: 4096, contentType: 'video/mp4' });
      expect(ingestOptionsFromMetadata(object?.metadata)).toEqual({ captions: true, normalizeAudio: false, mp4: true });
    });

    it('single upload: the URL refuses a PUT without the signed metadata header, or of another size', async () => {
      const { upload } = (await call(handler, { routeKey: create, as: alice, body: smallVideo })).body;
      const { 'x-amz-meta-reelay-options': _options, ...withoutMetadata } = upload.headers;
      expect((await putBytes(upload.url, patternBytes(4096), withoutMetadata)).status).toBe(403);
      expect((await putBytes(upload.url, patternBytes(4095), upload.headers)).status).toBe(403);
    });

    it('multipart: create, sign more parts, upload, list parts, complete → uploaded; a second complete is a 409', async () => {
      const created = await call(handler, { routeKey: create, as: alice, body: { ...largeVideo, options: { normalizeAudio: true } } });
      expect(created.status).toBe(201);
      const { video, upload } = created.body;
      expect(upload).toMatchObject({ mode: 'multipart', partSize: 8 * MiB, partCount: 3 });
      expect(typeof upload.uploadId).toBe('string');
      expect(upload.parts.map((part: { partNumber: number }) => part.partNumber)).toEqual([1]);

      const more = await call(handler, { routeKey: signParts, id: video.id, as: alice, body: { partNumbers: [2, 3] } });
      expect(more.status).toBe(200);
      expect(more.body.parts.map((part: { partNumber: number; size: number }) => [part.partNumber, part.size])).toEqual([[2, 8 * MiB], [3, MiB]]);

      const bytes = patternBytes(multipartSize);
      const urls = [...upload.parts, ...more.body.parts] as { partNumber: number; url: string; size: number }[];
      const etags: { partNumber: number; etag: string }[] = [];
      for (const part of urls) {
        const offset = (part.partNumber - 1) * 8 * MiB;
        const response = await putBytes(part.url, bytes.subarray(offset, offset + part.size));
        expect(response.status).toBe(200);
        etags.push({ partNumber: part.partNumber, etag: response.headers.get('etag') ?? '' });
      }

      const listed = await call(handler, { routeKey: listParts, id: video.id, as: alice });
      expect(listed.status).toBe(200);
      expect(listed.body).toMatchObject({ uploadId: upload.uploadId, partSize: 8 * MiB, partCount: 3 });
      expect(listed.body.parts.map((part: { partNumber: number; etag: string; size: number }) => [part.partNumber, part.etag, part.size]))
        .toEqual(etags.map((part, index) => [part.partNumber, part.etag, urls[index]?.size]));

      const completed = await call(handler, { routeKey: complete, id: video.id, as: alice, body: { parts: etags } });
      expect(completed.status).toBe(200);
      expect(completed.body.video).toMatchObject({ id: video.id, status: 'uploaded' });
      const object = await storage.headObject(`uploads/${video.id}/source.mov`);
      expect(object).toMatchObject({ size: multipartSize, contentType: 'video/quicktime' });
      expect(ingestOptionsFromMetadata(object?.metadata)).toEqual({ captions: false, normalizeAudio: true, mp4: false });
      const row = await stack.db.driver.execute('SELECT status, s3_upload_id FROM videos WHERE id = :id', { id: video.id });
      expect(row.rows[0]).toEqual({ status: 'uploaded', s3_upload_id: null });

      const again = await call(handler, { routeKey: complete, id: video.id, as: alice, body: { parts: etags } });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('conflict');
      expect((await call(handler, { routeKey: signParts, id: video.id, as: alice, body: { partNumbers: [1] } })).status).toBe(409);
    });

    it('multipart: completing without every part is a 400 and leaves the upload open', async () => {
      const { video, upload } = (await call(handler, { routeKey: create, as: alice, body: largeVideo })).body;
      const first = await putBytes(upload.parts[0].url, patternBytes(8 * MiB));
      const answer = await call(handler, { routeKey: complete, id: video.id, as: alice, body: { parts: [{ partNumber: 1, etag: first.headers.get('etag') }] } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('validation_failed');
      expect((await call(handler, { routeKey: listParts, id: video.id, as: alice })).body.parts).toHaveLength(1);
    });

    it('abort: the multipart upload is aborted in S3 and the video is cancelled; repeating it is harmless', async () => {
      const { video } = (await call(handler, { routeKey: create, as: alice, body: largeVideo })).body;
      expect(await openMultipartUploads(stack.s3)).toHaveLength(1);
      const aborted = await call(handler, { routeKey: abort, id: video.id, as: alice });
      expect(aborted.status).toBe(204);
      expect(aborted.body).toBeUndefined();
      expect(await openMultipartUploads(stack.s3)).toEqual([]);
      const row = await stack.db.driver.execute('SELECT status, s3_upload_id FROM videos WHERE id = :id', { id: video.id });
      expect(row.rows[0]).toEqual({ status: 'cancelled', s3_upload_id: null });
      expect((await call(handler, { routeKey: abort, id: video.id, as: alice })).status).toBe(204);
      expect((await call(handler, { routeKey: listParts, id: video.id, as: alice })).status).toBe(409);
      expect((await call(handler, { routeKey: complete, id: video.id, as: alice, body: { parts: [{ partNumber: 1, etag: 'x' }] } })).status).toBe(409);
    });

    it('abort: a single-PUT video still awaiting its upload is cancelled; an uploaded one cannot be', async () => {
      const pending = (await call(handler, { routeKey: create, as: alice, body: smallVideo })).body.video;
      expect((await call(handler, { routeKey: abort, id: pending.id, as: alice })).status).toBe(204);
      const status = await stack.db.driver.execute('SELECT status FROM videos WHERE id = :id', { id: pending.id });
      expect(status.rows[0]?.status).toBe('cancelled');

      const { video, upload } = (await call(handler, { routeKey: create, as: alice, body: largeVideo })).body;
      const more = (await call(handler, { routeKey: signParts, id: video.id, as: alice, body: { partNumbers: [2, 3] } })).body.parts;
      const bytes = patternBytes(multipartSize);
      const parts = [];
      for (const part of [...upload.parts, ...more]) {
        const offset = (part.partNumber - 1) * 8 * MiB;
        const response = await putBytes(part.url, bytes.subarray(offset, offset + part.size));
        parts.push({ partNumber: part.partNumber, etag: response.headers.get('etag') });
      }
      expect((await call(handler, { routeKey: complete, id: video.id, as: alice, body: { parts } })).status).toBe(200);
      const refused = await call(handler, { routeKey: abort, id: video.id, as: alice });
      expect(refused.status).toBe(409);
    });

    it("another owner's video is a 404 on every route, exactly like a missing one; admins may act on it", async () => {
      const { video } = (await call(handler, { routeKey: create, as: alice, body: largeVideo })).body;
      const missing = randomUUID();
      const attempts = [
        { routeKey: signParts, body: { partNumbers: [1] } },
        { routeKey: listParts },
        { routeKey: complete, body: { parts: [{ partNumber: 1, etag: '"x"' }] } },
        { routeKey: abort },
      ];
      for (const attempt of attempts) {
        const foreign = await call(handler, { ...attempt, id: video.id, as: bob });
        const absent = await call(handler, { ...attempt, id: missing, as: bob });
        expect(foreign.status, attempt.routeKey).toBe(404);
        expect(foreign.body.error.code).toBe('not_found');
        expect(foreign.body.error.message.replace(video.id, '<id>')).toBe(absent.body.error.message.replace(missing, '<id>'));
      }
      expect((await call(handler, { routeKey: listParts, id: video.id, as: admin })).status).toBe(200);
      const status = await stack.db.driver.execute('SELECT status FROM videos WHERE id = :id', { id: video.id });
      expect(status.rows[0]?.status).toBe('awaiting_upload');
    });

    it('a non-UUID id is a 400 naming the parameter', async () => {
      for (const routeKey of [signParts, listParts, complete, abort]) {
        const answer = await call(handler, { routeKey, id: 'not-a-uuid', as: alice, body: { partNumbers: [1], parts: [] } });
        expect(answer.status, routeKey).toBe(400);
        expect(answer.body.error).toMatchObject({ code: 'validation_failed', details: [{ path: ['id'], message: 'must be a UUID' }] });
      }
    });

    it('bad input is a 4xx with { error: { code, message, details? } } and writes nothing', async () => {
      const cases: { body: unknown; status: number; code: string; path?: (string | number)[] }[] = [
        { body: '{"title": "x",', status: 400, code: 'malformed_json' },
        { body: { ...smallVideo, title: undefined }, status: 400, code: 'validation_failed', path: ['title'] },
        { body: { ...smallVideo, title: '   ' }, status: 400, code: 'validation_failed', path: ['title'] },
        { body: { ...smallVideo, title: 't'.repeat(201) }, status: 400, code: 'validation_failed', path: ['title'] },
        { body: { ...smallVideo, description: 'd'.repeat(5001) }, status: 400, code: 'validation_failed', path: ['description'] },
        { body: { ...smallVideo, filename: '' }, status: 400, code: 'validation_failed', path: ['filename'] },
        { body: { ...smallVideo, size: '4096' }, status: 400, code: 'validation_failed', path: ['size'] },
        { body: { ...smallVideo, size: 1.5 }, status: 400, code: 'validation_failed', path: ['size'] },
        { body: { ...smallVideo, size: 0 }, status: 400, code: 'validation_failed', path: ['size'] },
        { body: { ...smallVideo, options: { captions: 'yes' } }, status: 400, code: 'validation_failed', path: ['options', 'captions'] },
        { body: { ...smallVideo, options: { subtitles: true } }, status: 400, code: 'validation_failed', path: ['options'] },
        { body: { ...smallVideo, owner: 'mallory' }, status: 400, code: 'validation_failed', path: [] },
        { body: [smallVideo], status: 400, code: 'validation_failed' },
        { body: { ...smallVideo, size: 64 * MiB + 1 }, status: 413, code: 'payload_too_large' },
        { body: { ...smallVideo, contentType: 'image/png' }, status: 415, code: 'unsupported_media_type' },
        { body: { ...smallVideo, contentType: 'text/html; charset=utf-8' }, status: 415, code: 'unsupported_media_type' },
      ];
      for (const [index, testCase] of cases.entries()) {
        const answer = await call(handler, { routeKey: create, as: alice, body: testCase.body });
        expect(answer.status, `case ${index}`).toBe(testCase.status);
        expect(answer.body.error).toMatchObject({ code: testCase.code, message: expect.any(String) });
        expect(answer.body.error.message.length, `case ${index}`).toBeGreaterThan(0);
        if (testCase.path) expect(answer.body.error.details, `case ${index}`).toContainEqual(expect.objectContaining({ path: testCase.path }));
      }
      expect(await countVideos(stack.db.driver)).toBe(0);
      expect(await openMultipartUploads(stack.s3)).toBeUndefined();
    });

    it('bad part lists are 400s: more than 1,000 numbers, duplicates, out of range, wrong types, unknown keys', async () => {
      const { video } = (await call(handler, { routeKey: create, as: alice, body: largeVideo })).body;
      const bodies: unknown[] = [
        { partNumbers: Array.from({ length: 1001 }, (_, index) => index + 1) },
        { partNumbers: [1, 1] },
        { partNumbers: [0] },
        { partNumbers: [10_001] },
        { partNumbers: [4] },
        { partNumbers: ['1'] },
        { partNumbers: [] },
        { partNumbers: [1], extra: true },
      ];
      for (const body of bodies) {
        const answer = await call(handler, { routeKey: signParts, id: video.id, as: alice, body });
        expect(answer.status, JSON.stringify(body).slice(0, 60)).toBe(400);
        expect(answer.body.error.code).toBe('validation_failed');
      }
      for (const parts of [[{ partNumber: 1 }], [{ partNumber: 1, etag: 'a' }, { partNumber: 1, etag: 'b' }], [{ partNumber: 1, etag: 'a', size: 3 }]]) {
        const answer = await call(handler, { routeKey: complete, id: video.id, as: alice, body: { parts } });
        expect(answer.status).toBe(400);
      }
    });

    it('a failed row write aborts the multipart upload it had opened', async () => {
      await stack.db.driver.execute('ALTER TABLE videos RENAME TO videos_elsewhere');
      const answer = await call(handler, { routeKey: create, as: alice, body: largeVideo });
      expect(answer.status).toBe(500);
      expect(answer.body.error.code).toBe('internal_error');
      // Started (s3rver made its uploads folder) and aborted again.
      expect(await openMultipartUploads(stack.s3)).toEqual([]);
    });
  });

  describe('on the legacy schema (0001)', () => {
    beforeEach(() => start({ schemaVersion: 1 }));

    it('still creates uploads, reports the fallback and the missing columns, and keeps the options in S3', async () => {
      const single = await call(handler, { routeKey: create, as: alice, body: { ...smallVideo, options: { captions: true } } });
      expect(single.status).toBe(201);
      expect(single.body.schema).toEqual({ muxColumns: { present: false, missing: [...muxColumnNames] }, usedFallback: true });
      expect(single.body.video).toMatchObject({ status: 'awaiting_upload', mux: null, audio: null, captions: null });
      const { upload, video } = single.body;
      expect((await putBytes(upload.url, patternBytes(4096), upload.headers)).status).toBe(200);
      const object = await storage.headObject(`uploads/${video.id}/source.mp4`);
      expect(ingestOptionsFromMetadata(object?.metadata)).toEqual({ captions: true, normalizeAudio: false, mp4: false });

      const multipart = await call(handler, { routeKey: create, as: alice, body: { ...largeVideo, options: { mp4: true } } });
      expect(multipart.status).toBe(201);
      expect(multipart.body.schema.usedFallback).toBe(true);
      expect(multipart.body.upload).toMatchObject({ mode: 'multipart', partCount: 3 });
      expect(await countVideos(stack.db.driver)).toBe(2);
      const aborted = await call(handler, { routeKey: abort, id: multipart.body.video.id, as: alice });
      expect(aborted.status).toBe(204);
    });
  });
});

describe.each(backends)('uploads function through the local Data API on %s', (backend) => {
  let stack: RouteStack;
  let dataApi: StartedDataApi;

  beforeEach(async () => {
    stack = await openRouteStack(backend);
    dataApi = await startDataApi(stack.db);
  });

  /** The function's environment with the database reached through the local Data API (which counts every call). */
  const throughDataApi = () => ({
    ...stack.env,
    RDS_RESOURCE_ARN: dataApi.resourceArn,
    RDS_SECRET_ARN: dataApi.secretArn,
    RDS_DATABASE: dataApi.database,
    DATA_API_ENDPOINT: dataApi.endpoint,
  });
  afterEach(async () => {
    await dataApi?.close();
    await stack?.dispose();
  });

  it('a warm create costs exactly one Data API call', async () => {
    const env = throughDataApi();
    const handler = await createHandler(env, { logger: silentLogger });
    const cold = await call(handler, { routeKey: create, as: alice, body: smallVideo });
    expect(cold.status).toBe(201);
    expect(cold.body.schema.usedFallback).toBe(false);

    dataApi.server.stats.reset();
    const warm = await call(handler, { routeKey: create, as: alice, body: { ...largeVideo, options: { captions: true } } });
    expect(warm.status).toBe(201);
    expect(dataApi.server.stats.total()).toBe(1);
    expect(dataApi.server.stats.calls.ExecuteStatement).toBe(1);
    // The INSERT records its `Video Upload Created` event in the same statement (the outbox, migration 0006).
    expect(dataApi.server.stats.statements[0]).toMatch(/^WITH created AS \(INSERT INTO videos /);
    expect(await countVideos(stack.db.driver)).toBe(2);
  });

  it('a warm create that publishes its event costs two: the INSERT with its event, and the acknowledgement', async () => {
    const env = throughDataApi();
    const publisher = recordingPublisher();
    const handler = await createHandler(env, { logger: silentLogger, eventPublisher: publisher });
    expect((await call(handler, { routeKey: create, as: alice, body: smallVideo })).status).toBe(201);
    dataApi.server.stats.reset();
    const warm = await call(handler, { routeKey: create, as: alice, body: largeVideo });
    expect(warm.status).toBe(201);
    expect(dataApi.server.stats.total()).toBe(2);
    expect(dataApi.server.stats.statements[1]).toMatch(/^UPDATE video_events SET published_at/);
    expect(publisher.events.map((event) => event.detailType)).toEqual(['Video Upload Created', 'Video Upload Created']);
    expect(publisher.events[1]?.detail.videoId).toBe(warm.body.video.id);
  });
});
