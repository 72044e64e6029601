/**
 * Bad input is a 4xx, never a 500: text PostgreSQL cannot store (a NUL byte; an unpaired surrogate, which drivers
 * would silently turn into U+FFFD) in any field, query or path parameter or header of the uploads and videos routes is
 * a 400 naming the field, and nothing is written; so is such text in an edit (PATCH). Huge numbers are 400s too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler as createUploadsHandler } from '../../functions/uploads/handler.js';
import { createHandler as createVideoChangesHandler } from '../../functions/video-changes/handler.js';
import { createHandler as createVideosHandler } from '../../functions/videos/handler.js';
import type { HttpHandler } from '../../shared/http/index.js';
import { silentLogger } from '../../shared/log.js';
import { MiB } from '../../shared/storage/config.js';
import { backends } from '../support/databases.js';
import { alice, call, countVideos, openMultipartUploads, openRouteStack, type RouteStack } from './video-routes-support.js';

const create = 'POST /api/videos/upload';
const valid = { title: 'Launch demo', description: 'first cut', filename: 'demo.mp4', contentType: 'video/mp4', size: 4096 };
const unstorable = [
  ['a NUL byte', 'demo\u0000.mp4', /NUL/],
  ['a lone high surrogate', 'demo\ud800.mp4', /unpaired surrogate/],
  ['a lone low surrogate', '\udc00demo.mp4', /unpaired surrogate/],
] as const;

describe.each(backends)('text the database cannot store, on %s', (backend) => {
  let stack: RouteStack;
  let uploads: HttpHandler;
  let videos: HttpHandler;
  let changes: HttpHandler;
  let multipartId: string;

  beforeAll(async () => {
    stack = await openRouteStack(backend, { env: { MULTIPART_THRESHOLD_BYTES: String(5 * MiB), MAX_UPLOAD_BYTES: String(64 * MiB) } });
    uploads = await createUploadsHandler(stack.env, { driver: stack.db.driver, logger: silentLogger });
    videos = await createVideosHandler(stack.env, { driver: stack.db.driver, logger: silentLogger });
    changes = await createVideoChangesHandler(stack.env, { driver: stack.db.driver, logger: silentLogger });
    multipartId = (await call(uploads, { routeKey: create, as: alice, body: { ...valid, size: 6 * MiB } })).body.video.id;
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  /** A 400 `validation_failed` whose details point at `path` with `message`. */
  const expectRefused = (answer: Awaited<ReturnType<typeof call>>, path: Array<string | number>, message: RegExp) => {
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(answer.body.error.code).toBe('validation_failed');
    expect(answer.body.error.details).toContainEqual({ path, message: expect.stringMatching(message) });
    expect(answer.body.error.message).toContain(path.join('.'));
  };

  it.each(unstorable)('refuses %s in title, description, filename and contentType, writing nothing', async (_name, value, message) => {
    for (const field of ['title', 'description', 'filename', 'contentType'] as const) {
      expectRefused(await call(uploads, { routeKey: create, as: alice, body: { ...valid, [field]: value } }), [field], message);
    }
    // A multipart-sized body too: no multipart upload may be opened for it.
    expectRefused(await call(uploads, { routeKey: create, as: alice, body: { ...valid, size: 6 * MiB, title: value } }), ['title'], message);
    expect(await countVideos(stack.db.driver)).toBe(1);
    expect(await openMultipartUploads(stack.s3)).toHaveLength(1);
  });

  it.each(unstorable)('refuses %s in an edit’s title and description, changing nothing', async (_name, value, message) => {
    const edit = 'PATCH /api/videos/{id}';
    for (const field of ['title', 'description'] as const) {
      expectRefused(await call(changes, { routeKey: edit, id: multipartId, as: alice, body: { [field]: value } }), [field], message);
    }
    const raw = '{"title":"Launch \\u0000 demo","description":"first \\ud83d cut"}';
    const escaped = await call(changes, { routeKey: edit, id: multipartId, as: alice, body: raw });
    expect(escaped.status).toBe(400);
    expect(escaped.body.error.details.map((issue: { path: string[] }) => issue.path)).toEqual([['title'], ['description']]);
    const stored = (await call(videos, { routeKey: 'GET /api/videos/{id}', id: multipartId, as: alice })).body.video;
    expect(stored).toMatchObject({ title: valid.title, description: valid.description });
  });

  it('sends the JSON escapes through as they arrive on the wire', async () => {
    const raw = JSON.stringify(valid).replace('"Launch demo"', '"Launch \\u0000 demo"').replace('"first cut"', '"first \\ud83d cut"');
    const answer = await call(uploads, { routeKey: create, as: alice, body: raw });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details.map((issue: { path: string[] }) => issue.path)).toEqual([['title'], ['description']]);
    expect(await countVideos(stack.db.driver)).toBe(1);
  });

  it('refuses a NUL byte in the list cursor, the video id, the Idempotency-Key and a part ETag', async () => {
    expectRefused(await call(videos, { routeKey: 'GET /api/videos', as: alice, query: { cursor: 'abc\u0000def' } }), ['cursor'], /NUL/);
    expectRefused(await call(videos, { routeKey: 'GET /api/videos/{id}', id: `${multipartId.slice(0, -1)}\u0000`, as: alice }), ['id'], /UUID/);
    const keyed = await call(uploads, { routeKey: create, as: alice, body: valid, headers: { 'idempotency-key': 'key\u0000' } });
    expect(keyed.status).toBe(400);
    expect(keyed.body.error.details).toEqual([{ path: ['headers', 'idempotency-key'], message: 'invalid' }]);
    const etag = await call(uploads, { routeKey: 'POST /api/videos/{id}/upload/complete', id: multipartId, as: alice, body: { parts: [{ partNumber: 1, etag: '"ab\u0000cd"' }] } });
    expectRefused(etag, ['parts', 0, 'etag'], /NUL|ETag/);
    expect(await countVideos(stack.db.driver)).toBe(1);
  });

  it('refuses huge numbers: a size of 1e308, a limit of 1e308, a part number of 1e308', async () => {
    expectRefused(await call(uploads, { routeKey: create, as: alice, body: { ...valid, size: 1e308 } }), ['size'], /./);
    expectRefused(await call(videos, { routeKey: 'GET /api/videos', as: alice, query: { limit: '1e308' } }), ['limit'], /./);
    expectRefused(await call(uploads, { routeKey: 'POST /api/videos/{id}/upload/parts', id: multipartId, as: alice, body: { partNumbers: [1e308] } }), ['partNumbers', 0], /./);
    expect(await countVideos(stack.db.driver)).toBe(1);
  });
});
