import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../../shared/log.js';
import { httpHandler, route } from '../../shared/http/handler.js';
import { idParams } from '../../shared/http/text.js';
import type { HttpEvent, LambdaContext } from '../../shared/http/types.js';
import { createLocalAuth, type LocalAuth } from '../../local/auth/local-auth.js';
import { startApiGateway, type ApiGateway, type HttpFunction } from '../../local/api-gateway/server.js';
import { loadRouteTable, withRouteScopes } from '../../local/api-gateway/routes.js';

const videoId = '3f2b8c4e-1d2a-4b6c-8e9f-0a1b2c3d4e5f';

interface Invocation {
  readonly event: HttpEvent;
  readonly context: LambdaContext;
  readonly remainingMs: number;
}

let auth: LocalAuth;
let strangerAuth: LocalAuth;
let gateway: ApiGateway;
let dirs: string[] = [];
let invocations: Invocation[] = [];
let nextResult: unknown;
let staticDir: string;

const recorder: HttpFunction = async (event, context) => {
  invocations.push({ event, context, remainingMs: context.getRemainingTimeInMillis() });
  if (nextResult instanceof Error) throw nextResult;
  return nextResult;
};

// The real toolkit behind the emulator: what API Gateway and the handler each answer must line up.
const admin = httpHandler({
  name: 'admin',
  logger: silentLogger,
  adminGroup: 'admin',
  routes: {
    'GET /api/debug/video-diagnostics': route({ auth: 'admin', handle: async ({ principal }) => ({ status: 200, body: { admin: principal.sub } }) }),
  },
});
const videos = httpHandler({
  name: 'videos',
  logger: silentLogger,
  adminGroup: 'admin',
  routes: {
    'GET /api/videos/{id}': route({ auth: 'user', params: idParams, handle: async ({ params, principal }) => ({ status: 200, body: { id: params.id, owner: principal.sub } }) }),
    'GET /api/videos': route({ auth: 'user', query: z.object({ limit: z.coerce.number().int().max(100) }), handle: async ({ query }) => ({ status: 200, body: query }) }),
  },
});

let localMetricSum = 0;

beforeAll(async () => {
  const root = await mkdtemp(join(tmpdir(), 'reelay-apigw-'));
  dirs.push(root);
  auth = await createLocalAuth({ dir: join(root, 'keys') });
  strangerAuth = await createLocalAuth({ dir: join(root, 'other-keys') });
  staticDir = join(root, 'www');
  await mkdir(join(staticDir, 'assets'), { recursive: true });
  await writeFile(join(staticDir, 'index.html'), '<h1>reelay console</h1>');
  await writeFile(join(staticDir, 'assets', 'app.js'), 'console.log("hi")');
  await writeFile(join(root, 'secret.txt'), 'TOP SECRET');
  await symlink(join(root, 'secret.txt'), join(staticDir, 'leak.txt'));
  gateway = await startApiGateway({
    port: 0,
    routes: loadRouteTable().routes,
    handlers: { uploads: recorder, health: recorder, 'mux-webhook': recorder, admin, videos },
    jwt: { issuer: auth.issuer, audience: auth.audience, jwks: auth.jwks },
    staticDir,
    corsOrigins: ['http://localhost:5173', 'http://127.0.0.1:5173'],
    localRoutes: { '/_local/metrics': () => ({ metrics: [{ metric: 'FallbackCreates', sum: localMetricSum }] }) },
    logger: silentLogger,
  });
});

afterAll(async () => {
  await gateway.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  dirs = [];
});

beforeEach(() => {
  invocations = [];
  nextResult = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('the local stack’s own routes', () => {
  it('answers GET with the JSON its function returns at that moment, without a token or a function invocation', async () => {
    localMetricSum = 2;
    const first = await fetch(`${gateway.url}/_local/metrics`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/json');
    expect(await first.json()).toEqual({ metrics: [{ metric: 'FallbackCreates', sum: 2 }] });
    localMetricSum = 3;
    expect(await (await fetch(`${gateway.url}/_local/metrics`)).json()).toEqual({ metrics: [{ metric: 'FallbackCreates', sum: 3 }] });
    expect(invocations).toEqual([]);
    // Only GET (and HEAD): anything else is API Gateway's 404, and other /_local paths are not routes.
    expect((await fetch(`${gateway.url}/_local/metrics`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${gateway.url}/_local/other`)).status).toBe(404);
  });
});

describe('the payload 2.0 event', () => {
  it('carries the route, path, query, cookies, headers, body and verified claims', async () => {
    const token = await auth.mintToken({ sub: 'alice', admin: true });
    const response = await fetch(`${gateway.url}/api/videos/${videoId}/upload/parts?batch=1&batch=2&from=a%20b`, {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'application/json', 'X-Trace': 'abc', cookie: 'a=1; b=2', 'user-agent': 'reelay-test' },
      body: JSON.stringify({ partNumbers: [1, 2] }),
    });
    expect(response.status).toBe(200);
    expect(invocations).toHaveLength(1);
    const [{ event, context, remainingMs }] = invocations as [Invocation];
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /api/videos/{id}/upload/parts',
      rawPath: `/api/videos/${videoId}/upload/parts`,
      rawQueryString: 'batch=1&batch=2&from=a%20b',
      cookies: ['a=1', 'b=2'],
      queryStringParameters: { batch: '1,2', from: 'a b' },
      pathParameters: { id: videoId },
      body: '{"partNumbers":[1,2]}',
      isBase64Encoded: false,
    });
    expect(event.headers).toMatchObject({ 'x-trace': 'abc', 'content-type': 'application/json', 'user-agent': 'reelay-test' });
    expect(event.headers.cookie).toBeUndefined();
    expect(event.requestContext).toMatchObject({
      accountId: expect.stringMatching(/^\d{12}$/),
      apiId: expect.any(String),
      domainName: new URL(gateway.url).host,
      http: { method: 'POST', path: `/api/videos/${videoId}/upload/parts`, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'reelay-test' },
      requestId: response.headers.get('apigw-requestid'),
      routeKey: 'POST /api/videos/{id}/upload/parts',
      stage: '$default',
      time: expect.stringMatching(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/),
    });
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(10_000);
    const claims = event.requestContext.authorizer?.jwt.claims;
    expect(claims).toMatchObject({ sub: 'alice', 'cognito:groups': '[admin]', iss: auth.issuer, aud: 'reelay-local' });
    expect(claims?.exp).toMatch(/^\d+$/);
    expect(context).toMatchObject({ functionName: 'uploads', functionVersion: '$LATEST', awsRequestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(remainingMs).toBeGreaterThan(25_000);
    expect(remainingMs).toBeLessThanOrEqual(30_000);
  });

  it('has no authorizer block and needs no token on a public route', async () => {
    const response = await fetch(`${gateway.url}/api/database/health`);
    expect(response.status).toBe(200);
    expect(invocations[0]?.event.requestContext.authorizer).toBeUndefined();
    expect(invocations[0]?.event.queryStringParameters).toBeUndefined();
    expect(invocations[0]?.event.body).toBeUndefined();
  });

  it('base64-encodes a binary body and keeps every byte', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 255, 10, 13]);
    await fetch(`${gateway.url}/api/webhooks/mux`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    const event = invocations[0]?.event;
    expect(event?.isBase64Encoded).toBe(true);
    expect(Buffer.from(event?.body ?? '', 'base64')).toEqual(bytes);
  });

  it('passes a JSON body as text, byte for byte', async () => {
    const body = '{"type":"video.asset.ready",  "data":{"title":"Café ☕"}}\n';
    await fetch(`${gateway.url}/api/webhooks/mux`, { method: 'POST', headers: { 'content-type': 'application/json', 'mux-signature': 't=1,v1=00' }, body });
    expect(invocations[0]?.event).toMatchObject({ body, isBase64Encoded: false, headers: { 'mux-signature': 't=1,v1=00' } });
  });
});

describe('the JWT authorizer', () => {
  const protectedUrl = () => `${gateway.url}/api/videos/${videoId}/upload/parts`;

  async function expectUnauthorized(headers: Record<string, string>): Promise<string | null> {
    const response = await fetch(protectedUrl(), { headers });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: 'Unauthorized' });
    expect(invocations).toHaveLength(0);
    return response.headers.get('www-authenticate');
  }

  it('lets a valid token through, with or without the Bearer prefix', async () => {
    const token = await auth.mintToken({ sub: 'alice' });
    expect((await fetch(protectedUrl(), { headers: bearer(token) })).status).toBe(200);
    expect((await fetch(protectedUrl(), { headers: { authorization: token } })).status).toBe(200);
    expect(invocations).toHaveLength(2);
  });

  it('refuses a request without a token with a bare Bearer challenge, as API Gateway does', async () => {
    expect(await expectUnauthorized({})).toBe('Bearer');
  });

  it('refuses an expired token', async () => {
    await expectUnauthorized(bearer(await auth.mintToken({ sub: 'alice', expiresIn: -60 })));
  });

  it('refuses a token that is not valid yet', async () => {
    await expectUnauthorized(bearer(await auth.mintToken({ sub: 'alice', notBeforeIn: 600 })));
  });

  it('refuses a token for another audience and says so', async () => {
    const challenge = await expectUnauthorized(bearer(await auth.mintToken({ sub: 'alice', audience: 'someone-else' })));
    expect(challenge).toMatch(/error="invalid_token".*audience/);
  });

  it('accepts a matching client_id only when the token has no aud', async () => {
    const accessToken = await auth.mintToken({ sub: 'alice', audience: null, claims: { client_id: 'reelay-local' } });
    expect((await fetch(protectedUrl(), { headers: bearer(accessToken) })).status).toBe(200);
    invocations = [];
    await expectUnauthorized(bearer(await auth.mintToken({ sub: 'alice', audience: 'other', claims: { client_id: 'reelay-local' } })));
  });

  it('refuses a token from another issuer', async () => {
    await expectUnauthorized(bearer(await auth.mintToken({ sub: 'alice', issuer: 'https://evil.invalid/issuer' })));
  });

  it('refuses a token signed by a key not in the JWKS', async () => {
    await expectUnauthorized(bearer(await strangerAuth.mintToken({ sub: 'alice' })));
  });

  it('refuses a token whose claims were changed after signing', async () => {
    const [header, , signature] = (await auth.mintToken({ sub: 'alice' })).split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ sub: 'mallory', iss: auth.issuer, aud: auth.audience, exp: Math.floor(Date.now() / 1000) + 600, 'cognito:groups': ['admin'] })).toString('base64url');
    await expectUnauthorized(bearer(`${header}.${forgedPayload}.${signature}`));
  });

  it('refuses garbage', async () => {
    await expectUnauthorized(bearer('not.a.jwt'));
  });

  it('publishes its JWKS, against which its tokens verify', async () => {
    const token = await auth.mintToken({ sub: 'alice' });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${gateway.url}/.well-known/jwks.json`)), { issuer: auth.issuer, audience: auth.audience });
    expect(payload.sub).toBe('alice');
    const jwks = (await (await fetch(`${gateway.url}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });
});

describe('routing and results', () => {
  it('answers an unknown route, or a known path with another method, with 404 like API Gateway', async () => {
    for (const [method, path] of [['GET', '/api/nothing'], ['PUT', '/api/videos/upload'], ['DELETE', '/api/videos']]) {
      const response = await fetch(`${gateway.url}${path}`, { method });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ message: 'Not Found' });
    }
    expect(invocations).toHaveLength(0);
  });

  it('turns the 2.0 shorthand (a plain object) into a 200 JSON response', async () => {
    nextResult = { status: 'ok', database: { connected: true } };
    const response = await fetch(`${gateway.url}/api/database/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: 'ok', database: { connected: true } });
  });

  it('passes status, headers, cookies and base64 bodies of a structured result', async () => {
    nextResult = { statusCode: 202, headers: { 'X-Custom': 'yes', 'content-type': 'image/png' }, cookies: ['a=1; Path=/', 'b=2'], body: Buffer.from([137, 80, 78, 71]).toString('base64'), isBase64Encoded: true };
    const response = await fetch(`${gateway.url}/api/database/health`);
    expect(response.status).toBe(202);
    expect(response.headers.get('x-custom')).toBe('yes');
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from([137, 80, 78, 71]));
  });

  it('answers 500 {"message":"Internal Server Error"} when the function throws', async () => {
    nextResult = new Error('boom with secrets');
    const response = await fetch(`${gateway.url}/api/database/health`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('{"message":"Internal Server Error"}');
  });

  it('refuses a body over API Gateway\'s 10 MB limit with 413', async () => {
    const response = await fetch(`${gateway.url}/api/webhooks/mux`, { method: 'POST', body: Buffer.alloc(10 * 1024 * 1024 + 1) });
    expect(response.status).toBe(413);
    expect(invocations).toHaveLength(0);
  });
});

describe('the handler toolkit behind the emulator', () => {
  it('gives 400 for a non-UUID id and 200 for a UUID', async () => {
    const headers = bearer(await auth.mintToken({ sub: 'alice' }));
    const bad = await fetch(`${gateway.url}/api/videos/12345`, { headers });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'validation_failed', details: [{ path: ['id'] }] } });
    const good = await fetch(`${gateway.url}/api/videos/${videoId}`, { headers });
    expect(await good.json()).toEqual({ id: videoId, owner: 'alice' });
    expect((await fetch(`${gateway.url}/api/videos?limit=1000`, { headers })).status).toBe(400);
  });

  it('gives 401 without a token, 403 to a user and 200 to an admin on an admin route', async () => {
    const url = `${gateway.url}/api/debug/video-diagnostics`;
    expect((await fetch(url)).status).toBe(401);
    const user = await fetch(url, { headers: bearer(await auth.mintToken({ sub: 'bob', groups: ['editors'] })) });
    expect(user.status).toBe(403);
    expect(await user.json()).toMatchObject({ error: { code: 'forbidden' } });
    const root = await fetch(url, { headers: bearer(await auth.mintToken({ sub: 'root', admin: true, groups: ['editors'] })) });
    expect(root.status).toBe(200);
    expect(await root.json()).toEqual({ admin: 'root' });
  });

  it('renders array claims as API Gateway does, so a group named "x,admin" reaches the function as "[x,admin editors]"', async () => {
    const token = await auth.mintToken({ sub: 'mallory', groups: ['x,admin', 'editors'], claims: { amr: ['pwd', 'mfa'], nested: { a: 1 }, n: 7, ok: true } });
    await fetch(`${gateway.url}/api/videos/${videoId}/upload/parts`, { method: 'POST', headers: bearer(token) });
    expect(invocations[0]?.event.requestContext.authorizer?.jwt.claims).toMatchObject({
      'cognito:groups': '[x,admin editors]',
      amr: '[pwd mfa]',
      nested: '{"a":1}',
      n: '7',
      ok: 'true',
    });
  });

  it.each([[['x,admin']], [[' admin ']], [[' admin']], [['admin,x', 'editors']], [['x', ' admin']]])(
    'answers 403 on an admin route to a token whose groups are %j',
    async (groups) => {
      const response = await fetch(`${gateway.url}/api/debug/video-diagnostics`, { headers: bearer(await auth.mintToken({ sub: 'mallory', groups })) });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: { code: 'forbidden' } });
    },
  );

  it('cannot tell the group "x admin" from the groups x and admin: the documented limit of the "[a b]" form', async () => {
    // Cognito group names cannot hold whitespace, so its tokens never meet this; see docs/DEPLOY.md for other issuers.
    const token = await auth.mintToken({ sub: 'mallory', groups: ['x admin'] });
    await fetch(`${gateway.url}/api/videos/${videoId}/upload/parts`, { method: 'POST', headers: bearer(token) });
    expect(invocations[0]?.event.requestContext.authorizer?.jwt.claims['cognito:groups']).toBe('[x admin]');
  });
});

describe('route scopes (API Gateway authorizationScopes)', () => {
  let scoped: ApiGateway;
  const scopes = { 'POST /api/videos/upload': ['reelay/upload', 'reelay/all'], admin: ['reelay/admin'] };

  beforeAll(async () => {
    scoped = await startApiGateway({
      port: 0,
      routes: withRouteScopes(loadRouteTable().routes, scopes),
      handlers: { uploads: recorder, health: recorder, 'mux-webhook': recorder, admin, videos },
      jwt: { issuer: auth.issuer, audience: auth.audience, jwks: auth.jwks },
      logger: silentLogger,
    });
  });
  afterAll(() => scoped.close());

  it('answers a valid token without one of the route scopes 403 {"message":"Forbidden"}, as API Gateway does, and never runs the function', async () => {
    for (const token of [await auth.mintToken({ sub: 'alice' }), await auth.mintToken({ sub: 'alice', scopes: ['openid', 'reelay/admin'] })]) {
      const response = await fetch(`${scoped.url}/api/videos/upload`, { method: 'POST', headers: bearer(token) });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ message: 'Forbidden' });
      expect(response.headers.get('www-authenticate')).toBe(
        'Bearer scope="reelay/upload reelay/all" error="insufficient_scope" error_description="expected scopes: [reelay/upload reelay/all]"',
      );
    }
    expect(invocations).toHaveLength(0);
  });

  it('lets a token with any one of the scopes through, from `scope` or from an `scp` array', async () => {
    const viaScope = await auth.mintToken({ sub: 'alice', scopes: ['openid', 'reelay/all'] });
    const viaScp = await auth.mintToken({ sub: 'alice', claims: { scp: ['reelay/upload'] } });
    for (const token of [viaScope, viaScp]) {
      expect((await fetch(`${scoped.url}/api/videos/upload`, { method: 'POST', headers: bearer(token) })).status).toBe(200);
    }
    expect(invocations[0]?.event.requestContext.authorizer?.jwt.scopes).toEqual(['openid', 'reelay/all']);
  });

  it('applies a level\'s scopes to every route of that level, and none to other routes', async () => {
    const user = await auth.mintToken({ sub: 'alice' });
    const admin = await auth.mintToken({ sub: 'root', admin: true });
    expect((await fetch(`${scoped.url}/api/videos/${videoId}`, { headers: bearer(user) })).status).toBe(200);
    expect((await fetch(`${scoped.url}/api/debug/video-diagnostics`, { headers: bearer(admin) })).status).toBe(403);
    const scopedAdmin = await auth.mintToken({ sub: 'root', admin: true, scopes: ['reelay/admin'] });
    expect((await fetch(`${scoped.url}/api/debug/video-diagnostics`, { headers: bearer(scopedAdmin) })).status).toBe(200);
    // The scope opens API Gateway's door, not the admin group's.
    const scopedUser = await auth.mintToken({ sub: 'alice', scopes: ['reelay/admin'] });
    expect((await fetch(`${scoped.url}/api/debug/video-diagnostics`, { headers: bearer(scopedUser) })).status).toBe(403);
  });

  it('still answers 401 before looking at scopes', async () => {
    const response = await fetch(`${scoped.url}/api/videos/upload`, { method: 'POST' });
    expect(response.status).toBe(401);
  });

  it.each([
    [{ 'GET /api/nothing': ['a'] }, /neither a route/],
    [{ 'GET /api/database/health': ['a'] }, /public/],
    [{ none: ['a'] }, /neither a route/],
    [{ user: [] }, /one or more scopes/],
    [{ user: ['a b'] }, /one or more scopes/],
    [{ user: 'reelay/upload' }, /one or more scopes/],
    [['user'], /JSON object/],
  ])('refuses the setting %j', (setting, message) => {
    expect(() => withRouteScopes(loadRouteTable().routes, setting)).toThrow(message);
  });
});

describe('CORS for the local console', () => {
  it('answers a preflight from an allowed origin', async () => {
    const response = await fetch(`${gateway.url}/api/videos/upload`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(response.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(response.headers.get('access-control-allow-methods')).toMatch(/POST/);
  });

  it('allows no other origin', async () => {
    const response = await fetch(`${gateway.url}/api/database/health`, { headers: { origin: 'https://evil.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await fetch(`${gateway.url}/api/database/health`, { headers: { origin: 'http://127.0.0.1:5173' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
  });

  it('allows only its own origin when given no others', async () => {
    const plain = await startApiGateway({
      port: 0,
      routes: loadRouteTable().routes,
      handlers: { uploads: recorder },
      jwt: { issuer: auth.issuer, audience: auth.audience, jwks: auth.jwks },
      logger: silentLogger,
    });
    try {
      const preflight = (origin: string) =>
        fetch(`${plain.url}/api/videos/upload`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      expect((await preflight('http://localhost:5173')).headers.get('access-control-allow-origin')).toBeNull();
      expect((await preflight(plain.url)).headers.get('access-control-allow-origin')).toBe(plain.url);
    } finally {
      await plain.close();
    }
  });
});

function rawGet(path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ hostname, port, path, method: 'GET' }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('static files for the web console', () => {
  it('serves index.html at / and files with their content type', async () => {
    const index = await fetch(`${gateway.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await index.text()).toBe('<h1>reelay console</h1>');
    const script = await fetch(`${gateway.url}/assets/app.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toBe('console.log("hi")');
  });

  it.each(['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets/..%5c..%5csecret.txt', '/leak.txt', '/%00index.html'])(
    'refuses %s without revealing anything outside the folder',
    async (path) => {
      const response = await rawGet(path);
      expect(response.status).toBe(404);
      expect(response.body).not.toContain('TOP SECRET');
    },
  );
});
