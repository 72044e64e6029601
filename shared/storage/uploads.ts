/**
 * The S3 side of uploads as the services use it: presigned URLs (single PUT, multipart parts, GET) and the
 * multipart lifecycle. The parts live apart, one job each: layout (plan.ts), key naming (keys.ts), object metadata
 * (object-metadata.ts), URL signing without S3Client (presign.ts), and the S3 API calls with their error mapping
 * (s3-operations.ts, s3-errors.ts).
 *
 * Presigning needs only a SigV4 signer and credentials, so S3Client and the operations module are loaded on the first
 * S3 API call (multipart create/list/complete/abort, HEAD, seal, server-side writes), not to hand out a URL.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { ValidationError } from '../errors.js';
import { S3Limits } from './config.js';
import type { StorageConfig } from './config.js';
import { UploadKeys } from './keys.js';
import { metadataHeaders, type ObjectMetadata } from './object-metadata.js';
import { issueAt, partLength, partNumberIssues, planMultipart, planUpload, type UploadPlan } from './plan.js';
import type { PresignRequest, SigningTarget, UrlSigner } from './presign.js';
import type { CompletedPart, S3Operations, SealOutcome, StoredObject, UploadedPart } from './s3-operations.js';

export { partLength, planMultipart, planUpload, preferredPartBytes, type MultipartPlan, type UploadPlan } from './plan.js';
export { isSealMarker, sealMetadataName, type ObjectMetadata } from './object-metadata.js';
export type { CompletedPart, SealOutcome, StoredObject, UploadedPart } from './s3-operations.js';
export type { SigningTarget } from './presign.js';

export interface SinglePutUpload {
  readonly mode: 'single';
  readonly method: 'PUT';
  readonly url: string;
  /**
   * Send exactly these; all are signed. Browsers set content-length themselves from the body. `if-none-match: *`
   * makes the URL write once: S3 refuses any PUT to a key that already holds an object with 412. Any `x-amz-meta-*`
   * entries are the object metadata asked for in {@link UploadStorage.presignSinglePut}: omitting one fails the PUT.
   */
  readonly headers: { readonly 'content-type': string; readonly 'content-length': string; readonly 'if-none-match': '*' } & Readonly<Record<string, string>>;
  /** ISO 8601. */
  readonly expiresAt: string;
}

export interface SignedPart {
  readonly partNumber: number;
  readonly url: string;
  /** The exact byte count this URL accepts (content-length is signed). */
  readonly size: number;
}

export interface SignedParts {
  readonly parts: SignedPart[];
  readonly expiresAt: string;
}

export interface PresignedGet {
  readonly url: string;
  readonly expiresAt: string;
}

const maxPartNumbersPerCall = 1_000;

export interface UploadStorageOptions {
  /**
   * The S3 client, or a function that builds it on first use (the functions pass one, so a cold start that only
   * presigns never loads the SDK client). Tests point it at the local S3.
   */
  readonly client: S3Client | (() => Promise<S3Client>);
  /**
   * What URLs are signed for and with. Default: the client's own region, endpoint, path style and credentials (which
   * loads the client). The functions pass their settings and the role's credentials, so signing needs no client.
   */
  readonly signing?: SigningTarget;
  readonly bucket: string;
  /** Key prefix for uploads, e.g. `uploads/`. */
  readonly prefix: string;
  /** Default lifetime of upload URLs (see StorageConfig.uploadUrlTtlSeconds for the temporary-credentials caveat). */
  readonly urlTtlSeconds: number;
  /** ListParts page size; S3 caps it at 1,000 (smaller only to exercise pagination). */
  readonly listPartsPageSize?: number;
  readonly now?: () => Date;
}

/** The signing target S3Client resolves for itself: its region, endpoint, path style and credential chain. */
async function signingTargetOf(client: S3Client): Promise<SigningTarget> {
  const { config } = client;
  const endpoint = config.endpoint === undefined ? undefined : await config.endpoint();
  return {
    region: await config.region(),
    ...(endpoint === undefined
      ? {}
      : { endpoint: `${endpoint.protocol}//${endpoint.hostname}${endpoint.port === undefined ? '' : `:${endpoint.port}`}${endpoint.path}` }),
    forcePathStyle: config.forcePathStyle === true,
    credentials: () => config.credentials(),
  };
}

/** Memoises an async build; a failed build is tried again on the next call. */
function onFirstUse<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

export class UploadStorage {
  readonly bucket: string;
  readonly prefix: string;
  readonly #keys: UploadKeys;
  readonly #urlTtlSeconds: number;
  readonly #now: () => Date;
  readonly #client: () => Promise<S3Client>;
  readonly #signer: () => Promise<UrlSigner>;
  readonly #operations: () => Promise<S3Operations>;

  constructor(options: UploadStorageOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.#keys = new UploadKeys(options.prefix);
    this.#urlTtlSeconds = options.urlTtlSeconds;
    this.#now = options.now ?? (() => new Date());
    const client = options.client;
    this.#client = typeof client === 'function' ? onFirstUse(client) : async () => client;
    const signing = options.signing;
    // The signer's modules (SigV4, the SDK's HTTP request and query helpers) are shared with the Data API client, which
    // every function loads on its first query anyway; loaded here on the first URL, they stay out of INIT.
    this.#signer = onFirstUse(async () => {
      const [{ UrlSigner: Signer }, target] = await Promise.all([import('./presign.js'), signing ?? signingTargetOf(await this.#client())]);
      return new Signer(target);
    });
    const pageSize = Math.min(options.listPartsPageSize ?? S3Limits.listPartsPageMax, S3Limits.listPartsPageMax);
    this.#operations = onFirstUse(async () => {
      const [{ S3Operations: Operations }, s3] = await Promise.all([import('./s3-operations.js'), this.#client()]);
      return new Operations(s3, this.bucket, pageSize);
    });
  }

  static fromConfig(client: UploadStorageOptions['client'], config: StorageConfig, signing?: SigningTarget): UploadStorage {
    return new UploadStorage({
      client,
      ...(signing === undefined ? {} : { signing }),
      bucket: config.bucket,
      prefix: config.prefix,
      urlTtlSeconds: config.uploadUrlTtlSeconds,
    });
  }

  /** `${prefix}${videoId}/source.${ext}` (shared/storage/keys.ts). */
  objectKeyFor(videoId: string, filename: string): string {
    return this.#keys.objectKeyFor(videoId, filename);
  }

  /** `${prefix}${videoId}/captions/${language}.srt` (shared/storage/keys.ts). */
  captionsKeyFor(videoId: string, language: string): string {
    return this.#keys.captionsKeyFor(videoId, language);
  }

  /** The video whose folder holds `key` (source, captions, …), or undefined (shared/storage/keys.ts). */
  folderVideoIdFromKey(key: string): string | undefined {
    return this.#keys.folderVideoIdFromKey(key);
  }

  /** The video id inside a source key, or undefined for any other key. */
  videoIdFromKey(key: string): string | undefined {
    return this.#keys.videoIdFromKey(key);
  }

  planUpload(input: { readonly size: number; readonly threshold: number }): UploadPlan {
    return planUpload(input);
  }

  /**
   * Signs one request and reports when the URL stops working: after `ttlSeconds`, or earlier when the signing
   * credentials expire first.
   */
  async #presign(ttlSeconds: number, request: Omit<PresignRequest, 'bucket' | 'expiresIn' | 'signingDate'>, signingDate = this.#now()): Promise<PresignedGet> {
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > S3Limits.maxPresignSeconds) {
      throw new ValidationError(`URL lifetime must be 1..${S3Limits.maxPresignSeconds} seconds, got ${ttlSeconds}`);
    }
    const signer = await this.#signer();
    const { url, credentials } = await signer.presign({ ...request, bucket: this.bucket, expiresIn: ttlSeconds, signingDate });
    const urlExpiry = signingDate.getTime() + ttlSeconds * 1000;
    const credentialExpiry = credentials.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
    return { url, expiresAt: new Date(Math.min(urlExpiry, credentialExpiry)).toISOString() };
  }

  /**
   * A URL for one PUT whose signature covers content-type and content-length: no other size or type is accepted.
   * `metadata` is signed too, as `x-amz-meta-*` headers the uploader must send (returned in `headers`).
   * `if-none-match: *` is signed, so the uploader must send it: the URL can fill an empty key once, never replace
   * what is there (a finished upload, or the marker a cancelled upload leaves, see sealKey).
   */
  async presignSinglePut(input: {
    readonly key: string;
    readonly contentType: string;
    readonly size: number;
    readonly metadata?: ObjectMetadata;
  }): Promise<SinglePutUpload> {
    const plan = planUpload({ size: input.size, threshold: S3Limits.singlePutMaxBytes });
    if (plan.mode !== 'single') {
      throw new ValidationError(`A single PUT holds at most ${S3Limits.singlePutMaxBytes} bytes; use multipart`, [issueAt(['size'], 'too large for one PUT')]);
    }
    const extraHeaders = metadataHeaders(input.metadata ?? {});
    const headers = { 'content-type': input.contentType, 'content-length': String(input.size), 'if-none-match': '*' as const, ...extraHeaders };
    const { url, expiresAt } = await this.#presign(this.#urlTtlSeconds, { method: 'PUT', key: input.key, operation: 'PutObject', headers });
    return { mode: 'single', method: 'PUT', url, headers, expiresAt };
  }

  /** Opens a multipart upload; the object gets `contentType` and `metadata` when completed. Returns the upload id. */
  async startMultipart(input: { readonly key: string; readonly contentType: string; readonly metadata?: ObjectMetadata }): Promise<string> {
    return (await this.#operations()).startMultipart(input);
  }

  /**
   * Presigned UploadPart URLs for up to 1,000 part numbers. `size` is the whole object's; each URL signs its part's
   * exact content-length. `partSize` defaults to the layout {@link planMultipart} chose for `size`.
   */
  async signParts(input: {
    readonly key: string;
    readonly uploadId: string;
    readonly size: number;
    readonly partSize?: number;
    readonly partNumbers: readonly number[];
  }): Promise<SignedParts> {
    const layout = input.partSize === undefined ? planMultipart(input.size) : { size: input.size, partSize: input.partSize };
    if (layout.partSize < S3Limits.minPartBytes || layout.partSize > S3Limits.maxPartBytes) {
      throw new ValidationError(`partSize must be ${S3Limits.minPartBytes}..${S3Limits.maxPartBytes} bytes`, [issueAt(['partSize'], 'out of range')]);
    }
    const partCount = Math.ceil(layout.size / layout.partSize);
    if (partCount > S3Limits.maxParts) throw new ValidationError(`${partCount} parts is over S3's ${S3Limits.maxParts}-part limit`);
    const problems = partNumberIssues(input.partNumbers, partCount, ['partNumbers']);
    if (input.partNumbers.length > maxPartNumbersPerCall) problems.push(issueAt(['partNumbers'], `at most ${maxPartNumbersPerCall} per call`));
    if (problems.length > 0) throw new ValidationError(`Invalid part numbers for a ${partCount}-part upload`, problems);

    const signingDate = this.#now();
    const signed = await Promise.all(
      input.partNumbers.map(async (partNumber) => {
        const size = partLength(layout, partNumber);
        const { url, expiresAt } = await this.#presign(this.#urlTtlSeconds, {
          method: 'PUT',
          key: input.key,
          operation: 'UploadPart',
          query: { partNumber: String(partNumber), uploadId: input.uploadId },
          headers: { 'content-length': String(size) },
        });
        return { part: { partNumber, url, size }, expiresAt };
      }),
    );
    const fallbackExpiry = new Date(signingDate.getTime() + this.#urlTtlSeconds * 1000).toISOString();
    return { parts: signed.map((entry) => entry.part), expiresAt: signed[0]?.expiresAt ?? fallbackExpiry };
  }

  /** Every part uploaded so far, in part-number order, following ListParts pages past 1,000. */
  async listUploadedParts(input: { readonly key: string; readonly uploadId: string }): Promise<UploadedPart[]> {
    return (await this.#operations()).listUploadedParts(input);
  }

  /**
   * Assembles the object from `parts`, only if the key holds no object yet (`If-None-Match: *`); see
   * {@link S3Operations.completeMultipart}.
   */
  async completeMultipart(input: { readonly key: string; readonly uploadId: string; readonly parts: readonly CompletedPart[] }): Promise<{ key: string; eTag?: string }> {
    return (await this.#operations()).completeMultipart(input);
  }

  /** Aborts the upload and frees its parts. Aborting one that is already gone is not an error: `'not_found'`. */
  async abortMultipart(input: { readonly key: string; readonly uploadId: string }): Promise<'aborted' | 'not_found'> {
    return (await this.#operations()).abortMultipart(input);
  }

  /** A GET URL for someone without AWS credentials (Mux fetching the input). Same credential-expiry caveat. */
  async presignGet(input: { readonly key: string; readonly ttlSeconds?: number }): Promise<PresignedGet> {
    return this.#presign(input.ttlSeconds ?? this.#urlTtlSeconds, { method: 'GET', key: input.key, operation: 'GetObject' });
  }

  /** The object's metadata, or null when there is no object at `key`. */
  async headObject(key: string): Promise<StoredObject | null> {
    return (await this.#operations()).headObject(key);
  }

  /** Whether an object is at `key` (its size), by listing; see {@link S3Operations.findObject}. */
  async findObject(key: string): Promise<{ key: string; size: number } | null> {
    return (await this.#operations()).findObject(key);
  }

  /**
   * Makes `key` hold a zero-byte marker so that no upload URL for it can write there any more (every such URL is
   * signed with `If-None-Match: *`); see {@link S3Operations.sealKey}. Used for cancelled uploads; safe to repeat.
   */
  async sealKey(key: string, reason: string): Promise<SealOutcome> {
    return (await this.#operations()).sealKey(key, reason);
  }

  /** Writes a small object from the server side (e.g. the SRT captions made from Mux's VTT). */
  async putObject(key: string, body: string | Uint8Array, contentType: string): Promise<{ eTag?: string }> {
    return (await this.#operations()).putObject(key, body, contentType);
  }

  /**
   * Deletes every object of the video: under `${prefix}${videoId}/` (its source, its captions, a seal marker). The
   * video id is checked as a key segment first, so no other video's folder can be named.
   */
  async deleteVideoObjects(videoId: string): Promise<number> {
    const folder = this.#keys.objectKeyFor(videoId, '').slice(0, -'source'.length);
    return (await this.#operations()).deleteObjectsUnder(folder);
  }
}
