/** A client of reelay's HTTP API as a browser or a curl script drives it, for the end-to-end suites. */
import { request as httpRequest, type ClientRequest } from 'node:http';
import { expect } from 'vitest';
import { loadRouteTable } from '../../local/api-gateway/routes.js';
import type { SignedPart, SinglePutUpload } from '../../shared/storage/uploads.js';
import type { CreatedUpload, MultipartUploadStart } from '../../shared/videos/upload-service.js';
import type { VideoJson } from '../../shared/videos/presenter.js';
import { fakeMp4 } from '../mux/support/servers.js';
import { eventually, type ApiResponse, type TestStack } from '../support/local-stack.js';

export type { VideoJson };

/** The API's own shapes: the tests read the responses as the domain declares them. */
export type { CreatedUpload, MultipartUploadStart as MultipartUpload } from '../../shared/videos/upload-service.js';
export type { SignedPart, SinglePutUpload as SingleUpload } from '../../shared/storage/uploads.js';

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: unknown[] };
}

export interface UploadRequest {
  readonly title: string;
  readonly description?: string;
  readonly filename: string;
  readonly contentType: string;
  readonly size: number;
  readonly options?: { readonly captions?: boolean; readonly normalizeAudio?: boolean; readonly mp4?: boolean };
}

/** Every route of functions/routes.json with auth `admin`, as [method, path]: a new admin route is covered at once. */
export const adminRoutes: ReadonlyArray<readonly [string, string]> = loadRouteTable()
  .routes.filter((route) => route.auth === 'admin')
  .map((route) => route.route.split(' ') as [string, string]);

/** Whole seconds: the seed's `mux_duration_seconds` column is an INTEGER. */
export const videoDurationSeconds = 12;

/** An MP4 head the emulator can read (12 s, 1920×1080 → 16:9) padded to `size` bytes. */
export function videoBytes(size: number): Buffer {
  return fakeMp4(videoDurationSeconds * 1000, 1920, 1080, size);
}

export function uploadRequest(bytes: Buffer, overrides: Partial<UploadRequest> = {}): UploadRequest {
  return { title: 'Team offsite', filename: 'offsite.mp4', contentType: 'video/mp4', size: bytes.length, ...overrides };
}

export async function createUpload(stack: TestStack, token: string, request: UploadRequest): Promise<CreatedUpload> {
  const response = await stack.request<CreatedUpload>('POST', '/api/videos/upload', { token, json: request });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

/** fetch's body type wants bytes over a plain ArrayBuffer; a Buffer may sit on a shared pool. */
export const asBody = (bytes: Buffer): Uint8Array<ArrayBuffer> => new Uint8Array(bytes);

/** PUTs the file the way the single-upload instructions say: to the URL, with the signed headers. */
export async function putSingle(upload: SinglePutUpload, bytes: Buffer): Promise<Response> {
  // fetch computes content-length itself from the body; it must equal the signed one.
  const { 'content-length': signedLength, ...headers } = upload.headers;
  expect(Number(signedLength)).toBe(bytes.length);
  return fetch(upload.url, { method: upload.method, headers, body: asBody(bytes) });
}

/**
 * A single PUT whose first half is sent now and the rest when `finish` is called: on its way meanwhile (to race it
 * against something else). Resolves to S3's status.
 */
export function startSinglePut(upload: SinglePutUpload, bytes: Uint8Array): { finish(): Promise<number> } {
  const url = new URL(upload.url);
  let outgoing: ClientRequest | undefined;
  const answered = new Promise<number>((resolve, reject) => {
    outgoing = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path: `${url.pathname}${url.search}`, headers: upload.headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    outgoing.on('error', reject);
  });
  outgoing?.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
  return {
    finish() {
      outgoing?.end(bytes.subarray(Math.floor(bytes.length / 2)));
      return answered;
    },
  };
}

/** PUTs one part; resolves to the ETag S3 returned (needed to complete). */
export async function putPart(part: SignedPart, bytes: Buffer): Promise<string> {
  const response = await fetch(part.url, { method: 'PUT', body: asBody(bytes) });
  expect(response.status, await response.clone().text()).toBe(200);
  const etag = response.headers.get('etag');
  expect(etag).toBeTruthy();
  return etag as string;
}

export function partBytes(bytes: Buffer, upload: Pick<MultipartUploadStart, 'partSize'>, partNumber: number): Buffer {
  return bytes.subarray((partNumber - 1) * upload.partSize, partNumber * upload.partSize);
}

export async function getVideo(stack: TestStack, token: string, id: string): Promise<ApiResponse<{ video: VideoJson }>> {
  return stack.request<{ video: VideoJson }>('GET', `/api/videos/${id}`, { token });
}

/** Polls GET /api/videos/{id} (as a client would) until `done` holds. */
export async function waitForVideo(stack: TestStack, token: string, id: string, done: (video: VideoJson) => boolean, timeoutMs = 20_000): Promise<VideoJson> {
  let last: ApiResponse<{ video: VideoJson }> | undefined;
  return eventually(
    async () => {
      last = await getVideo(stack, token, id);
      return last.status === 200 && done(last.body.video) ? last.body.video : undefined;
    },
    () => `video ${id} is still ${last?.status} ${last?.text}`,
    timeoutMs,
  );
}

export const isReady = (video: VideoJson): boolean => video.status === 'ready' && video.mux?.status === 'ready' && video.mux.playbackId !== null;

/** The emulator's assets (deleted ones included) that reelay tagged for this video (`{videoId}.{attempt}.{tag}`). */
export function assetsFor(stack: TestStack, videoId: string) {
  return [...stack.muxEmulator.assets.values()].filter((asset) => asset.json.passthrough?.startsWith(`${videoId}.`));
}

/** Every error answer has the one shape: `{ error: { code, message } }` with a readable message. */
export function expectClientError(response: ApiResponse, status: number, code?: string): ErrorBody['error'] {
  expect(response.status, response.text).toBe(status);
  const body = response.body as unknown as ErrorBody;
  expect(body.error, response.text).toBeDefined();
  expect(typeof body.error.code).toBe('string');
  expect(body.error.message.length, response.text).toBeGreaterThan(10);
  if (code !== undefined) expect(body.error.code, response.text).toBe(code);
  return body.error;
}
