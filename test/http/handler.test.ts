import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  ConflictError,
  DatabaseError,
  DatabaseUnavailableError,
  MuxApiError,
  NotFoundError,
} from '../../shared/errors.js';
import { memoryLogger } from '../../shared/log.js';
import { httpHandler, route } from '../../shared/http/handler.js';
import { idParams } from '../../shared/http/text.js';
import type { Principal } from '../../shared/http/principal.js';
import type { HttpEvent, HttpResult, JwtClaims } from '../../shared/http/types.js';
import { buildHttpEvent, lambdaContext, type HttpEventInput } from '../../local/api-gateway/event.js';

const videoId = '0b6f1c1e-8a55-4f43-9d5e-3c1a2b4d5e6f';
const alice: JwtClaims = { sub: 'alice', 'cognito:groups': '[editors]' };
const secret = 'postgres://reelay:hunter2@db.internal:5432/reelay';

const createBody = z.object({
  title: z.string().min(1),
  size: z.number().int().positive(),
  options: z.object({ mp4: z.boolean() }).optional(),
});

function buildHandler(adminGroup = 'admin') {
  const logger = memoryLogger();
  const calls: string[] = [];
  const handler = httpHandler({
    name: 'things',
    logger,
    adminGroup,
    routes: {
      'POST /api/things': route({
        auth: 'user',
        body: createBody,
        maxBodyBytes: 1024,
        handle: async ({ body, principal, logger: requestLogger }) => {
          expectTypeOf(body).toEqualTypeOf<z.output<typeof createBody>>();
          expectTypeOf(principal.sub).toEqualTypeOf<string>();
          calls.push('create');
          requestLogger.info('things.created', { title: body.title });
          return { status: 201, body: { owner: principal.sub, title: body.title, size: body.size, mp4: body.options?.mp4 ?? null } };
        },
      }),
      'GET /api/things/{id}': route({
        auth: 'user',
        params: idParams,
        query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
        handle: async ({ params, query }) => {
          expectTypeOf(params.id).toEqualTypeOf<string>();
          expectTypeOf(query.limit).toEqualTypeOf<number>();
          calls.push('get');
          return { status: 200, body: { id: params.id, limit: query.limit } };
        },
      }),
      'DELETE /api/things/{id}': route({ auth: 'user', params: idParams, handle: async () => ({ status: 204 }) }),
      'GET /api/admin/stats': route({
        auth: 'admin',
        handle: async ({ principal }) => {
          calls.push('stats');
          return { status: 200, body: { admin: principal.sub, count: 3n } };
        },
      }),
      'POST /api/hooks': route({
        auth: 'none',
        handle: async ({ rawBody, headers, body, principal }) => {
          expectTypeOf(body).toEqualTypeOf<undefined>();
          expectTypeOf(principal).toEqualTypeOf<Principal | undefined>();
          return { status: 200, body: { rawBody, signature: headers['mux-signature'] ?? null, parsed: body ?? null } };
        },
      }),
      'GET /api/fail/{kind}': route({
        auth: 'none',
        handle: async ({ params }) => {
          switch (params.kind) {
            case 'bug': throw new Error(`cannot connect to ${secret}`);
            case 'database': throw new DatabaseError({ message: `relation "videos" does not exist at ${secret}`, sqlState: '42P01' });
            case 'resuming': throw new DatabaseUnavailableError('The database is resuming; try again shortly.', 'resuming');
            case 'mux': throw new MuxApiError(`Mux said 500 with token ${secret}`, 500, true);
            case 'conflict': throw new ConflictError('The upload is already complete.');
            default: throw new NotFoundError('No such video.');
          }
        },
      }),
    },
  });
  const call = async (input: HttpEventInput, adjust = (event: HttpEvent) => event): Promise<{ status: number | undefined; headers: HttpResult['headers']; json: unknown; result: HttpResult }> => {
    const result = await handler(adjust(buildHttpEvent(input)), lambdaContext('things'));
    return { status: result.statusCode, headers: result.headers, json: result.body ? JSON.parse(result.body) : undefined, result };
  };
  return { call, calls, logger };
}

const json = { 'content-type': 'application/json' };
const post = (body: string, extra: Partial<HttpEventInput> = {}): HttpEventInput => ({ routeKey: 'POST /api/things', headers: json, body, claims: alice, ...extra });

describe('a route with a JSON body', () => {
  it('answers a valid request with its status and a JSON body', async () => {
    const { call } = buildHandler();
    const response = await call(post(JSON.stringify({ title: 'Cat', size: 10, options: { mp4: true } })));
    expect(response.status).toBe(201);
    expect(response.headers?.['content-type']).toMatch(/^application\/json/);
    expect(response.json).toEqual({ owner: 'alice', title: 'Cat', size: 10, mp4: true });
  });

  it('decodes a base64-encoded body before parsing it', async () => {
    const { call } = buildHandler();
    const toBase64 = (event: HttpEvent): HttpEvent => ({ ...event, body: Buffer.from(event.body ?? '').toString('base64'), isBase64Encoded: true });
    const response = await call(post(JSON.stringify({ title: 'Cat', size: 10 })), toBase64);
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({ title: 'Cat', size: 10 });
  });

  it('refuses malformed JSON with 400 malformed_json', async () => {
    const { call, calls } = buildHandler();
    const response = await call(post('{"title": "Cat",'));
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ error: { code: 'malformed_json', message: expect.stringMatching(/not valid JSON/) } });
    expect(calls).toEqual([]);
  });

  it('names every missing field in the message and the details', async () => {
    const { call } = buildHandler();
    const response = await call(post('{}'));
    expect(response.status).toBe(400);
    expect(response.json).toEqual({
      error: {
        code: 'validation_failed',
        message: expect.stringMatching(/^Invalid request body: title: .*; size: /),
        details: [
          { path: ['title'], message: expect.any(String) },
          { path: ['size'], message: expect.any(String) },
        ],
      },
    });
  });

  it('reports wrong types with the path to the field, nested ones included', async () => {
    const { call } = buildHandler();
    const response = await call(post(JSON.stringify({ title: 'Cat', size: 'big', options: { mp4: 'yes' } })));
    expect(response.status).toBe(400);
    const details = (response.json as { error: { details: Array<{ path: unknown[]; message: string }> } }).error.details;
    expect(details.map((detail) => detail.path)).toEqual([['size'], ['options', 'mp4']]);
    expect(details[0]?.message).toMatch(/number/);
    expect(details[1]?.message).toMatch(/boolean/);
  });

  it('requires a body when the route has a schema', async () => {
    const { call } = buildHandler();
    const response = await call(post(''));
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ error: { code: 'validation_failed', message: 'A JSON request body is required.' } });
  });

  it('refuses a body that is not JSON by content type with 415', async () => {
    const { call } = buildHandler();
    const response = await call(post('title=Cat', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    expect(response.status).toBe(415);
    expect(response.json).toMatchObject({ error: { code: 'unsupported_media_type' } });
  });

  it('accepts a JSON body sent without a content type', async () => {
    const { call } = buildHandler();
    const response = await call(post(JSON.stringify({ title: 'Cat', size: 1 }), { headers: {} }));
    expect(response.status).toBe(201);
  });

  it('refuses a body over the route limit with 413 before parsing it', async () => {
    const { call, calls } = buildHandler();
    const response = await call(post(JSON.stringify({ title: 'x'.repeat(2000), size: 1 })));
    expect(response.status).toBe(413);
    expect(response.json).toMatchObject({ error: { code: 'payload_too_large', message: expect.stringMatching(/limit for this route is 1024 bytes/) } });
    expect(calls).toEqual([]);
  });
});

describe('path and query parameters', () => {
  it('passes a UUID id and coerced, defaulted query values to the route', async () => {
    const { call } = buildHandler();
    expect((await call({ routeKey: 'GET /api/things/{id}', pathParameters: { id: videoId }, claims: alice })).json).toEqual({ id: videoId, limit: 20 });
    expect((await call({ routeKey: 'GET /api/things/{id}', pathParameters: { id: videoId }, rawQueryString: 'limit=5', claims: alice })).json).toEqual({ id: videoId, limit: 5 });
  });

  it('answers a non-UUID id with 400 naming the parameter, not 404 or 500', async () => {
    const { call, calls } = buildHandler();
    const response = await call({ routeKey: 'GET /api/things/{id}', pathParameters: { id: 'not-a-uuid' }, claims: alice });
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ error: { code: 'validation_failed', message: 'Invalid path parameters: id: must be a UUID', details: [{ path: ['id'], message: 'must be a UUID' }] } });
    expect(calls).toEqual([]);
  });

  it('answers an invalid query value with 400', async () => {
    const { call } = buildHandler();
    const response = await call({ routeKey: 'GET /api/things/{id}', pathParameters: { id: videoId }, rawQueryString: 'limit=lots', claims: alice });
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ error: { code: 'validation_failed', details: [{ path: ['limit'] }] } });
  });

  it('answers 204 without a body or content type', async () => {
    const { result } = await buildHandler().call({ routeKey: 'DELETE /api/things/{id}', pathParameters: { id: videoId }, claims: alice });
    expect(result.statusCode).toBe(204);
    expect(result.body).toBeUndefined();
    expect(result.headers?.['content-type']).toBeUndefined();
  });
});

describe('auth levels', () => {
  it('answers 401 without claims, with a Bearer challenge, before looking at the body', async () => {
    const { call, calls } = buildHandler();
    const response = await call(post('{not json', { claims: undefined }));
    expect(response.status).toBe(401);
    expect(response.headers?.['www-authenticate']).toBe('Bearer');
    expect(response.json).toMatchObject({ error: { code: 'unauthorized' } });
    expect(calls).toEqual([]);
  });

  it('answers 401 when the claims carry no subject', async () => {
    const { call } = buildHandler();
    expect((await call(post('{}', { claims: { 'cognito:groups': '[admin]' } }))).status).toBe(401);
  });

  it('answers 403 to a user outside the admin group on an admin route', async () => {
    const { call, calls } = buildHandler();
    const response = await call({ routeKey: 'GET /api/admin/stats', claims: alice });
    expect(response.status).toBe(403);
    expect(response.json).toMatchObject({ error: { code: 'forbidden', message: 'This operation requires the admin group.' } });
    expect(calls).toEqual([]);
    expect((await call({ routeKey: 'GET /api/admin/stats' })).status).toBe(401);
  });

  it.each(['[admin other]', '["other","admin"]', 'admin'])('lets an admin whose groups read %j in', async (groups) => {
    const { call } = buildHandler();
    const response = await call({ routeKey: 'GET /api/admin/stats', claims: { sub: 'root', 'cognito:groups': groups } });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ admin: 'root', count: 3 });
  });

  it.each(['other,admin', '[other,admin]', 'x admin', ' admin ', '[ admin]', '["x,admin"]'])('answers 403 to groups that read %j', async (groups) => {
    const { call, calls } = buildHandler();
    const response = await call({ routeKey: 'GET /api/admin/stats', claims: { sub: 'mallory', 'cognito:groups': groups } });
    expect(response.status).toBe(403);
    expect(calls).toEqual([]);
  });

  it('admits the configured admin group only', async () => {
    const { call } = buildHandler('reelay-ops');
    const stats = (groups: string) => call({ routeKey: 'GET /api/admin/stats', claims: { sub: 'root', 'cognito:groups': groups } });
    expect((await stats('[reelay-ops]')).status).toBe(200);
    expect((await stats('[admin]')).status).toBe(403);
  });

  it('refuses to build a handler whose token routes have no admin group', () => {
    const routes = { 'GET /api/things': route({ auth: 'user', handle: async () => ({ status: 200 }) }) };
    expect(() => httpHandler({ name: 'forgetful', routes })).toThrow(/need adminGroup/);
    expect(() => httpHandler({ name: 'public', routes: { 'GET /api/open': route({ auth: 'none', handle: async () => ({ status: 200 }) }) } })).not.toThrow();
  });
});

describe('a raw-body route', () => {
  const exact = '{ "type":"video.asset.ready",\n  "data": {"title":"Café ☕"} }\n';

  it('gets the body exactly as sent, and the headers lower-cased, without JSON parsing', async () => {
    const { call } = buildHandler();
    const response = await call({ routeKey: 'POST /api/hooks', headers: { 'Content-Type': 'application/json', 'Mux-Signature': 't=1,v1=abc' }, body: exact });
    expect(response.json).toEqual({ rawBody: exact, signature: 't=1,v1=abc', parsed: null });
    const notJson = await call({ routeKey: 'POST /api/hooks', headers: json, body: '{broken' });
    expect(notJson.json).toMatchObject({ rawBody: '{broken' });
  });

  it('gets the same bytes when API Gateway base64-encoded them', async () => {
    const { call } = buildHandler();
    const response = await call({ routeKey: 'POST /api/hooks', headers: { 'content-type': 'application/vnd.unknown' }, body: exact });
    expect(response.json).toMatchObject({ rawBody: exact });
  });
});

describe('errors', () => {
  it('maps typed errors to their status and the error shape', async () => {
    const { call } = buildHandler();
    expect(await call({ routeKey: 'GET /api/fail/{kind}', pathParameters: { kind: 'conflict' } })).toMatchObject({ status: 409, json: { error: { code: 'conflict', message: 'The upload is already complete.' } } });
    expect(await call({ routeKey: 'GET /api/fail/{kind}', pathParameters: { kind: 'missing' } })).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
  });

  it('answers a resuming database with 503 and Retry-After', async () => {
    const response = await buildHandler().call({ routeKey: 'GET /api/fail/{kind}', pathParameters: { kind: 'resuming' } });
    expect(response.status).toBe(503);
    expect(response.headers?.['retry-after']).toBe('15');
    expect(response.json).toMatchObject({ error: { code: 'database_unavailable' } });
  });

  it.each([
    ['bug', 500, 'internal_error'],
    ['database', 500, 'internal_error'],
    ['mux', 502, 'mux_api_error'],
  ])('hides the internals of a %s failure but logs them', async (kind, status, code) => {
    const { call, logger } = buildHandler();
    const response = await call({ routeKey: 'GET /api/fail/{kind}', pathParameters: { kind } });
    expect(response.status).toBe(status);
    expect(response.json).toMatchObject({ error: { code, message: expect.stringContaining(`request `) } });
    expect(response.result.body).not.toContain('hunter2');
    expect(response.result.body).not.toContain('videos');
    const logged = logger.lines.find((line) => line.level === 'error');
    expect(JSON.stringify(logged)).toContain('hunter2');
  });

  it('answers a route key the function does not serve with 404, not 500', async () => {
    const { call } = buildHandler();
    const response = await call({ routeKey: 'GET /api/other' });
    expect(response.status).toBe(404);
  });

  it('refuses route keys that are not "METHOD /path" when the handler is built', () => {
    expect(() => httpHandler({ name: 'bad', routes: { '/api/things': route({ auth: 'none', handle: async () => ({ status: 200 }) }) } })).toThrow(/not a route key/);
  });
});

describe('request logging', () => {
  it('logs one line per request with the request id, route, status and latency', async () => {
    const { call, logger } = buildHandler();
    await call(post(JSON.stringify({ title: 'Cat', size: 1 })));
    await call(post('{'));
    const requests = logger.lines.filter((line) => line.event === 'http.request');
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({ function: 'things', routeKey: 'POST /api/things', method: 'POST', status: 201, latencyMs: expect.any(Number), requestId: expect.any(String), coldStart: true });
    expect(requests[1]).toMatchObject({ status: 400, coldStart: false });
    expect(logger.lines.find((line) => line.event === 'things.created')).toMatchObject({ requestId: requests[0]?.requestId, title: 'Cat' });
  });
});
