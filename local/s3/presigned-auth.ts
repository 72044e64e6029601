/**
 * SigV4 query-signature (presigned URL) verification for the local S3.
 *
 * s3rver does not check signatures, so without this a browser could PUT any size or type to a presigned URL
 * locally and only fail in AWS. The signature is recomputed with @smithy/signature-v4, the signer the SDK itself
 * uses, from what actually arrived: method, path, query and the headers the URL says it signed.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Hash, Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface IncomingSignedRequest {
  readonly method: string;
  /** Absolute URL as received (path still percent-encoded). */
  readonly url: URL;
  /** Lower-case header names, as node's IncomingMessage gives them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export type PresignedVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 400 | 403; readonly code: string; readonly message: string };

/** The `Checksum` constructor SignatureV4 expects, over node:crypto (HMAC when given a secret). */
export class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    throw new Error('NodeSha256 cannot be reset; create a new one');
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

const deny = (status: 400 | 403, code: string, message: string): PresignedVerdict => ({ ok: false, status, code, message });

/** `20240102T030405Z` → Date. */
function parseAmzDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

export function isPresignedRequest(url: URL): boolean {
  return url.searchParams.has('X-Amz-Signature');
}

/**
 * Checks a request made to a presigned URL the way S3 does: known access key, not expired, and a signature that
 * matches the request as received. A different content-length or content-type than was signed fails here.
 */
export async function verifyPresignedRequest(
  request: IncomingSignedRequest,
  credentials: LocalCredentials,
  now: Date = new Date(),
): Promise<PresignedVerdict> {
  const query = request.url.searchParams;
  const required = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'];
  const missing = required.filter((name) => !query.has(name));
  if (missing.length > 0) return deny(400, 'AuthorizationQueryParametersError', `Missing ${missing.join(', ')}`);
  if (query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return deny(400, 'AuthorizationQueryParametersError', 'Only AWS4-HMAC-SHA256 is supported');

  const [accessKeyId, shortDate, region, service, terminator] = (query.get('X-Amz-Credential') ?? '').split('/');
  if (accessKeyId !== credentials.accessKeyId) return deny(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  if (shortDate === undefined || region === undefined || service === undefined || terminator !== 'aws4_request') {
    return deny(400, 'AuthorizationQueryParametersError', 'X-Amz-Credential is malformed');
  }
  const signingDate = parseAmzDate(query.get('X-Amz-Date') ?? '');
  const expiresIn = Number(query.get('X-Amz-Expires'));
  if (signingDate === undefined || !Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > 604_800) {
    return deny(400, 'AuthorizationQueryParametersError', 'X-Amz-Date or X-Amz-Expires is malformed');
  }
  if (now.getTime() > signingDate.getTime() + expiresIn * 1000) return deny(403, 'AccessDenied', 'Request has expired');

  const signedHeaders = (query.get('X-Amz-SignedHeaders') ?? '').split(';').filter((name) => name !== '');
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return deny(403, 'SignatureDoesNotMatch', `Signed header ${name} is missing from the request`);
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // The payload hash travels in the query; the signer reads it from this header and hoists it back.
  headers['X-Amz-Content-Sha256'] = query.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD';
  const unsignedQuery: Record<string, string> = {};
  for (const [name, value] of query) {
    if (name !== 'X-Amz-Signature' && name !== 'X-Amz-Content-Sha256') unsignedQuery[name] = value;
  }

  const signer = new SignatureV4({ credentials, region, service, sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const recomputed = await signer.presign(
    {
      method: request.method.toUpperCase(),
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      ...(request.url.port === '' ? {} : { port: Number(request.url.port) }),
      path: request.url.pathname,
      query: unsignedQuery,
      headers,
    },
    // What the URL signed as headers must stay headers (the signer would move `x-amz-meta-*` into the query).
    { signingDate, expiresIn, signableHeaders: new Set(signedHeaders), unhoistableHeaders: new Set(signedHeaders) },
  );
  const expected = Buffer.from(String(recomputed.query?.['X-Amz-Signature'] ?? ''), 'utf8');
  const provided = Buffer.from(query.get('X-Amz-Signature') ?? '', 'utf8');
  if (expected.length !== provided.length || !timingSafeEqual(expected, provided)) {
    return deny(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
  return { ok: true };
}
