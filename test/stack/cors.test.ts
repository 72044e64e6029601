/**
 * CORS as a web app on another origin meets it: the extra origins (`corsOrigins`, what CORS_ORIGINS sets) are allowed
 * by the API and by the local S3, the preflight lets the page send Idempotency-Key, the page can read
 * `idempotent-replayed`, and any other origin gets no CORS headers (the browser refuses the answer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCorsOrigins } from '../../local/cors.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { uploadRequest, videoBytes, type CreatedUpload, type SingleUpload } from './support.js';

const app = 'http://app.example.test:8080';
const stranger = 'https://evil.example';

describe('CORS for an app on another origin (CORS_ORIGINS)', () => {
  let stack: TestStack;
  let alice: string;

  beforeAll(async () => {
    stack = await startTestStack({ corsOrigins: [app] });
    alice = await stack.tokens.mint('alice');
  }, 60_000);

  afterAll(async () => {
    await stack?.dispose();
  });

  const preflight = (url: string, origin: string, method: string, headers: string) =>
    fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } });

  it('answers the API preflight of a keyed create from the extra origin, Idempotency-Key allowed', async () => {
    const response = await preflight(`${stack.url}/api/videos/upload`, app, 'POST', 'authorization,content-type,idempotency-key');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(app);
    expect(response.headers.get('access-control-allow-headers')?.split(',')).toEqual(expect.arrayContaining(['authorization', 'content-type', 'idempotency-key']));
    expect(response.headers.get('access-control-allow-methods')?.split(',')).toContain('POST');
  });

  it('refuses another origin: no CORS headers on the preflight or the answer', async () => {
    const response = await preflight(`${stack.url}/api/videos/upload`, stranger, 'POST', 'authorization,content-type,idempotency-key');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-headers')).toBeNull();
    const answer = await fetch(`${stack.url}/api/database/health`, { headers: { origin: stranger } });
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets the page read idempotent-replayed on a retried create', async () => {
    const bytes = videoBytes(2048);
    const send = () =>
      fetch(`${stack.url}/api/videos/upload`, {
        method: 'POST',
        headers: { origin: app, authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'idempotency-key': 'cors-retry-1' },
        body: JSON.stringify(uploadRequest(bytes, { title: 'Keyed from another origin' })),
      });
    expect((await send()).status).toBe(201);
    const retry = await send();
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('access-control-allow-origin')).toBe(app);
    expect(retry.headers.get('access-control-expose-headers')?.split(',')).toContain('idempotent-replayed');
  });

  it('lets the extra origin PUT to the local S3, and refuses another origin there', async () => {
    const bytes = videoBytes(4096);
    const created = (await stack.request<CreatedUpload>('POST', '/api/videos/upload', { token: alice, json: uploadRequest(bytes) })).body;
    const upload = created.upload as SingleUpload;
    const signedHeaders = Object.keys(upload.headers).filter((name) => name !== 'content-length').join(',');
    const allowed = await preflight(upload.url, app, 'PUT', signedHeaders);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(app);
    const refused = await preflight(upload.url, stranger, 'PUT', signedHeaders);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const put = await fetch(upload.url, { method: 'PUT', headers: { ...withoutLength(upload.headers), origin: app }, body: new Uint8Array(bytes) });
    expect(put.status).toBe(200);
    expect(put.headers.get('access-control-allow-origin')).toBe(app);
    expect(put.headers.get('access-control-expose-headers')).toMatch(/etag/i);
  });
});

function withoutLength(headers: Record<string, string>): Record<string, string> {
  const { 'content-length': _length, ...rest } = headers;
  return rest;
}

describe('CORS_ORIGINS', () => {
  it('reads comma-separated exact origins, blanks and repeats ignored', () => {
    expect(parseCorsOrigins(undefined)).toEqual([]);
    expect(parseCorsOrigins(' http://localhost:5173 , https://app.example.com,,http://localhost:5173')).toEqual(['http://localhost:5173', 'https://app.example.com']);
  });

  it.each([
    ['https://app.example.com/', /did you mean https:\/\/app.example.com\?/],
    ['https://app.example.com/path', /did you mean/],
    ['*', /origins such as/],
    ['localhost:5173', /origins such as/],
    ['ftp://files.example.com', /origins such as/],
  ])('refuses %s before the stack starts', (value, message) => {
    expect(() => parseCorsOrigins(value)).toThrow(message);
  });
});
