/**
 * PATCH /api/videos/{id} over HTTP through the local stack, which wires functions/routes.json as the CDK app does: the
 * route reaches the video-changes function, which logs in as the application role (a read-only login could not
 * UPDATE), on the latest schema and on the legacy one (0001); a browser's preflight for PATCH is allowed.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { createUpload, expectClientError, getVideo, isReady, putSingle, uploadRequest, videoBytes, waitForVideo } from './support.js';

describe.each(['latest', 'legacy'] as const)('PATCH /api/videos/{id} through the local stack (%s schema)', (schema) => {
  let stack: TestStack;
  let alice: string;
  let bob: string;
  let root: string;

  beforeAll(async () => {
    stack = await startTestStack({ schema });
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
    bob = await stack.tokens.mint(`bob-${randomUUID()}`);
    root = await stack.tokens.mint(`root-${randomUUID()}`, { admin: true });
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  async function createVideo(token: string, title: string): Promise<string> {
    return (await createUpload(stack, token, uploadRequest(videoBytes(1024), { title, description: 'first' }))).video.id;
  }

  it('logs the function in as the application role, like the other writers and unlike the videos function', () => {
    const secretOf = (name: string) => stack.functionEnv(name).RDS_SECRET_ARN;
    expect(secretOf('video-changes')).toBeDefined();
    expect(secretOf('video-changes')).toBe(secretOf('uploads'));
    if (schema === 'latest') expect(secretOf('video-changes')).not.toBe(secretOf('videos'));
  });

  it('edits for the owner and an admin, 404 for another user, 400 for a bad body; GET and the list show the edit', async () => {
    const id = await createVideo(alice, 'draft');
    const edited = await stack.request<{ video: Record<string, unknown> }>('PATCH', `/api/videos/${id}`, { token: alice, json: { title: 'Launch video', description: null } });
    expect(edited.status, edited.text).toBe(200);
    expect(edited.body.video).toMatchObject({ id, title: 'Launch video', description: null, status: 'awaiting_upload', mux: schema === 'legacy' ? null : expect.any(Object) });
    expect((await stack.request('GET', `/api/videos/${id}`, { token: alice })).body).toEqual(edited.body);
    expect((await stack.request<{ videos: unknown[] }>('GET', '/api/videos', { token: alice })).body.videos).toEqual([edited.body.video]);

    expectClientError(await stack.request('PATCH', `/api/videos/${id}`, { token: bob, json: { title: 'mine' } }), 404, 'not_found');
    const byAdmin = await stack.request<{ video: { title: string; description: string } }>('PATCH', `/api/videos/${id}`, { token: root, json: { description: 'checked' } });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.video).toMatchObject({ title: 'Launch video', description: 'checked' });

    for (const json of [{}, { title: 'x', size: 1 }, { title: '' }, { description: 'a\u0000b' }]) {
      expectClientError(await stack.request('PATCH', `/api/videos/${id}`, { token: alice, json }), 400, 'validation_failed');
    }
    expect((await stack.request('PATCH', `/api/videos/${id}`, { json: { title: 'anonymous' } })).status).toBe(401);
    expect((await stack.request<{ video: { title: string } }>('GET', `/api/videos/${id}`, { token: alice })).body.video.title).toBe('Launch video');
  });

  it('renames a video the pipeline made ready without touching its status or Mux data', async () => {
    const bytes = videoBytes(4096);
    const created = await createUpload(stack, alice, uploadRequest(bytes, { title: 'to be renamed' }));
    if (created.upload.mode !== 'single') throw new Error('expected a single PUT');
    expect((await putSingle(created.upload, bytes)).status).toBe(200);
    const ready = await waitForVideo(stack, alice, created.video.id, schema === 'legacy' ? (video) => video.status === 'ready' : isReady);
    const edited = await stack.request<{ video: typeof ready }>('PATCH', `/api/videos/${created.video.id}`, { token: alice, json: { title: 'Renamed when ready' } });
    expect(edited.status, edited.text).toBe(200);
    expect(edited.body.video).toEqual({ ...ready, title: 'Renamed when ready' });
    expect((await getVideo(stack, alice, created.video.id)).body.video).toEqual(edited.body.video);
  });

  it('allows PATCH in a browser’s preflight', async () => {
    const response = await fetch(`${stack.url}/api/videos/${randomUUID()}`, {
      method: 'OPTIONS',
      headers: { origin: stack.url, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-methods')?.split(',')).toContain('PATCH');
  });
});
