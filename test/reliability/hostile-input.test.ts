/**
 * Hostile input: fast-check generates at least 1,000 malformed or adversarial requests per route — wrong
 * types, sizes, unicode, huge bodies, header tricks, path traversal, SQL-looking strings, wrong owners, bad JSON,
 * wrong content types, bad cursors, bad part numbers and ETags, forged webhooks, admin routes with a user's token;
 * and text PostgreSQL cannot store (NUL bytes, unpaired surrogates) in every text field, parameter and
 * header, huge numbers (1e308, past 2^53) and huge strings.
 * Every answer is a 4xx with an error body (reelay's `{ error: { code, message } }`, or API Gateway's own
 * `{ message }` for a missing token or an unmatched route), never a 5xx, and a rejected request writes nothing:
 * row counts, S3 objects, open multipart uploads and Mux assets are the same before and after.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAllowedContentTypes, MiB } from '../../shared/storage/config.js';
import type { TestStack } from '../support/local-stack.js';
import { createUpload, recordFigures, smallVideo, stackDatabase, startReliabilityStack, uploadRequest, uploadVideo, finalVideo, type VideoJson } from './support.js';
import type { Driver } from '../../shared/db/driver.js';

const scenario = '7. Hostile input';
const runsPerRoute = 1_000;
const maxUploadBytes = 512 * MiB;

interface HostileRequest {
  readonly method: string;
  /** Sent as is: no normalisation of `..`, no re-encoding. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

/** A raw HTTP/1.1 request: fetch would normalise `/../` and refuse some headers, which is what is under test here. */
function send(stack: TestStack, request: HostileRequest): Promise<Answer> {
  const url = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: url.hostname, port: url.port, method: request.method, path: request.path, headers: request.headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    // The gateway may answer 413 and close before a huge body is sent in full.
    outgoing.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? resolve({ status: 413, text: '{"message":"connection closed on a body past the limit"}' }) : reject(error)));
    if (request.body !== undefined) outgoing.write(request.body);
    outgoing.end();
  });
}

/** A 4xx with reelay's error body, or API Gateway's own `{ message }` for its 401, 404 and 413. */
function expectRejected(request: HostileRequest, answer: Answer): void {
  const described = `${request.method} ${request.path.slice(0, 200)} → ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, described).toBeGreaterThanOrEqual(400);
  expect(answer.status, described).toBeLessThan(500);
  // A request line or headers past the HTTP server's limits never reach the gateway: 431/414 without a body.
  if (answer.status === 431 || answer.status === 414) return;
  const body = JSON.parse(answer.text) as { error?: { code?: unknown; message?: unknown }; message?: unknown };
  if (body.error !== undefined) {
    expect(typeof body.error.code, described).toBe('string');
    expect(typeof body.error.message, described).toBe('string');
  } else {
    expect([401, 404, 413], described).toContain(answer.status);
    expect(typeof body.message, described).toBe('string');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries

const nastyStrings = [
  "' OR '1'='1", "'; DROP TABLE videos; --", '1; SELECT pg_sleep(10)', "\\'; COMMIT; --", '$1', ':videoId', '%s%s%n',
  '../../etc/passwd', '..\\..\\windows\\win.ini', '%2e%2e%2f%2e%2e%2f', '/dev/null', '\u0000', '\u202e\u0301', '😀🎬'.repeat(50),
  '<script>alert(1)</script>', '${jndi:ldap://127.0.0.1/x}', '{{7*7}}', 'NaN', 'Infinity', 'null', 'undefined', '__proto__', 'constructor',
  '0', '-1', '1e309', 'a'.repeat(70_000), ' ', '',
];
const nasty = fc.oneof(fc.constantFrom(...nastyStrings), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));
/** Text PostgreSQL cannot store as sent: a NUL byte (SQLSTATE 22021), or an unpaired surrogate (drivers write U+FFFD). */
const unstorable = fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\u0000\u0000', '\ud83d'), fc.string({ maxLength: 20 }))
  .map(([before, bad, after]) => `${before}${bad}${after}`);
/** Numbers no size, count, limit or part number can be. */
const hugeNumber = fc.constantFrom(1e308, -1e308, Number.MAX_VALUE, 2 ** 53 + 2, 2 ** 63, 1e21, Number.MIN_VALUE);
/** Strings past any field's length limit, multi-byte. */
const hugeString = (min: number) => fc.integer({ min, max: 200_000 }).map((length) => 'é'.repeat(length));
/** Query-string spellings of unstorable text: `%00`, and the UTF-8-style bytes of a lone surrogate (not valid UTF-8). */
const unstorableInQuery = fc.tuple(fc.stringMatching(/^[a-zA-Z0-9]{0,12}$/), fc.constantFrom('%00', '%ED%A0%80', '%ED%BF%BF', '%00%00'), fc.stringMatching(/^[a-zA-Z0-9]{0,12}$/))
  .map(([before, bad, after]) => `${before}${bad}${after}`);
/**
 * Anything JSON can carry that is not of the expected type: the caller picks what "wrong" means with a filter.
 * No NaN or ±Infinity: JSON.stringify sends them as `null`, which is a valid description (a counterexample CI found).
 */
const anyJson = fc.oneof(
  fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), nasty,
  fc.array(fc.oneof(fc.integer(), nasty), { maxLength: 4 }), fc.dictionary(nasty, fc.oneof(fc.integer(), nasty), { maxKeys: 3 }),
);
/** Path segments that are not a UUID: traversal, encoded slashes, SQL, unicode, empty. */
const notAnId = fc.oneof(
  fc.constantFrom('..', '%2e%2e', '..%2f..%2fdatabase%2fhealth', '%2F', 'null', '00000000-0000-0000-0000-00000000000g', '{id}', '*', '%00', '1%20OR%201=1'),
  // Not ".": a client resolves `/api/videos/.` to `/api/videos/`, the list route (API Gateway ignores the trailing
  // slash), which answers 200 by design.
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter((text) => text !== '.').map((text) => encodeURIComponent(text)),
  fc.uuid().map((id) => `${id}x`),
  fc.uuid().map((id) => id.replaceAll('-', '')),
  fc.tuple(fc.uuid(), unstorableInQuery).map(([id, bad]) => `${id.slice(0, 30)}${bad}`),
);
const hex = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength, maxLength });
const jsonContentTypes = ['application/json', 'application/json; charset=utf-8', 'application/vnd.api+json'];
const wrongContentTypes = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx', 'video/mp4', 'application/octet-stream'];

const validCreate = { title: 'Fine', filename: 'fine.mp4', contentType: 'video/mp4', size: 1024 };
const createFields = ['title', 'description', 'filename', 'contentType', 'size', 'options'] as const;

/** A create body broken in one way that a valid body can never be. */
const badCreateBody: fc.Arbitrary<{ json?: unknown; raw?: string }> = fc.oneof(
  // A required field missing.
  fc.constantFrom('title', 'filename', 'contentType', 'size').map((field) => ({ json: Object.fromEntries(Object.entries(validCreate).filter(([name]) => name !== field)) })),
  // A field of the wrong type.
  fc.tuple(fc.constantFrom(...createFields), anyJson).filter(([field, value]) => wrongTypeFor(field, value)).map(([field, value]) => ({ json: { ...validCreate, [field]: value } })),
  // An unknown field (the schema is strict), e.g. an attempt to choose the owner or the status.
  fc.tuple(fc.constantFrom('ownerId', 'owner_id', 'status', 'id', 's3Key', '__proto__', 'muxAssetId'), anyJson).map(([field, value]) => ({ raw: JSON.stringify(validCreate).replace(/}$/, `,${JSON.stringify(field)}:${JSON.stringify(value ?? null)}}`) })),
  // Sizes no upload may have.
  fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: maxUploadBytes + 1 }), fc.double({ noInteger: true }), fc.constant(Number.MAX_VALUE)).map((size) => ({ json: { ...validCreate, size } })),
  // A content type outside the video allowlist (SQL-looking, unicode, parameters, case tricks, other families).
  fc.oneof(nasty, fc.constantFrom('image/png', 'text/html', 'application/x-sh', 'video', 'video/', '*/*', 'audio/mp4')).filter((type) => !defaultAllowedContentTypes.includes(type.split(';')[0]?.trim().toLowerCase() ?? '')).map((contentType) => ({ json: { ...validCreate, contentType } })),
  // Strings outside their bounds, with hostile content.
  // (Titles are trimmed before the length check.)
  fc.oneof(fc.constant(''), fc.constant('   '), fc.string({ minLength: 201, maxLength: 400 }).filter((title) => title.trim().length > 200)).map((title) => ({ json: { ...validCreate, title } })),
  nasty.map((text) => ({ json: { ...validCreate, filename: `${text}${'x'.repeat(256)}` } })),
  // Not JSON, or not an object.
  fc.oneof(nasty, fc.constantFrom('{', '{"title":', '[]', '"a string"', '42', 'null', '{"title": "x",}', "{'title': 'x'}", '\u0000{}')).filter(isNotAnObjectBody).map((raw) => ({ raw })),
  // Text the database cannot store, in any text field of an otherwise valid body.
  fc.tuple(fc.constantFrom('title', 'description', 'filename', 'contentType'), unstorable).map(([field, value]) => ({ json: { ...validCreate, [field]: value } })),
  // Huge numbers, and huge strings in every text field (the body stays under 1 MiB).
  hugeNumber.map((size) => ({ json: { ...validCreate, size } })),
  fc.tuple(fc.constantFrom('title', 'description', 'filename', 'contentType'), hugeString(5_001)).map(([field, value]) => ({ json: { ...validCreate, [field]: value } })),
  // Options of the wrong shape.
  anyJson.filter((value) => value !== undefined && !(typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0)).map((options) => ({ json: { ...validCreate, options: typeof options === 'object' && options !== null && !Array.isArray(options) ? { ...options, unknownOption: true } : options } })),
);

function wrongTypeFor(field: (typeof createFields)[number], value: unknown): boolean {
  switch (field) {
    case 'title':
    case 'filename':
      return typeof value !== 'string';
    case 'contentType':
      return typeof value !== 'string';
    case 'description':
      return value !== null && typeof value !== 'string';
    case 'size':
      return typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value > maxUploadBytes;
    case 'options':
      return typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length > 0;
  }
}

function isNotAnObjectBody(raw: string): boolean {
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.keys(parsed).length === 0;
  } catch {
    return true;
  }
}

const badPartNumbers = fc.oneof(
  fc.constant([]),
  fc.array(fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 10_001 }), fc.double({ noInteger: true }), nasty, fc.constant(null)), { minLength: 1, maxLength: 5 }),
  fc.integer({ min: 1, max: 10_000 }).map((part) => [part, part]),
  fc.constant(Array.from({ length: 1_001 }, (_, index) => index + 1)),
  anyJson.filter((value) => !Array.isArray(value)),
  fc.array(hugeNumber, { minLength: 1, maxLength: 3 }),
);

const cursorTimestamps = fc.oneof(
  fc.constantFrom('2024-13-01 00:00:00', '2024-02-30 10:00:00', '2024-01-01 25:61:61', '9999-99-99 99:99:99', '0000-00-00 00:00:00', '2024-01-01T00:00:00.1234567890123', '2024-01-01 ::::'),
  fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 })).map(
    ([year, month, day, hour, minute]) => `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')} ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00`,
  ),
);
const cursorIds = fc.oneof(fc.constantFrom('-'.repeat(36), 'g'.repeat(36), '0'.repeat(36)), fc.stringMatching(/^[0-9a-f-]{36}$/));
/** Cursors this API never returned: garbage, and well-formed envelopes around impossible values. */
const badCursor = fc.oneof(
  nasty.filter((text) => text.length > 0 && text.length <= 512),
  fc.tuple(cursorTimestamps, cursorIds).map((pair) => Buffer.from(JSON.stringify(pair)).toString('base64url')),
  anyJson.map((value) => Buffer.from(JSON.stringify(value) ?? 'x').toString('base64url')),
).filter((cursor) => !isValidCursor(cursor));

function isValidCursor(cursor: string): boolean {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) && !Number.isNaN(Date.parse(`${createdAt.replace(' ', 'T')}Z`)) && new Date(`${createdAt.replace(' ', 'T')}Z`).toISOString().slice(0, 19) === createdAt.replace(' ', 'T').slice(0, 19);
  } catch {
    return false;
  }
}

const badListQuery = fc.oneof(
  fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 101 }), fc.double({ noInteger: true }), nasty.filter((text) => !/^\s*\d+\s*$/.test(text))).map((limit) => `limit=${encodeURIComponent(String(limit))}`),
  badCursor.map((cursor) => `cursor=${encodeURIComponent(cursor)}`),
  fc.tuple(fc.constantFrom('owner', 'ownerId', 'all', 'admin', 'sort', 'status'), nasty).map(([name, value]) => `${name}=${encodeURIComponent(value)}`),
  fc.string({ minLength: 513, maxLength: 600 }).map((cursor) => `cursor=${encodeURIComponent(cursor)}`),
  unstorableInQuery.map((cursor) => `cursor=${cursor}`),
  fc.tuple(badCursor, fc.constantFrom('%00', '%ED%A0%80')).map(([cursor, bad]) => `cursor=${encodeURIComponent(cursor.slice(0, 500))}${bad}`),
  hugeNumber.map((limit) => `limit=${encodeURIComponent(String(limit))}`),
);

/** Idempotency-Key values that are not 1–255 visible ASCII characters (node refuses NUL, DEL and CR/LF in a header). */
const badIdempotencyKey = fc.oneof(
  fc.string({ unit: fc.constantFrom('\x80', '\xa0', '\xe9', '\xff'), minLength: 1, maxLength: 8 }).map((bad) => `key${bad}key`),
  fc.tuple(fc.string({ maxLength: 10 }), fc.constantFrom(' ', '\t'), fc.string({ maxLength: 10 })).map(([before, gap, after]) => `k${before}${gap}${after}k`),
  fc.integer({ min: 256, max: 4_000 }).map((length) => 'k'.repeat(length)),
);

/** Authorization headers that are not a valid bearer token of this stack. */
const badAuthorization = fc.oneof(
  fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic YWxpY2U6cGFzc3dvcmQ=', 'bearer x.y.z', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.', 'Token abc'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 200 }).map((token) => `Bearer ${token}`),
).filter((value) => !/[\r\n]/.test(value));

// ---------------------------------------------------------------------------------------------------------------

describe('hostile requests to every route', () => {
  let stack: TestStack;
  let database: Driver;
  let alice: string;
  let bob: string;
  /** Alice's: a video awaiting a single PUT, a multipart upload (25 parts, none uploaded) and a ready video. */
  let aliceSingle: VideoJson;
  let aliceMultipart: VideoJson;
  let aliceReady: VideoJson;
  let bobMultipart: VideoJson;
  const counts = new Map<string, { requests: number; statuses: Record<string, number> }>();

  beforeAll(async () => {
    stack = await startReliabilityStack({ lambdaEnv: { MAX_UPLOAD_BYTES: String(maxUploadBytes), LOG_LEVEL: 'warn' } });
    database = await stackDatabase(stack);
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
    bob = await stack.tokens.mint(`bob-${randomUUID()}`);
    aliceSingle = (await createUpload(stack, alice, uploadRequest(smallVideo, { title: 'Alice single' }))).video;
    aliceMultipart = (await createUpload(stack, alice, { ...validCreate, title: 'Alice multipart', size: 200 * MiB })).video;
    bobMultipart = (await createUpload(stack, bob, { ...validCreate, title: 'Bob multipart', size: 200 * MiB })).video;
    const ready = await uploadVideo(stack, alice, 'Alice ready', { bytes: smallVideo });
    aliceReady = await finalVideo(stack, alice, ready.id);
    await stack.idle();
  });
  afterAll(async () => {
    await database?.close();
    await stack?.dispose();
  });

  /** What a rejected request must leave as it was. */
  async function snapshot() {
    const tables = await database.execute<{ videos: number; events: number }>(
      'SELECT (SELECT CAST(count(*) AS int) FROM videos) AS videos, (SELECT CAST(count(*) AS int) FROM mux_webhook_events) AS events',
    );
    const objects = await stack.s3.client.send(new ListObjectsV2Command({ Bucket: stack.env.UPLOAD_BUCKET }));
    const uploadedParts = await Promise.all([[aliceMultipart, alice], [bobMultipart, bob]].map(async ([video, token]) => (await stack.request('GET', `/api/videos/${(video as VideoJson).id}/upload/parts`, { token: token as string })).text));
    const videos = await Promise.all([aliceSingle, aliceMultipart, aliceReady].map(async (video) => (await stack.request<{ video: VideoJson }>('GET', `/api/videos/${video.id}`, { token: alice })).body.video));
    const bobs = (await stack.request<{ video: VideoJson }>('GET', `/api/videos/${bobMultipart.id}`, { token: bob })).body.video;
    return {
      rows: tables.rows[0],
      objects: objects.KeyCount ?? 0,
      uploadedParts,
      muxAssets: stack.muxEmulator.assets.size,
      videos: [...videos, bobs],
    };
  }

  /**
   * Sends `runsPerRoute` generated requests to one route; each must be rejected with a 4xx and an error body, and
   * the stack must be unchanged afterwards.
   */
  async function hostile(routeKey: string, requests: fc.Arbitrary<HostileRequest>): Promise<void> {
    const before = await snapshot();
    const tally = { requests: 0, statuses: {} as Record<string, number> };
    await fc.assert(
      fc.asyncProperty(requests, async (request) => {
        const answer = await send(stack, request);
        tally.requests += 1;
        tally.statuses[answer.status] = (tally.statuses[answer.status] ?? 0) + 1;
        expectRejected(request, answer);
      }),
      { numRuns: runsPerRoute },
    );
    counts.set(routeKey, tally);
    expect(tally.requests).toBeGreaterThanOrEqual(runsPerRoute);
    expect(await snapshot(), 'a rejected request wrote nothing').toEqual(before);
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  /** Alice's or Bob's token, or none, or a broken one; with a JSON content type or a wrong one. */
  const caller = () => fc.oneof(
    { weight: 6, arbitrary: fc.constant(() => bearer(alice)) },
    { weight: 2, arbitrary: fc.constant(() => bearer(bob)) },
    { weight: 1, arbitrary: badAuthorization.map((authorization) => () => ({ authorization })) },
    { weight: 1, arbitrary: fc.constant(() => ({})) },
  );
  /** A video id for `owner`'s mistakes: one that is not a UUID, unknown, or someone else's. */
  const foreignOrBadId = (...foreign: Array<() => string>) => fc.oneof(notAnId, fc.uuid(), fc.constantFrom(...foreign).map((id) => id()));

  it('POST /api/videos/upload', async () => {
    await hostile(
      'POST /api/videos/upload',
      fc.oneof(
        { weight: 20, arbitrary: fc.tuple(badCreateBody, fc.constantFrom(...jsonContentTypes), caller()).map(([body, type, who]) => ({ method: 'POST', path: '/api/videos/upload', headers: { ...who(), 'content-type': type }, body: body.raw ?? JSON.stringify(body.json) })) },
        // A valid body with a content type that is not JSON.
        { weight: 3, arbitrary: fc.constantFrom(...wrongContentTypes).map((type) => ({ method: 'POST', path: '/api/videos/upload', headers: { ...bearer(alice), 'content-type': type }, body: JSON.stringify(validCreate) })) },
        // A valid body without a valid token.
        { weight: 3, arbitrary: badAuthorization.map((authorization) => ({ method: 'POST', path: '/api/videos/upload', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(validCreate) })) },
        // A valid body with an Idempotency-Key that no client may send.
        { weight: 2, arbitrary: badIdempotencyKey.map((key) => ({ method: 'POST', path: '/api/videos/upload', headers: { ...bearer(alice), 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(validCreate) })) },
        // Bodies past the function's 1 MiB limit (and, rarely, past API Gateway's 10 MB).
        { weight: 1, arbitrary: fc.integer({ min: MiB + 1, max: 2 * MiB }).map((size) => ({ method: 'POST', path: '/api/videos/upload', headers: { ...bearer(alice), 'content-type': 'application/json' }, body: JSON.stringify({ ...validCreate, description: 'x'.repeat(size) }) })) },
      ),
    );
    // Past API Gateway's own limit, once: it refuses before any function runs.
    expectRejected({ method: 'POST', path: '/api/videos/upload', headers: {} }, await send(stack, { method: 'POST', path: '/api/videos/upload', headers: { ...bearer(alice), 'content-type': 'application/json' }, body: Buffer.alloc(10 * MiB + 1, 0x20) }));
  });

  it('POST /api/videos/{id}/upload/parts', async () => {
    await hostile(
      'POST /api/videos/{id}/upload/parts',
      fc.oneof(
        // Alice's own multipart upload with part numbers no upload has.
        fc.tuple(badPartNumbers, fc.constantFrom(...jsonContentTypes)).map(([partNumbers, type]) => ({ method: 'POST', path: `/api/videos/${aliceMultipart.id}/upload/parts`, headers: { ...bearer(alice), 'content-type': type }, body: JSON.stringify({ partNumbers }) })),
        // Valid part numbers for a video that is not Alice's, not a UUID, unknown, or not a multipart upload.
        foreignOrBadId(() => bobMultipart.id, () => aliceSingle.id, () => aliceReady.id).map((id) => ({ method: 'POST', path: `/api/videos/${id}/upload/parts`, headers: { ...bearer(alice), 'content-type': 'application/json' }, body: JSON.stringify({ partNumbers: [1, 2] }) })),
        fc.tuple(badCreateBody, caller()).map(([body, who]) => ({ method: 'POST', path: `/api/videos/${aliceMultipart.id}/upload/parts`, headers: { ...who(), 'content-type': 'application/json' }, body: body.raw ?? JSON.stringify(body.json) })),
      ),
    );
  });

  it('GET /api/videos/{id}/upload/parts', async () => {
    await hostile(
      'GET /api/videos/{id}/upload/parts',
      fc.oneof(
        foreignOrBadId(() => bobMultipart.id, () => aliceSingle.id, () => aliceReady.id).map((id) => ({ method: 'GET', path: `/api/videos/${id}/upload/parts`, headers: bearer(alice) })),
        fc.tuple(fc.constantFrom(() => aliceMultipart.id, () => aliceSingle.id), fc.constantFrom(() => bearer(bob), () => ({}))).map(([id, who]) => ({ method: 'GET', path: `/api/videos/${id()}/upload/parts`, headers: who() })),
        badAuthorization.map((authorization) => ({ method: 'GET', path: `/api/videos/${aliceMultipart.id}/upload/parts`, headers: { authorization } })),
      ),
    );
  });

  it('POST /api/videos/{id}/upload/complete', async () => {
    const allParts = Array.from({ length: 25 }, (_, index) => index + 1);
    await hostile(
      'POST /api/videos/{id}/upload/complete',
      fc.oneof(
        // Every part listed, with ETags S3 never issued (no part was uploaded), some with text no ETag can hold.
        fc.array(fc.oneof(hex(32, 32).map((hex) => `"${hex}"`), nasty.filter((text) => text.length > 0 && text.length <= 1024), unstorable.filter((text) => text.length > 0)), { minLength: 25, maxLength: 25 }).map((etags) => ({
          method: 'POST', path: `/api/videos/${aliceMultipart.id}/upload/complete`, headers: { ...bearer(alice), 'content-type': 'application/json' },
          body: JSON.stringify({ parts: allParts.map((partNumber, index) => ({ partNumber, etag: etags[index] })) }),
        })),
        // Missing, extra or malformed parts.
        fc.tuple(badPartNumbers, nasty).map(([partNumbers, etag]) => ({
          method: 'POST', path: `/api/videos/${aliceMultipart.id}/upload/complete`, headers: { ...bearer(alice), 'content-type': 'application/json' },
          body: JSON.stringify({ parts: Array.isArray(partNumbers) ? partNumbers.map((partNumber) => ({ partNumber, etag })) : partNumbers }),
        })),
        fc.subarray(allParts, { minLength: 1, maxLength: 24 }).map((subset) => ({
          method: 'POST', path: `/api/videos/${aliceMultipart.id}/upload/complete`, headers: { ...bearer(alice), 'content-type': 'application/json' },
          body: JSON.stringify({ parts: subset.map((partNumber) => ({ partNumber, etag: '"0"' })) }),
        })),
        // Someone else's, unknown, malformed, or not a multipart upload.
        fc.tuple(foreignOrBadId(() => bobMultipart.id, () => aliceSingle.id, () => aliceReady.id), caller()).map(([id, who]) => ({
          method: 'POST', path: `/api/videos/${id}/upload/complete`, headers: { ...who(), 'content-type': 'application/json' }, body: JSON.stringify({ parts: [{ partNumber: 1, etag: '"abc"' }] }),
        })),
      ),
    );
  });

  it('DELETE /api/videos/{id}/upload', async () => {
    await hostile(
      'DELETE /api/videos/{id}/upload',
      fc.oneof(
        // Alice aborting Bob's upload, an unknown one, or a malformed id.
        foreignOrBadId(() => bobMultipart.id).map((id) => ({ method: 'DELETE', path: `/api/videos/${id}/upload`, headers: bearer(alice) })),
        // Bob aborting Alice's.
        fc.constantFrom(() => aliceMultipart.id, () => aliceSingle.id).map((id) => ({ method: 'DELETE', path: `/api/videos/${id()}/upload`, headers: bearer(bob) })),
        // Anyone without a valid token.
        badAuthorization.map((authorization) => ({ method: 'DELETE', path: `/api/videos/${aliceMultipart.id}/upload`, headers: { authorization } })),
      ),
    );
  });

  it('GET /api/videos', async () => {
    // Found by this suite: well-shaped cursors around impossible values were cast by PostgreSQL and answered 500.
    for (const pair of [['2024-13-01 00:00:00', randomUUID()], ['2024-02-30 10:00:00', randomUUID()], ['2024-01-01 00:00:00', '-'.repeat(36)]]) {
      const path = `/api/videos?cursor=${Buffer.from(JSON.stringify(pair)).toString('base64url')}`;
      const answer = await send(stack, { method: 'GET', path, headers: bearer(alice) });
      expectRejected({ method: 'GET', path, headers: {} }, answer);
      expect(answer.status).toBe(400);
    }
    await hostile(
      'GET /api/videos',
      fc.oneof(
        { weight: 9, arbitrary: fc.array(badListQuery, { minLength: 1, maxLength: 3 }).map((query) => ({ method: 'GET', path: `/api/videos?${query.join('&')}`, headers: bearer(alice) })) },
        { weight: 1, arbitrary: badAuthorization.map((authorization) => ({ method: 'GET', path: '/api/videos', headers: { authorization } })) },
      ),
    );
  });

  it('GET /api/videos/{id}', async () => {
    await hostile(
      'GET /api/videos/{id}',
      fc.oneof(
        foreignOrBadId(() => bobMultipart.id).map((id) => ({ method: 'GET', path: `/api/videos/${id}`, headers: bearer(alice) })),
        fc.constantFrom(() => aliceReady.id, () => aliceMultipart.id).map((id) => ({ method: 'GET', path: `/api/videos/${id()}`, headers: bearer(bob) })),
        // Traversal out of the route: the gateway matches no route, or the id is not a UUID.
        fc.constantFrom('/api/videos/../database/run-mux-migration', '/api/videos/..%2F..%2Fdebug%2Fvideo-diagnostics', '/api/videos/%2e%2e/%2e%2e/etc/passwd', '/api/videos/%20/', '/api/videos/%2F').map((path) => ({ method: 'GET', path, headers: bearer(alice) })),
      ),
    );
  });

  /** PATCH bodies the route must refuse: no field, unknown fields, a title or description the create would refuse. */
  const badEditBody = fc.oneof(
    fc.constant({}),
    fc.record({ title: fc.string({ maxLength: 20 }), status: fc.constantFrom('ready', 'deleting') }),
    fc.record({ ownerId: fc.constant('mallory') }),
    fc.constantFrom({ title: '' }, { title: '   ' }, { title: 'a'.repeat(201) }, { title: null }, { title: 5 }, { description: 5 }, { description: 'd'.repeat(5001) }),
    unstorable.map((text) => ({ title: text })),
    unstorable.map((text) => ({ description: text })),
  );

  it('PATCH /api/videos/{id}', async () => {
    await hostile(
      'PATCH /api/videos/{id}',
      fc.oneof(
        fc.tuple(badEditBody, fc.constantFrom(() => aliceReady.id, () => aliceMultipart.id)).map(([body, id]) => ({ method: 'PATCH', path: `/api/videos/${id()}`, headers: { ...bearer(alice), 'content-type': 'application/json' }, body: JSON.stringify(body) })),
        // A valid edit of someone else's video, or of no video.
        foreignOrBadId(() => bobMultipart.id).map((id) => ({ method: 'PATCH', path: `/api/videos/${id}`, headers: { ...bearer(alice), 'content-type': 'application/json' }, body: JSON.stringify({ title: 'defaced' }) })),
        fc.constantFrom(() => aliceReady.id, () => aliceMultipart.id).map((id) => ({ method: 'PATCH', path: `/api/videos/${id()}`, headers: { ...bearer(bob), 'content-type': 'application/json' }, body: JSON.stringify({ title: 'defaced' }) })),
        badAuthorization.map((authorization) => ({ method: 'PATCH', path: `/api/videos/${aliceReady.id}`, headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ title: 'defaced' }) })),
      ),
    );
  });

  it('DELETE /api/videos/{id}', async () => {
    await hostile(
      'DELETE /api/videos/{id}',
      fc.oneof(
        // Someone else's video, no video, or not an id: nothing is deleted.
        foreignOrBadId(() => bobMultipart.id).map((id) => ({ method: 'DELETE', path: `/api/videos/${id}`, headers: bearer(alice) })),
        fc.constantFrom(() => aliceReady.id, () => aliceMultipart.id, () => aliceSingle.id).map((id) => ({ method: 'DELETE', path: `/api/videos/${id()}`, headers: bearer(bob) })),
        badAuthorization.map((authorization) => ({ method: 'DELETE', path: `/api/videos/${aliceReady.id}`, headers: { authorization } })),
        fc.constantFrom('/api/videos/../database/run-mux-migration', '/api/videos/%2e%2e/%2e%2e/etc/passwd', '/api/videos/%20').map((path) => ({ method: 'DELETE', path, headers: bearer(alice) })),
      ),
    );
  });

  it('POST /api/webhooks/mux', async () => {
    const now = () => Math.floor(Date.now() / 1000);
    await hostile(
      'POST /api/webhooks/mux',
      fc.tuple(
        fc.oneof(nasty, fc.json(), fc.constant(JSON.stringify({ type: 'video.asset.ready', id: randomUUID(), data: { id: 'x', passthrough: aliceSingle.id, status: 'ready' } }))),
        fc.oneof(
          fc.constant(undefined),
          nasty.filter((text) => !/[\r\n]/.test(text) && /^[\x20-\x7e]*$/.test(text)),
          hex(64, 64).map((hex) => `t=${now()},v1=${hex}`),
          fc.tuple(fc.integer(), hex(0, 80)).map(([time, hex]) => `t=${time},v1=${hex}`),
        ),
        fc.constantFrom(...jsonContentTypes, ...wrongContentTypes),
      ).map(([body, signature, type]) => ({ method: 'POST', path: '/api/webhooks/mux', headers: { 'content-type': type, ...(signature === undefined ? {} : { 'mux-signature': signature }) }, body })),
    );
  });

  const adminRoutes = [
    ['GET', '/api/database/run-mux-migration'],
    ['POST', '/api/database/run-mux-migration'],
    ['GET', '/api/debug/video-diagnostics'],
  ] as const;

  it.for(adminRoutes)('%s %s with a user token or none', async ([method, path]) => {
    await hostile(
      `${method} ${path}`,
      fc.tuple(
        fc.oneof({ weight: 3, arbitrary: fc.constantFrom(() => bearer(alice), () => bearer(bob)) }, { weight: 1, arbitrary: badAuthorization.map((authorization) => () => ({ authorization })) }),
        fc.oneof(fc.constant(''), fc.tuple(fc.constantFrom('to', 'force', 'admin', 'version'), nasty).map(([name, value]) => `?${name}=${encodeURIComponent(value)}`)),
      ).map(([who, query]) => ({ method, path: `${path}${query}`, headers: who() })),
    );
  });

  it('records the figures', (context) => {
    const statuses: Record<string, number> = {};
    let requests = 0;
    for (const tally of counts.values()) {
      requests += tally.requests;
      for (const [status, count] of Object.entries(tally.statuses)) statuses[`HTTP ${status}`] = (statuses[`HTTP ${status}`] ?? 0) + count;
    }
    expect(counts.size).toBe(13);
    recordFigures(context, {
      scenario,
      case: `${runsPerRoute}+ generated requests on each of ${counts.size} routes (fast-check)`,
      injected: Object.fromEntries([...counts].map(([route, tally]) => [route, tally.requests])),
      observed: { ...statuses, '5xx answers': 0, 'rows, objects or assets written': 0 },
      checked: requests,
      lost: 0,
      extraAssets: 0,
    });
  });
});
