/**
 * PATCH /api/videos/{id} through the video-changes handler, with events as API Gateway builds them: who may edit,
 * what a body may hold (the create rules), that only the given fields change, and that the edit is what GET and the
 * list show afterwards — on the latest schema and on the legacy one (0001).
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { importSPKI, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHandler, videoChangeRoutes } from '../../functions/video-changes/handler.js';
import { createHandler as createVideosHandler } from '../../functions/videos/handler.js';
import { VideoDB, type MuxFields } from '../../shared/db/video-db.js';
import { ConflictError, NotFoundError } from '../../shared/errors.js';
import type { HttpHandler } from '../../shared/http/index.js';
import { silentLogger } from '../../shared/log.js';
import { VideoEdits } from '../../shared/videos/video-edits.js';
import { backends } from '../support/databases.js';
import { admin, alice, bob, call, manifestRouteKeys, openRouteStack, otherFunctionsRouteKeys, type Caller, type RouteStack } from './video-routes-support.js';

const patch = 'PATCH /api/videos/{id}';
const get = 'GET /api/videos/{id}';
const list = 'GET /api/videos';

async function seed(videos: VideoDB, owner: Caller, title: string, description: string | null = null): Promise<string> {
  const id = randomUUID();
  await videos.createWithFallback({
    id, ownerId: owner.sub, title, description, originalFilename: `${title}.mp4`, contentType: 'video/mp4', sizeBytes: 1000, s3Key: `uploads/${id}/source.mp4`,
  });
  return id;
}

/** Sets Mux fields of a seeded video (still awaiting its upload) through the status compare-and-set. */
async function setMux(videos: VideoDB, id: string, mux: Partial<MuxFields>): Promise<void> {
  await videos.transition(id, { from: ['awaiting_upload'], to: 'awaiting_upload', set: { mux } });
}

describe.each(backends)('video-changes function on %s', (backend) => {
  let stack: RouteStack;
  let videos: VideoDB;
  let handler: HttpHandler;
  let reader: HttpHandler;

  beforeEach(async () => {
    stack = await openRouteStack(backend);
    videos = new VideoDB({ executor: stack.db.driver });
    handler = await createHandler(stack.env, { driver: stack.db.driver, logger: silentLogger });
    reader = await createVideosHandler(stack.env, { driver: stack.db.driver, logger: silentLogger });
  });
  afterEach(async () => {
    await stack?.dispose();
  });

  it('serves exactly the routes functions/routes.json gives it, each behind the JWT', async () => {
    expect(Object.keys(videoChangeRoutes(new VideoEdits({ executor: stack.db.driver, videos }), undefined)).sort()).toEqual(manifestRouteKeys('video-changes'));
    expect(manifestRouteKeys('video-changes')).toEqual([patch]);
    expect((await call(handler, { routeKey: patch, id: randomUUID(), body: { title: 'x' } })).status).toBe(401);
    for (const routeKey of otherFunctionsRouteKeys('video-changes')) {
      const answer = await call(handler, { routeKey, as: alice });
      expect(answer.status, routeKey).toBe(404);
      expect(answer.body.error.message).toContain('No route');
    }
  });

  it('lets the owner change the title (trimmed, as at creation) and set, then clear, the description', async () => {
    const id = await seed(videos, alice, 'first take');
    await setMux(videos, id, { playbackId: 'pb1', streamingUrl: 'https://stream.mux.com/pb1.m3u8' });
    const before = (await call(reader, { routeKey: get, id, as: alice })).body.video;

    const renamed = await call(handler, { routeKey: patch, id, as: alice, body: { title: '  Final cut  ' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.video).toEqual({ ...before, title: 'Final cut' });

    const described = await call(handler, { routeKey: patch, id, as: alice, body: { description: 'Shot on a phone.' } });
    expect(described.status).toBe(200);
    expect(described.body.video).toEqual({ ...before, title: 'Final cut', description: 'Shot on a phone.' });

    const cleared = await call(handler, { routeKey: patch, id, as: alice, body: { description: null } });
    expect(cleared.body.video).toEqual({ ...before, title: 'Final cut', description: null });

    const both = await call(handler, { routeKey: patch, id, as: alice, body: { title: 'Both', description: 'at once' } });
    expect(both.body.video).toMatchObject({ title: 'Both', description: 'at once' });
    // Nothing of the pipeline moved: status, Mux block and updatedAt (ingest's and reconcile's clock) are as before.
    expect(both.body.video).toMatchObject({ status: before.status, mux: before.mux, updatedAt: before.updatedAt, createdAt: before.createdAt });
  });

  it('shows the edit in GET and in the list', async () => {
    const id = await seed(videos, alice, 'old title', 'old description');
    const edited = await call(handler, { routeKey: patch, id, as: alice, body: { title: 'new title', description: 'new description' } });
    const read = await call(reader, { routeKey: get, id, as: alice });
    expect(read.body.video).toEqual(edited.body.video);
    const listed = (await call(reader, { routeKey: list, as: alice })).body.videos;
    expect(listed).toEqual([edited.body.video]);
    expect((await call(reader, { routeKey: list, as: admin })).body.videos[0]).toMatchObject({ id, title: 'new title', description: 'new description' });
  });

  it('lets an admin edit anyone’s video; another user gets the 404 of a missing video and changes nothing', async () => {
    const id = await seed(videos, alice, 'alice’s');
    const byAdmin = await call(handler, { routeKey: patch, id, as: admin, body: { title: 'moderated' } });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.video).toMatchObject({ id, title: 'moderated' });

    const foreign = await call(handler, { routeKey: patch, id, as: bob, body: { title: 'hijacked', description: 'mine now' } });
    const missingId = randomUUID();
    const missing = await call(handler, { routeKey: patch, id: missingId, as: bob, body: { title: 'hijacked' } });
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    expect(foreign.body.error.message.replace(id, '<id>')).toBe(missing.body.error.message.replace(missingId, '<id>'));
    expect(await videos.findById(id)).toMatchObject({ ownerId: alice.sub, title: 'moderated', description: null });
  });

  it('refuses bad bodies with a 400 naming the field, and changes nothing', async () => {
    const id = await seed(videos, alice, 'keep', 'keep too');
    const cases: Array<[unknown, Array<string | number> | null]> = [
      [{}, []],
      [{ title: 'ok', owner: 'bob' }, []],
      [{ status: 'ready' }, []],
      [{ title: 42 }, ['title']],
      [{ title: null }, ['title']],
      [{ title: '' }, ['title']],
      [{ title: '   ' }, ['title']],
      [{ title: 'x'.repeat(201) }, ['title']],
      [{ description: 'x'.repeat(5001) }, ['description']],
      [{ description: 7 }, ['description']],
      [{ title: 'a\u0000b' }, ['title']],
      [{ description: 'lone \ud800 surrogate' }, ['description']],
      [[{ title: 'array' }], []],
      ['"just a string"', []],
      [null, []],
    ];
    for (const [body, path] of cases) {
      const answer = await call(handler, { routeKey: patch, id, as: alice, body: body === null ? 'null' : body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code, JSON.stringify(body)).toBe('validation_failed');
      if (path !== null && path.length > 0) expect(answer.body.error.details.map((detail: { path: unknown }) => detail.path)).toContainEqual(path);
    }
    expect(await videos.findById(id)).toMatchObject({ title: 'keep', description: 'keep too' });
    const malformed = await call(handler, { routeKey: patch, id, as: alice, body: '{"title":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('malformed_json');
    const badId = await call(handler, { routeKey: patch, id: 'not-a-uuid', as: alice, body: { title: 'x' } });
    expect(badId.status).toBe(400);
    expect(badId.body.error.details).toEqual([{ path: ['id'], message: 'must be a UUID' }]);

    // At the limits, the same values as at creation are accepted.
    expect((await call(handler, { routeKey: patch, id, as: alice, body: { title: 'x'.repeat(200), description: 'y'.repeat(5000) } })).status).toBe(200);
    expect(await videos.findById(id)).toMatchObject({ title: 'x'.repeat(200), description: 'y'.repeat(5000) });
  });

  it('is safe to repeat, and concurrent edits of different fields both land', async () => {
    const id = await seed(videos, alice, 'start');
    const first = await call(handler, { routeKey: patch, id, as: alice, body: { title: 'again' } });
    const second = await call(handler, { routeKey: patch, id, as: alice, body: { title: 'again' } });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);

    const [byOwner, byAdmin, moved] = await Promise.all([
      call(handler, { routeKey: patch, id, as: alice, body: { title: 'racing title' } }),
      call(handler, { routeKey: patch, id, as: admin, body: { description: 'racing description' } }),
      // A pipeline write to the same row at the same time keeps its own columns.
      videos.transition(id, { from: ['awaiting_upload'], to: 'uploaded' }),
    ]);
    expect([byOwner.status, byAdmin.status]).toEqual([200, 200]);
    expect(moved.video?.status).toBe('uploaded');
    expect(await videos.findById(id)).toMatchObject({ title: 'racing title', description: 'racing description', status: 'uploaded' });
  });
});

describe('video-changes function with a signed playback policy', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyId = 'editTestSigningKey01';
  const playbackId = 'signedPlaybackEdit01';
  let stack: RouteStack;

  beforeEach(async () => {
    stack = await openRouteStack('pglite');
  });
  afterEach(async () => {
    await stack?.dispose();
  });

  it('answers with the URLs GET would give, tokens minted for the playback id', async () => {
    const env = {
      ...stack.env,
      MUX_PLAYBACK_POLICY: 'signed',
      MUX_SIGNING_KEY_ID: keyId,
      MUX_SIGNING_PRIVATE_KEY: Buffer.from(rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()).toString('base64'),
    };
    const handler = await createHandler(env, { driver: stack.db.driver, logger: silentLogger });
    const reader = await createVideosHandler(env, { driver: stack.db.driver, logger: silentLogger });
    const videos = new VideoDB({ executor: stack.db.driver });
    const id = await seed(videos, alice, 'paid');
    await setMux(videos, id, { playbackId, streamingUrl: `https://stream.mux.com/${playbackId}.m3u8`, thumbnailUrl: `https://image.mux.com/${playbackId}/thumbnail.jpg` });

    const { video } = (await call(handler, { routeKey: patch, id, as: alice, body: { title: 'paid, renamed' } })).body;
    expect(video.mux).toMatchObject({ playbackPolicy: 'signed', playbackTokenExpiresAt: expect.any(String) });
    const publicKey = await importSPKI(rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'RS256');
    for (const [url, aud] of [[video.mux.streamingUrl, 'v'], [video.mux.thumbnailUrl, 't']] as const) {
      const token = new URL(url).searchParams.get('token') ?? '';
      const { payload, protectedHeader } = await jwtVerify(token, publicKey, { algorithms: ['RS256'], audience: aud, subject: playbackId });
      expect(protectedHeader.kid).toBe(keyId);
      expect(payload.exp).toBe(Date.parse(video.mux.playbackTokenExpiresAt) / 1000);
    }
    // The same shape as a read (the tokens themselves differ only by when they were minted).
    const read = (await call(reader, { routeKey: get, id, as: alice })).body.video;
    const withoutTokens = (json: { mux: Record<string, unknown> }) => JSON.parse(JSON.stringify(json).replace(/token=[\w.-]+/g, 'token=T').replace(/"playbackTokenExpiresAt":"[^"]+"/, '"playbackTokenExpiresAt":"E"'));
    expect(withoutTokens(video)).toEqual(withoutTokens(read));
  });
});

describe.each(backends)('video-changes function on the legacy schema (0001) on %s', (backend) => {
  let stack: RouteStack;

  beforeEach(async () => {
    stack = await openRouteStack(backend, { schemaVersion: 1 });
  });
  afterEach(async () => {
    await stack?.dispose();
  });

  it('edits title and description with the Mux blocks null, and the read shows it', async () => {
    const handler = await createHandler(stack.env, { driver: stack.db.driver, logger: silentLogger });
    const reader = await createVideosHandler(stack.env, { driver: stack.db.driver, logger: silentLogger });
    const videos = new VideoDB({ executor: stack.db.driver });
    const id = await seed(videos, alice, 'old', 'described');
    const edited = await call(handler, { routeKey: patch, id, as: alice, body: { title: 'renamed', description: null } });
    expect(edited.status).toBe(200);
    expect(edited.body.video).toMatchObject({ id, title: 'renamed', description: null, mux: null, audio: null, captions: null });
    expect((await call(reader, { routeKey: get, id, as: alice })).body.video).toEqual(edited.body.video);
    expect((await call(handler, { routeKey: patch, id, as: bob, body: { title: 'x' } })).status).toBe(404);
    expect((await call(handler, { routeKey: patch, id, as: admin, body: { description: 'by admin' } })).body.video).toMatchObject({ title: 'renamed', description: 'by admin' });
  });
});

describe('VideoEdits: refusing edits in a status', () => {
  let stack: RouteStack;

  beforeEach(async () => {
    stack = await openRouteStack('pglite');
  });
  afterEach(async () => {
    await stack?.dispose();
  });

  it('refuses with a conflict in a listed status, a 404 still for others, and edits once the video leaves it', async () => {
    const videos = new VideoDB({ executor: stack.db.driver });
    const edits = new VideoEdits({ executor: stack.db.driver, videos, refuseStatuses: ['cancelled'] });
    const viewer = (caller: Caller) => ({ sub: caller.sub, admin: caller.admin === true });
    const id = await seed(videos, alice, 'doomed');
    await videos.transition(id, { from: ['awaiting_upload'], to: 'cancelled' });
    await expect(edits.edit(viewer(alice), id, { title: 'x' })).rejects.toBeInstanceOf(ConflictError);
    await expect(edits.edit(viewer(bob), id, { title: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(edits.edit(viewer(alice), randomUUID(), { title: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    expect((await videos.findById(id))?.title).toBe('doomed');
    await videos.transition(id, { from: ['cancelled'], to: 'awaiting_upload' });
    expect((await edits.edit(viewer(admin), id, { title: 'saved' })).title).toBe('saved');
  });
});
