import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/uploads/handler.js';
import type { HttpHandler } from '../../shared/http/index.js';
import { silentLogger } from '../../shared/log.js';
import { MiB } from '../../shared/storage/config.js';
import { VideoDB } from '../../shared/db/video-db.js';
import { backends } from '../support/databases.js';
import { alice, bob, call, countVideos, openMultipartUploads, openRouteStack, type RouteStack } from './video-routes-support.js';

const create = 'POST /api/videos/upload';
const thresholdEnv = { MULTIPART_THRESHOLD_BYTES: String(5 * MiB), MAX_UPLOAD_BYTES: String(64 * MiB) };
const small = { title: 'Launch demo', filename: 'demo.mp4', contentType: 'video/mp4', size: 4096 };
const large = { title: 'Keynote', filename: 'keynote.mov', contentType: 'video/quicktime', size: 17 * MiB };

describe.each(backends)('POST /api/videos/upload with Idempotency-Key on %s', (backend) => {
  let stack: RouteStack;
  let handler: HttpHandler;

  beforeEach(async () => {
    stack = await openRouteStack(backend, { env: thresholdEnv });
    handler = await createHandler(stack.env, { driver: stack.db.driver, logger: silentLogger });
  });
  afterEach(async () => {
    await stack?.dispose();
  });

  const createWithKey = (body: unknown, key: string, as = alice) => call(handler, { routeKey: create, body, as, headers: { 'idempotency-key': key } });

  it('answers a retried single-PUT create with the same video and working URLs, and writes one row', async () => {
    const first = await createWithKey(small, 'retry-me-1');
    const retry = await createWithKey(small, 'retry-me-1');

    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body.video.id).toBe(first.body.video.id);
    expect(retry.body.schema).toEqual(first.body.schema);
    expect(await countVideos(stack.db.driver)).toBe(1);

    const { url, headers } = retry.body.upload as { url: string; headers: Record<string, string> };
    const sent = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'content-length'));
    const put = await fetch(url, { method: 'PUT', headers: sent, body: new Uint8Array(small.size) });
    expect(put.status).toBe(200);
  });

  it('keeps one multipart upload open when the create is retried, even concurrently', async () => {
    const answers = await Promise.all(Array.from({ length: 4 }, () => createWithKey(large, 'keynote-7')));

    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201, 201]);
    expect(new Set(answers.map((answer) => answer.body.video.id)).size).toBe(1);
    expect(new Set(answers.map((answer) => answer.body.upload.uploadId)).size).toBe(1);
    expect(answers.filter((answer) => answer.headers['idempotent-replayed'] === 'true')).toHaveLength(3);
    expect(await countVideos(stack.db.driver)).toBe(1);
    // The losers' own multipart uploads were aborted: S3 holds only the one the row points at.
    expect(await openMultipartUploads(stack.s3)).toHaveLength(1);
  });

  it('refuses the same key for a different upload', async () => {
    await createWithKey(small, 'reused');
    const other = await createWithKey({ ...small, size: 8192 }, 'reused');
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('conflict');
    expect(await countVideos(stack.db.driver)).toBe(1);
  });

  it('refuses the same key with other options or another description: a 409 naming each differing field, nothing written', async () => {
    const first = await createWithKey({ ...small, description: 'first cut', options: { captions: true } }, 'fingerprinted');
    expect(first.status).toBe(201);
    const cases: Array<[unknown, Array<Array<string>>]> = [
      [{ ...small, description: 'first cut', options: { captions: true, mp4: true } }, [['options', 'mp4']]],
      [{ ...small, description: 'first cut' }, [['options', 'captions']]],
      [{ ...small, description: 'final cut', options: { captions: true } }, [['description']]],
      [{ ...small, options: { captions: true } }, [['description']]],
      [{ ...small, title: 'Other', description: null, options: { normalizeAudio: true } }, [['title'], ['description'], ['options', 'captions'], ['options', 'normalizeAudio']]],
    ];
    for (const [body, paths] of cases) {
      const retry = await createWithKey(body, 'fingerprinted');
      expect(retry.status, JSON.stringify(body)).toBe(409);
      expect(retry.headers['idempotent-replayed']).toBeUndefined();
      expect(retry.body.error.code).toBe('conflict');
      expect(retry.body.error.details.map((issue: { path: string[] }) => issue.path)).toEqual(paths);
      expect(retry.body.error.message).toContain(paths.map((path) => path.join('.')).join(', '));
      expect(retry.body.upload).toBeUndefined();
    }
    expect(await countVideos(stack.db.driver)).toBe(1);
    const row = await new VideoDB({ executor: stack.db.driver }).findById(first.body.video.id);
    expect(row?.mux.options).toEqual({ captions: true, normalizeAudio: false, mp4: false });
    expect(row?.description).toBe('first cut');
  });

  it('replays the same request however it is spelled: key order, omitted defaults, content type case and parameters', async () => {
    const first = await createWithKey({ ...small, options: {} }, 'spelled');
    const retry = await createWithKey(
      { options: { mp4: false, captions: false }, size: small.size, contentType: 'Video/MP4; codecs="avc1"', filename: small.filename, title: `  ${small.title} `, description: null },
      'spelled',
    );
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body.video.id).toBe(first.body.video.id);
  });

  it("signs the first request's options into the replayed URL, which ingest will use too", async () => {
    const first = await createWithKey({ ...small, options: { mp4: true } }, 'options-kept');
    const retry = await createWithKey({ ...small, options: { mp4: true, captions: false } }, 'options-kept');
    expect(retry.status).toBe(201);
    const signed = JSON.parse(retry.body.upload.headers['x-amz-meta-reelay-options']);
    expect(signed).toEqual({ captions: false, normalizeAudio: false, mp4: true });
    expect((await new VideoDB({ executor: stack.db.driver }).findById(first.body.video.id))?.mux.options).toEqual(signed);
  });

  it('refuses a retry once the upload has moved on', async () => {
    const first = await createWithKey(small, 'done-already');
    await new VideoDB({ executor: stack.db.driver }).transition(first.body.video.id, { from: ['awaiting_upload'], to: 'uploaded' });
    const retry = await createWithKey(small, 'done-already');
    expect(retry.status).toBe(409);
    expect(retry.body.error.message).toContain('uploaded');
  });

  it('keeps keys per owner: the same key from two users makes two videos', async () => {
    const mine = await createWithKey(small, 'shared-key', alice);
    const theirs = await createWithKey(small, 'shared-key', bob);
    expect(theirs.status).toBe(201);
    expect(theirs.body.video.id).not.toBe(mine.body.video.id);
    expect(await countVideos(stack.db.driver)).toBe(2);
  });

  it('rejects a key that is too long or not visible ASCII, writing nothing', async () => {
    for (const key of ['x'.repeat(256), 'clé', 'two words']) {
      const answer = await createWithKey(small, key);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('validation_failed');
    }
    expect(await countVideos(stack.db.driver)).toBe(0);
  });
});

describe.each(backends)('Idempotency-Key on the legacy schema (0001) on %s', (backend) => {
  let stack: RouteStack;
  let handler: HttpHandler;

  beforeEach(async () => {
    stack = await openRouteStack(backend, { schemaVersion: 1, env: thresholdEnv });
    handler = await createHandler(stack.env, { driver: stack.db.driver, logger: silentLogger });
  });
  afterEach(async () => {
    await stack?.dispose();
  });

  const createWithKey = (body: unknown, key: string) => call(handler, { routeKey: create, body, as: alice, headers: { 'idempotency-key': key } });

  it('still refuses other fields the basic table keeps (description); options it cannot compare follow the object that is uploaded', async () => {
    await createWithKey({ ...small, description: 'first cut', options: { captions: true } }, 'legacy-key');
    const described = await createWithKey({ ...small, description: 'final cut', options: { captions: true } }, 'legacy-key');
    expect(described.status).toBe(409);
    expect(described.body.error.details).toEqual([expect.objectContaining({ path: ['description'] })]);

    // The row has no mux_options: the retry's options are signed into the object, which is where ingest reads them here.
    const optioned = await createWithKey({ ...small, description: 'first cut', options: { mp4: true } }, 'legacy-key');
    expect(optioned.status).toBe(201);
    expect(optioned.headers['idempotent-replayed']).toBe('true');
    expect(JSON.parse(optioned.body.upload.headers['x-amz-meta-reelay-options'])).toEqual({ captions: false, normalizeAudio: false, mp4: true });
    expect(await countVideos(stack.db.driver)).toBe(1);
  });
});
