import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHandler, videoRoutes } from '../../functions/videos/handler.js';
import { VideoDB, type MuxFields } from '../../shared/db/video-db.js';
import type { HttpHandler } from '../../shared/http/index.js';
import { silentLogger } from '../../shared/log.js';
import { UploadStorage } from '../../shared/storage/uploads.js';
import { backends } from '../support/databases.js';
import { admin, alice, bob, call, manifestRouteKeys, openRouteStack, otherFunctionsRouteKeys, type Caller, type RouteStack } from './video-routes-support.js';

const list = 'GET /api/videos';
const get = 'GET /api/videos/{id}';

describe.each(backends)('videos function on %s', (backend) => {
  let stack: RouteStack;
  let videos: VideoDB;
  let handler: HttpHandler;

  /**
   * Inserts a video owned by `owner`, each created one second after the one before: inserts in quick succession can
   * share a `created_at` (the clock's resolution), and the order of ties is the id's, not the insertion's.
   */
  let seeded = 0;
  async function seed(owner: Caller, title: string): Promise<string> {
    const id = randomUUID();
    seeded += 1;
    await videos.createWithFallback({
      id,
      ownerId: owner.sub,
      title,
      originalFilename: `${title}.mp4`,
      contentType: 'video/mp4',
      sizeBytes: 1000,
      s3Key: `uploads/${id}/source.mp4`,
    });
    await stack.db.driver.execute(`UPDATE videos SET created_at = timestamptz '2026-01-01T00:00:00Z' + make_interval(secs => :n) WHERE id = :id`, { n: seeded, id });
    return id;
  }

  /** Sets Mux fields of a seeded video (still awaiting its upload) through the status compare-and-set. */
  async function setMux(id: string, mux: Partial<MuxFields>): Promise<void> {
    await videos.transition(id, { from: ['awaiting_upload'], to: 'awaiting_upload', set: { mux } });
  }

  async function listAll(caller: Caller, limit: number): Promise<{ titles: string[]; pages: number }> {
    const titles: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const answer = await call(handler, { routeKey: list, as: caller, query: { limit: String(limit), ...(cursor ? { cursor } : {}) } });
      expect(answer.status).toBe(200);
      expect(answer.body.videos.length).toBeLessThanOrEqual(limit);
      titles.push(...answer.body.videos.map((video: { title: string }) => video.title));
      cursor = answer.body.nextCursor ?? undefined;
      pages += 1;
    } while (cursor !== undefined);
    return { titles, pages };
  }

  beforeEach(async () => {
    stack = await openRouteStack(backend);
    videos = new VideoDB({ executor: stack.db.driver });
    handler = await createHandler(stack.env, { driver: stack.db.driver, logger: silentLogger });
  });
  afterEach(async () => {
    await stack?.dispose();
  });

  it('serves exactly the routes functions/routes.json gives it, each behind the JWT', async () => {
    expect(Object.keys(videoRoutes(videos, undefined)).sort()).toEqual(manifestRouteKeys('videos'));
    for (const routeKey of manifestRouteKeys('videos')) {
      expect((await call(handler, { routeKey, id: randomUUID() })).status, routeKey).toBe(401);
    }
    for (const routeKey of otherFunctionsRouteKeys('videos')) {
      const answer = await call(handler, { routeKey, as: alice });
      expect(answer.status, routeKey).toBe(404);
      expect(answer.body.error.message).toContain('No route');
    }
  });

  it('lists the caller’s own videos newest first; an admin sees everyone’s', async () => {
    for (const title of ['a1', 'b1', 'a2', 'b2', 'a3']) await seed(title.startsWith('a') ? alice : bob, title);
    const own = await call(handler, { routeKey: list, as: alice });
    expect(own.status).toBe(200);
    expect(own.body.videos.map((video: { title: string }) => video.title)).toEqual(['a3', 'a2', 'a1']);
    expect(own.body.nextCursor).toBeNull();
    expect(own.body.videos[0]).toMatchObject({ status: 'awaiting_upload', filename: 'a3.mp4', size: 1000, mux: { status: 'pending' } });
    expect((await call(handler, { routeKey: list, as: bob })).body.videos.map((video: { title: string }) => video.title)).toEqual(['b2', 'b1']);
    expect((await call(handler, { routeKey: list, as: { sub: 'carol' } })).body).toEqual({ videos: [], nextCursor: null });
    expect((await call(handler, { routeKey: list, as: admin })).body.videos.map((video: { title: string }) => video.title))
      .toEqual(['a3', 'b2', 'a2', 'b1', 'a1']);
  });

  it('pages with keyset cursors through the route: every video once, in order, for owners and admins', async () => {
    const titles = Array.from({ length: 7 }, (_, index) => `v${index}`);
    for (const title of titles) await seed(alice, title);
    await seed(bob, 'bob-only');
    expect(await listAll(alice, 3)).toEqual({ titles: [...titles].reverse(), pages: 3 });
    expect(await listAll(alice, 7)).toEqual({ titles: [...titles].reverse(), pages: 1 });
    expect(await listAll(admin, 2)).toEqual({ titles: ['bob-only', ...[...titles].reverse()], pages: 4 });
    const defaults = await call(handler, { routeKey: list, as: alice });
    expect(defaults.body.videos).toHaveLength(7);

    // Ties on created_at across a page boundary: the id breaks them, and no page repeats or skips a video.
    await stack.db.driver.execute(`UPDATE videos SET created_at = timestamptz '2026-01-01T00:00:00Z' WHERE title IN ('v2', 'v3', 'v4')`);
    const { rows } = await stack.db.driver.execute<{ title: string }>(`SELECT title FROM videos WHERE title IN ('v2', 'v3', 'v4') ORDER BY id DESC`);
    // v2..v4 are now the oldest, tied: they come last, by id, and the second page ends inside the tie.
    expect(await listAll(alice, 3)).toEqual({ titles: ['v6', 'v5', 'v1', 'v0', ...rows.map((row) => row.title)], pages: 3 });
  });

  it('refuses bad paging input with 400s: limit out of 1..100 or not a number, a forged cursor, unknown parameters', async () => {
    await seed(alice, 'only');
    const queries: Record<string, string>[] = [{ limit: '0' }, { limit: '101' }, { limit: 'ten' }, { limit: '2.5' }, { cursor: 'bm90LWEtY3Vyc29y' }, { page: '2' }];
    for (const query of queries) {
      const answer = await call(handler, { routeKey: list, as: alice, query });
      expect(answer.status, JSON.stringify(query)).toBe(400);
      expect(answer.body.error.code).toBe('validation_failed');
    }
  });

  it('gets one video; another owner’s or a missing one is the same 404; a non-UUID id is a 400', async () => {
    const id = await seed(alice, 'mine');
    const own = await call(handler, { routeKey: get, id, as: alice });
    expect(own.status).toBe(200);
    expect(own.body.video).toMatchObject({ id, title: 'mine', description: null, status: 'awaiting_upload' });
    expect(Object.keys(own.body.video).sort()).toEqual(
      ['audio', 'captions', 'contentType', 'createdAt', 'description', 'filename', 'id', 'mux', 'ownerId', 'size', 'status', 'title', 'updatedAt'],
    );
    expect((await call(handler, { routeKey: get, id, as: admin })).status).toBe(200);

    const foreign = await call(handler, { routeKey: get, id, as: bob });
    const missingId = randomUUID();
    const missing = await call(handler, { routeKey: get, id: missingId, as: bob });
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(foreign.body.error.message.replace(id, '<id>')).toBe(missing.body.error.message.replace(missingId, '<id>'));

    const malformed = await call(handler, { routeKey: get, id: '12345', as: alice });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.details).toEqual([{ path: ['id'], message: 'must be a UUID' }]);
  });

  it('turns an s3:// SRT reference into a presigned GET URL that serves the file', async () => {
    const id = await seed(alice, 'captioned');
    const storage = new UploadStorage({ client: stack.s3.client, bucket: stack.s3.bucket, prefix: 'uploads/', urlTtlSeconds: 600 });
    const key = storage.captionsKeyFor(id, 'en');
    const srt = '1\n00:00:00,000 --> 00:00:01,000\nHello\n';
    await storage.putObject(key, srt, 'application/x-subrip');
    await setMux(id, { captionsSrtUrl: `s3://${stack.s3.bucket}/${key}`, captionsWebvttUrl: 'https://stream.mux.com/p/text/t.vtt' });

    const { video } = (await call(handler, { routeKey: get, id, as: alice })).body;
    expect(video.captions.webvttUrl).toBe('https://stream.mux.com/p/text/t.vtt');
    const url = new URL(video.captions.srtUrl);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
    const fetched = await fetch(url);
    expect(fetched.status).toBe(200);
    expect(await fetched.text()).toBe(srt);

    const listed = (await call(handler, { routeKey: list, as: alice })).body.videos[0];
    expect(listed.captions.srtUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);

    // A reference into another bucket is not signed, and never shown raw.
    await setMux(id, { captionsSrtUrl: `s3://someone-elses-bucket/${key}` });
    expect((await call(handler, { routeKey: get, id, as: alice })).body.video.captions.srtUrl).toBeNull();
  });

  it('without a bucket configured, an s3:// SRT reference reads as null; other URLs pass through', async () => {
    const { UPLOAD_BUCKET: _bucket, ...withoutBucket } = stack.env;
    const bucketless = await createHandler(withoutBucket, { driver: stack.db.driver, logger: silentLogger });
    const id = await seed(alice, 'captioned');
    await setMux(id, { captionsSrtUrl: `s3://${stack.s3.bucket}/uploads/${id}/captions/en.srt` });
    expect((await call(bucketless, { routeKey: get, id, as: alice })).body.video.captions.srtUrl).toBeNull();
    await setMux(id, { captionsSrtUrl: 'https://captions.example.com/en.srt' });
    expect((await call(bucketless, { routeKey: get, id, as: alice })).body.video.captions.srtUrl).toBe('https://captions.example.com/en.srt');
  });
});

describe('videos function with a signed playback policy', () => {
  let stack: RouteStack;
  const playbackId = 'signedPlaybackId01';

  beforeEach(async () => {
    stack = await openRouteStack('pglite');
  });
  afterEach(async () => {
    await stack?.dispose();
  });

  async function readyVideo(): Promise<string> {
    const id = randomUUID();
    const videos = new VideoDB({ executor: stack.db.driver });
    await videos.createWithFallback({ id, ownerId: alice.sub, title: 'paid', originalFilename: 'p.mp4', contentType: 'video/mp4', sizeBytes: 10, s3Key: `uploads/${id}/source.mp4` });
    // Its Mux fields, through the status compare-and-set (the seeded video still awaits its upload).
    await videos.transition(id, { from: ['awaiting_upload'], to: 'awaiting_upload', set: { mux: { playbackId, streamingUrl: `https://stream.mux.com/${playbackId}.m3u8`, thumbnailUrl: `https://image.mux.com/${playbackId}/thumbnail.jpg` } } });
    return id;
  }

  it('answers a clear 500 naming the settings, never a stack, when no signing key is configured', async () => {
    const logs: string[] = [];
    const logger = (await import('../../shared/log.js')).createLogger({ level: 'info', sink: (line) => logs.push(line) });
    const handler = await createHandler({ ...stack.env, MUX_PLAYBACK_POLICY: 'signed' }, { driver: stack.db.driver, logger });
    const id = await readyVideo();
    for (const answer of [await call(handler, { routeKey: get, id, as: alice }), await call(handler, { routeKey: list, as: alice })]) {
      expect(answer.status).toBe(500);
      expect(answer.body.error.code).toBe('playback_signing_unavailable');
      expect(answer.body.error.message).toMatch(/MUX_SIGNING_KEY_ID and MUX_SIGNING_PRIVATE_KEY/);
      expect(JSON.stringify(answer.body)).not.toMatch(/at .*\.ts:\d+/);
    }
    expect(logs.join('\n')).toContain('playback_signing_unavailable');
  });

  it('keeps the public shape, saying public, when the policy is public', async () => {
    const handler = await createHandler(stack.env, { driver: stack.db.driver, logger: silentLogger });
    const id = await readyVideo();
    const { video } = (await call(handler, { routeKey: get, id, as: alice })).body;
    expect(video.mux).toMatchObject({ playbackPolicy: 'public', playbackTokenExpiresAt: null, streamingUrl: `https://stream.mux.com/${playbackId}.m3u8` });
  });
});

describe.each(backends)('videos function on the legacy schema (0001) on %s', (backend) => {
  let stack: RouteStack;

  beforeEach(async () => {
    stack = await openRouteStack(backend, { schemaVersion: 1 });
  });
  afterEach(async () => {
    await stack?.dispose();
  });

  it('lists and gets videos with the Mux blocks null', async () => {
    const handler = await createHandler(stack.env, { driver: stack.db.driver, logger: silentLogger });
    const id = randomUUID();
    await new VideoDB({ executor: stack.db.driver }).createWithFallback({
      id, ownerId: alice.sub, title: 'old', originalFilename: 'old.mp4', contentType: 'video/mp4', sizeBytes: 10, s3Key: `uploads/${id}/source.mp4`,
    });
    const { videos } = (await call(handler, { routeKey: list, as: alice })).body;
    expect(videos).toHaveLength(1);
    expect(videos[0]).toMatchObject({ id, title: 'old', mux: null, audio: null, captions: null });
    expect((await call(handler, { routeKey: get, id, as: alice })).body.video).toEqual(videos[0]);
  });
});
