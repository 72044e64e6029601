/**
 * Who may do what, end to end through the local stack: a configured admin group (ADMIN_GROUP, as `-c adminGroup`
 * sets it in AWS), compared by exact name, and a scope required on one route (as `-c routeScopes` sets it), which
 * the API Gateway emulator enforces the way API Gateway does.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { adminRoutes, expectClientError, uploadRequest, videoBytes } from './support.js';

describe('a configured admin group and a required scope', () => {
  let stack: TestStack;
  const bytes = videoBytes(4096);

  beforeAll(async () => {
    stack = await startTestStack({ adminGroup: 'reelay-ops', routeScopes: { 'POST /api/videos/upload': ['reelay/upload'] } });
  });
  afterAll(() => stack?.dispose());

  it('gives the functions the admin group, and admin tokens carry it', () => {
    expect(stack.env.ADMIN_GROUP).toBe('reelay-ops');
  });

  it.each(adminRoutes)('lets the configured group into %s %s, and nobody else', async (method, path) => {
    const mint = (groups: string[]) => stack.tokens.mint(`u-${randomUUID()}`, { groups });
    expect((await stack.request(method, path, { token: await stack.tokens.mint('ops', { admin: true }) })).status).toBe(200);
    for (const groups of [['admin'], ['x,reelay-ops'], ['reelay-ops,x'], [' reelay-ops'], ['Reelay-Ops'], ['reelay-ops ']]) {
      expectClientError(await stack.request(method, path, { token: await mint(groups) }), 403, 'forbidden');
    }
  });

  it('answers 403 {"message":"Forbidden"} to a token without the upload scope, and creates nothing', async () => {
    const owner = `alice-${randomUUID()}`;
    const token = await stack.tokens.mint(owner, { scopes: ['openid', 'reelay/read'] });
    const refused = await stack.request('POST', '/api/videos/upload', { token, json: uploadRequest(bytes) });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ message: 'Forbidden' });
    expect(refused.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    // Routes without scopes still take the same token; the owner has no video.
    const list = await stack.request<{ videos: unknown[] }>('GET', '/api/videos', { token });
    expect(list.status).toBe(200);
    expect(list.body.videos).toEqual([]);

    const scoped = await stack.tokens.mint(owner, { scopes: ['reelay/upload'] });
    const created = await stack.request<{ video: { id: string } }>('POST', '/api/videos/upload', { token: scoped, json: uploadRequest(bytes) });
    expect(created.status, created.text).toBe(201);
    expect((await stack.request<{ videos: Array<{ id: string }> }>('GET', '/api/videos', { token })).body.videos.map((video) => video.id)).toEqual([created.body.video.id]);
  });
});
