/**
 * Security, against the local stack as a black box: tokens whose groups only look like the admin group on
 * every admin route and on the admin's power over other owners' videos, and tokens without a required scope on every
 * route that requires one. Every answer is a refusal, and nothing changes: the schema stays where it was (the stack
 * starts on the legacy schema, so a migration that slipped through would show), no video is created, moved or seen.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRouteTable } from '../../local/api-gateway/routes.js';
import type { TestStack } from '../support/local-stack.js';
import { adminRoutes } from '../stack/support.js';
import { createUpload, recordFigures, smallVideo, startReliabilityStack, uploadRequest, type VideoJson } from './support.js';

const scenario = '8. Security';

/** Group lists a token carries (a real array claim, rendered by the JWT authorizer as `"[a b]"`). */
const spoofedGroupLists: ReadonlyArray<readonly string[]> = [
  ['x,admin'],
  ['admin,x'],
  ['editors', 'x,admin'],
  [' admin'],
  ['admin '],
  [' admin '],
  ['x', ' admin'],
  ['Admin'],
  ['ADMIN'],
  ['admins'],
  ['administrators'],
  ['[admin]'],
  ['["admin"]'],
  ['admin\u200b'],
  ['\uff41dmin'],
];

/** `cognito:groups` as a plain string claim, as some identity providers emit it: one name, never a list. */
const spoofedStringClaims: readonly string[] = ['x,admin', 'admin,x', 'x admin', ' admin ', 'admin\tx', '[ admin]', '[admin ]', '["x,admin"]'];

interface Snapshot {
  readonly schemaVersion: unknown;
  readonly videos: unknown;
}

describe('the admin group, spoofed', () => {
  let stack: TestStack;
  let admin: string;
  let victim: string;
  let victimVideo: VideoJson;

  beforeAll(async () => {
    stack = await startReliabilityStack({ schema: 'legacy' });
    [admin, victim] = await Promise.all([stack.tokens.mint('ops', { admin: true }), stack.tokens.mint(`victim-${randomUUID()}`)]);
    victimVideo = (await createUpload(stack, victim, uploadRequest(smallVideo, { title: 'Victim' }))).video;
  });
  afterAll(() => stack?.dispose());

  /** What a refused admin request must leave as it was, read with the real admin's token. */
  async function snapshot(): Promise<Snapshot> {
    const status = await stack.request<{ currentVersion: number; pending: unknown[] }>('GET', '/api/database/run-mux-migration', { token: admin });
    expect(status.status, status.text).toBe(200);
    const videos = await stack.request<{ videos: VideoJson[] }>('GET', '/api/videos', { token: admin });
    expect(videos.status, videos.text).toBe(200);
    return { schemaVersion: [status.body.currentVersion, status.body.pending], videos: videos.body.videos.map(({ id, status: state, updatedAt }) => ({ id, state, updatedAt })) };
  }

  it('refuses every admin route (403) and the admin view of others\' videos (404) to look-alike groups, and changes nothing', async (context) => {
    const before = await snapshot();
    expect(before.schemaVersion).toEqual([1, expect.arrayContaining([expect.objectContaining({ version: 2 })])]);
    const tokens = await Promise.all([
      ...spoofedGroupLists.map((groups) => stack.tokens.mint(`mallory-${randomUUID()}`, { groups })),
      ...spoofedStringClaims.map((groups) => stack.tokens.mint(`mallory-${randomUUID()}`, { claims: { 'cognito:groups': groups } })),
    ]);
    const answered: Record<string, number> = {};
    const count = (status: number) => {
      answered[`answered ${status}`] = (answered[`answered ${status}`] ?? 0) + 1;
    };
    for (const token of tokens) {
      for (const [method, path] of adminRoutes) {
        const response = await stack.request<{ error: { code: string } }>(method, path, { token });
        count(response.status);
        expect(response.status, `${method} ${path}: ${response.text}`).toBe(403);
        expect(response.body.error.code).toBe('forbidden');
        expect(response.text).not.toMatch(/currentVersion|counts|configuration/);
      }
      const foreign = await stack.request('GET', `/api/videos/${victimVideo.id}`, { token });
      count(foreign.status);
      expect(foreign.status, foreign.text).toBe(404);
      const list = await stack.request<{ videos: unknown[] }>('GET', '/api/videos', { token });
      expect(list.body.videos, 'a look-alike group lists only its own (no) videos').toEqual([]);
    }
    expect(await snapshot(), 'a refused request changed nothing').toEqual(before);
    // The real admin group still works: what was refused was the look-alike, not the route.
    expect((await stack.request('GET', `/api/videos/${victimVideo.id}`, { token: admin })).status).toBe(200);
    recordFigures(context, {
      scenario,
      case: 'group names that only look like "admin" (x,admin, " admin ", Admin, [admin] …) as array and string claims, on every admin route and on others\' videos',
      injected: { 'spoofed tokens': tokens.length, requests: tokens.length * (adminRoutes.length + 2) },
      observed: answered,
      checked: tokens.length * (adminRoutes.length + 2),
      lost: 0,
      extraAssets: 0,
    });
  });
});

describe('route scopes, missing', () => {
  let stack: TestStack;
  const scopes: Readonly<Record<string, readonly string[]>> = { user: ['reelay/api'], 'POST /api/videos/upload': ['reelay/upload'], admin: ['reelay/admin'] };

  beforeAll(async () => {
    stack = await startReliabilityStack({ routeScopes: scopes });
  });
  afterAll(() => stack?.dispose());

  it('answers API Gateway\'s 403 {"message":"Forbidden"} on every scoped route to tokens without a scope, before any function runs', async (context) => {
    const routes = loadRouteTable().routes.filter((route) => route.auth !== 'none');
    const id = randomUUID();
    const tokens = await Promise.all([
      stack.tokens.mint('alice'),
      stack.tokens.mint('alice', { scopes: ['openid', 'email', 'profile'] }),
      stack.tokens.mint('ops', { admin: true, scopes: ['reelay/api'] }),
      stack.tokens.mint('alice', { scopes: ['reelay/API', 'reelay/api/x', 'reelay'] }),
    ]);
    const invocationsBefore = stack.logs.filter((line) => line.event === 'http.request').length;
    let refused = 0;
    let requests = 0;
    for (const token of tokens) {
      for (const route of routes) {
        const [method = 'GET', template = '/'] = route.route.split(' ');
        const required = scopes[route.route] ?? scopes[route.auth] ?? [];
        const presented = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { scope?: string };
        if (required.some((scope) => presented.scope?.split(' ').includes(scope))) continue;
        requests += 1;
        const response = await stack.request(method, template.replace('{id}', id), { token, ...(method === 'GET' ? {} : { json: {} }) });
        expect(response.status, `${route.route}: ${response.text}`).toBe(403);
        expect(response.body).toEqual({ message: 'Forbidden' });
        expect(response.headers.get('www-authenticate')).toBe(`Bearer scope="${required.join(' ')}" error="insufficient_scope" error_description="expected scopes: [${required.join(' ')}]"`);
        refused += 1;
      }
    }
    expect(stack.logs.filter((line) => line.event === 'http.request').length, 'no function ran').toBe(invocationsBefore);
    const scoped = await stack.tokens.mint('alice', { scopes: ['reelay/api'] });
    expect((await stack.request<{ videos: unknown[] }>('GET', '/api/videos', { token: scoped })).body.videos, 'nothing was created').toEqual([]);
    recordFigures(context, {
      scenario,
      case: 'tokens without the route\'s scope (none, openid only, another level\'s, near misses) on every scoped route',
      injected: { 'tokens without a required scope': tokens.length, requests },
      observed: { 'answered 403 {"message":"Forbidden"} by the gateway': refused },
      checked: requests,
      lost: 0,
      extraAssets: 0,
    });
  });
});
