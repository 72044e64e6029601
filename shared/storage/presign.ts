/**
 * Presigned S3 URLs from a SigV4 signer and credentials alone, without S3Client: a presigned PUT or GET is a
 * signature over a request nobody sends from here, so the client (its middleware stack, endpoint rules, XML
 * protocol) is not needed to make one. The request signed is the one S3Client builds for the same command and
 * `@aws-sdk/s3-request-presigner` signs (test/storage/presign.test.ts compares the two URLs byte for byte):
 *
 * - the host: virtual-hosted `<bucket>.s3.<region>.amazonaws.com`, or path style (`/<bucket>/<key>`) on a custom
 *   endpoint, when asked for, or for a bucket name that cannot be a host name;
 * - the key's path segments encoded as the SDK encodes its `{Key+}` label, and the SDK's `x-id=<Operation>` query;
 * - the payload hash `UNSIGNED-PAYLOAD`, the signing name `s3`, no double path escaping (S3's SigV4 variant);
 * - signed exactly the headers given (content-type, content-length, if-none-match, x-amz-meta-*), kept as headers.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { buildQueryString, extendedEncodeURIComponent, HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, SourceData } from '@smithy/types';

/** Where and with what a URL is signed: what S3Client would resolve for the same settings. */
export interface SigningTarget {
  readonly region: string;
  /** A custom endpoint (the local S3), e.g. `http://127.0.0.1:4569`; unset for AWS. */
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  readonly credentials: () => Promise<AwsCredentialIdentity>;
}

export interface PresignRequest {
  readonly method: 'GET' | 'PUT';
  readonly bucket: string;
  readonly key: string;
  /** The SDK's operation name, sent as `x-id` (PutObject, UploadPart, GetObject). */
  readonly operation: string;
  /** Operation parameters that travel in the query (UploadPart's partNumber and uploadId). */
  readonly query?: Readonly<Record<string, string>>;
  /** Headers the uploader must send; every one is signed and stays a header. Names in lower case. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly expiresIn: number;
  readonly signingDate: Date;
}

export interface PresignedUrl {
  readonly url: string;
  /** The credentials that signed it: a URL stops working when they expire. */
  readonly credentials: AwsCredentialIdentity;
}

/** SHA-256 (and HMAC-SHA256 with a secret) as SignatureV4 asks for it. */
class Sha256 implements Checksum {
  readonly #secret: SourceData | undefined;
  #hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#hash = Sha256.#create(secret);
  }

  static #create(secret: SourceData | undefined): Hash | Hmac {
    return secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }

  update(data: Uint8Array): void {
    this.#hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = Sha256.#create(this.#secret);
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/**
 * S3's rule for a bucket it can address as a host name: 3–63 lower-case letters, digits and dashes (dots would break
 * the TLS wildcard certificate), starting and ending with a letter or digit, not shaped like an IP address.
 */
function isVirtualHostable(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket) && !/^\d+\.\d+\.\d+\.\d+$/.test(bucket);
}

function isIpAddress(hostname: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(hostname) || hostname.startsWith('[');
}

/** The S3 key as a path: each `/`-separated segment encoded like the SDK's `{Key+}` label. */
const keyPath = (key: string) => key.split('/').map(extendedEncodeURIComponent).join('/');

export class UrlSigner {
  readonly #target: SigningTarget;

  constructor(target: SigningTarget) {
    this.#target = target;
  }

  /** The host, port and path S3Client would send `key` of `bucket` to. */
  #location(bucket: string, key: string): { protocol: string; hostname: string; port?: number; path: string } {
    const endpoint = this.#target.endpoint === undefined ? undefined : new URL(this.#target.endpoint);
    const base = endpoint ?? new URL(`https://s3.${this.#target.region}.amazonaws.com`);
    const basePath = base.pathname.replace(/\/+$/, '');
    const pathStyle = this.#target.forcePathStyle || !isVirtualHostable(bucket) || (endpoint !== undefined && isIpAddress(base.hostname));
    return {
      protocol: base.protocol,
      hostname: pathStyle ? base.hostname : `${bucket}.${base.hostname}`,
      ...(base.port === '' ? {} : { port: Number(base.port) }),
      path: `${basePath}${pathStyle ? `/${bucket}` : ''}/${keyPath(key)}`,
    };
  }

  async presign(input: PresignRequest): Promise<PresignedUrl> {
    const credentials = await this.#target.credentials();
    const location = this.#location(input.bucket, input.key);
    const headers: Record<string, string> = { ...input.headers };
    const signed = new Set(Object.keys(headers));
    headers.host = `${location.hostname}${location.port === undefined ? '' : `:${location.port}`}`;
    // Spelled as the presigner spells it: it is hoisted into the query under this name, which sets its sort order.
    headers['X-Amz-Content-Sha256'] = 'UNSIGNED-PAYLOAD';
    const request = new HttpRequest({
      method: input.method,
      protocol: location.protocol,
      hostname: location.hostname,
      ...(location.port === undefined ? {} : { port: location.port }),
      path: location.path,
      query: { ...input.query, 'x-id': input.operation },
      headers,
    });
    // A signer per URL, over the credentials resolved above: the expiry reported is that of the ones that signed.
    const signer = new SignatureV4({ service: 's3', region: this.#target.region, credentials, sha256: Sha256, uriEscapePath: false, applyChecksum: false });
    const presigned = await signer.presign(request, {
      expiresIn: input.expiresIn,
      signingDate: input.signingDate,
      signingRegion: this.#target.region,
      signingService: 's3',
      // The signer leaves content-type unsigned unless told; every header given here is signed and stays a header.
      unsignableHeaders: new Set(['content-type']),
      signableHeaders: signed,
      unhoistableHeaders: signed,
    });
    return { url: formatUrl(presigned), credentials };
  }
}

function formatUrl(request: { protocol: string; hostname: string; port?: number; path: string; query?: Parameters<typeof buildQueryString>[0] }): string {
  const query = request.query === undefined ? '' : buildQueryString(request.query);
  return `${request.protocol}//${request.hostname}${request.port === undefined ? '' : `:${request.port}`}${request.path}${query ? `?${query}` : ''}`;
}
