/**
 * The S3 side of uploads: object keys, single-or-multipart planning, presigned URLs, and the multipart lifecycle.
 * The S3Client is passed in (tests point it at the local S3). S3 failures the caller can cause come back as the
 * typed errors of shared/errors.ts; anything else (throttling, outages) is rethrown untouched.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BuildMiddleware, MiddlewareStack } from '@smithy/types';
import { ConflictError, NotFoundError, PayloadTooLargeError, ValidationError } from '../errors.js';
import type { ValidationIssue } from '../errors.js';
import { MiB, S3Limits } from './config.js';
import type { StorageConfig } from './config.js';

// ---------------------------------------------------------------------------------------------------------------
// Planning

/**
 * Part size for files that fit in 10,000 parts of it (up to ~78 GiB); larger files get larger parts. 8 MiB is the
 * AWS CLI's default: few enough requests, and a failed part costs little to resend.
 */
export const preferredPartBytes = 8 * MiB;

export type UploadPlan =
  | { readonly mode: 'single'; readonly size: number }
  | { readonly mode: 'multipart'; readonly size: number; readonly partSize: number; readonly partCount: number };

export type MultipartPlan = Extract<UploadPlan, { mode: 'multipart' }>;

function assertObjectSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new ValidationError('size must be a whole number of bytes, at least 1', [{ path: ['size'], message: 'must be a positive integer' }]);
  }
  if (size > S3Limits.maxObjectBytes) {
    throw new PayloadTooLargeError(`size ${size} bytes is over S3's ${S3Limits.maxObjectBytes}-byte object limit`);
  }
}

/** The multipart layout for `size` bytes: whole-MiB parts of at least 8 MiB, never more than 10,000 of them. */
export function planMultipart(size: number): MultipartPlan {
  assertObjectSize(size);
  const smallestFitting = Math.ceil(Math.ceil(size / S3Limits.maxParts) / MiB) * MiB;
  const partSize = Math.max(preferredPartBytes, smallestFitting);
  return { mode: 'multipart', size, partSize, partCount: Math.ceil(size / partSize) };
}

/**
 * One PUT up to `threshold` bytes (and never past S3's 5 GiB single-PUT limit), multipart above it.
 */
export function planUpload(input: { readonly size: number; readonly threshold: number }): UploadPlan {
  assertObjectSize(input.size);
  const singleLimit = Math.min(input.threshold, S3Limits.singlePutMaxBytes);
  return input.size <= singleLimit ? { mode: 'single', size: input.size } : planMultipart(input.size);
}

/** Bytes in part `partNumber` (1-based): `partSize` except for a shorter last part. */
export function partLength(plan: Pick<MultipartPlan, 'size' | 'partSize'>, partNumber: number): number {
  return Math.min(plan.partSize, plan.size - (partNumber - 1) * plan.partSize);
}

// ---------------------------------------------------------------------------------------------------------------
// Shapes returned to callers

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

export interface UploadedPart {
  readonly partNumber: number;
  readonly etag: string;
  readonly size: number;
  readonly lastModified?: string;
}

export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
}

export interface StoredObject {
  readonly key: string;
  readonly size: number;
  readonly eTag?: string;
  readonly contentType?: string;
  readonly lastModified?: string;
  /** User metadata (`x-amz-meta-*`), names without the prefix, lower-cased as S3 returns them. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * User metadata for an object: names of lower-case letters, digits and dashes (they become `x-amz-meta-<name>`
 * headers), ASCII values (S3 refuses other bytes in a REST header).
 */
export type ObjectMetadata = Readonly<Record<string, string>>;

function assertMetadata(metadata: ObjectMetadata): void {
  const problems = Object.entries(metadata).flatMap(([name, value]) => {
    const found: ValidationIssue[] = [];
    if (!/^[a-z0-9-]{1,100}$/.test(name)) found.push(issue(['metadata', name], 'lower-case letters, digits and dashes only'));
    if (!/^[\x20-\x7e]*$/.test(value)) found.push(issue(['metadata', name], 'printable ASCII only'));
    return found;
  });
  if (problems.length > 0) throw new ValidationError('Object metadata S3 cannot carry', problems);
}

/** The SDK input for `metadata` (checked first); nothing when there is none. */
function metadataInput(metadata: ObjectMetadata): { Metadata?: Record<string, string> } {
  assertMetadata(metadata);
  return Object.keys(metadata).length === 0 ? {} : { Metadata: { ...metadata } };
}

const metadataHeaders = (metadata: ObjectMetadata): Record<string, string> =>
  Object.fromEntries(Object.entries(metadata).map(([name, value]) => [`x-amz-meta-${name}`, value]));

export interface PresignedGet {
  readonly url: string;
  readonly expiresAt: string;
}

/**
 * The user-metadata name (`x-amz-meta-reelay-sealed`) of the zero-byte marker {@link UploadStorage.sealKey} leaves at
 * the key of a cancelled upload; its value says why.
 */
export const sealMetadataName = 'reelay-sealed';

/** True for the marker {@link UploadStorage.sealKey} writes (no upload is ever empty: sizes are at least 1 byte). */
export function isSealMarker(object: Pick<StoredObject, 'size' | 'metadata'>): boolean {
  return object.size === 0 && object.metadata?.[sealMetadataName] !== undefined;
}

/** What {@link UploadStorage.sealKey} found: an empty key, an upload it replaced, or a marker already there. */
export type SealOutcome = 'sealed' | 'replaced' | 'already_sealed';

/** Rounds of "write the marker / replace what is there" before sealing gives up on a key that keeps changing. */
const sealAttempts = 3;

/** The S3 refusals of a conditional write: the condition did not hold (412, or 404 for If-Match), or a race (409). */
function isConditionRefusal(error: unknown): boolean {
  return error instanceof S3ServiceException && ['PreconditionFailed', 'ConditionalRequestConflict', 'NoSuchKey'].includes(error.name);
}

// ---------------------------------------------------------------------------------------------------------------
// Error mapping

/** Turns the S3 errors a caller can provoke into reelay's typed errors; anything else is returned unchanged. */
export function translateS3Error(error: unknown, context: { readonly key: string; readonly uploadId?: string }): unknown {
  if (!(error instanceof S3ServiceException)) return error;
  const upload = context.uploadId === undefined ? '' : ` (upload ${context.uploadId})`;
  const partsIssue = (message: string): ValidationIssue[] => [{ path: ['parts'], message }];
  switch (error.name) {
    // Every reelay write to a source key is conditional (If-None-Match: *): the key already holds an object.
    case 'PreconditionFailed':
      return new ConflictError(`${context.key} already holds an object; an upload writes its key once${upload}`);
    // A delete of the key (a cancelled video being cleaned up) landed while the write was on its way.
    case 'ConditionalRequestConflict':
      return new ConflictError(`${context.key} was changed while this write was on its way${upload}; the upload was not stored`);
    case 'MalformedXML':
      return new ValidationError(`S3 could not read the part list${upload}`, partsIssue('parts S3 cannot read (ETags must be the ones S3 returned)'));
    case 'NoSuchUpload':
      return new NotFoundError(`No open multipart upload${upload} for ${context.key}: it was completed, aborted or never started`);
    case 'NoSuchKey':
    case 'NotFound':
      return new NotFoundError(`No object at ${context.key}`);
    case 'EntityTooSmall':
      return new ValidationError(`Every part but the last must be at least ${S3Limits.minPartBytes} bytes${upload}`, partsIssue('a part before the last is under 5 MiB'));
    case 'InvalidPart':
      return new ValidationError(`A listed part was not uploaded or its ETag does not match${upload}`, partsIssue('unknown part or wrong etag'));
    case 'InvalidPartOrder':
      return new ValidationError(`Parts must be listed in ascending part-number order${upload}`, partsIssue('not in ascending order'));
    case 'EntityTooLarge':
      return new PayloadTooLargeError(`The object at ${context.key} is over S3's size limit`);
    default:
      return error;
  }
}

async function mapped<T>(work: Promise<T>, context: { readonly key: string; readonly uploadId?: string }): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw translateS3Error(error, context);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Presigning

/**
 * Removes the flexible-checksum headers the SDK adds by default: in a presigned URL they would pin the CRC32 of an
 * empty body, so S3 would reject every real upload. Runs after the checksum middleware (build step, low priority).
 */
function stripChecksumHeaders<I extends object, O extends object>(stack: MiddlewareStack<I, O>): void {
  const strip: BuildMiddleware<I, O> = (next) => async (args) => {
    const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase();
      if (lower.startsWith('x-amz-checksum-') || lower === 'x-amz-sdk-checksum-algorithm') delete headers[name];
    }
    return next(args);
  };
  stack.add(strip, { step: 'build', priority: 'low', name: 'reelayStripPresignChecksums' });
}

function issue(path: ReadonlyArray<string | number>, message: string): ValidationIssue {
  return { path, message };
}

const maxPartNumbersPerCall = 1_000;

export interface UploadStorageOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix for uploads, e.g. `uploads/`. */
  readonly prefix: string;
  /** Default lifetime of upload URLs (see StorageConfig.uploadUrlTtlSeconds for the temporary-credentials caveat). */
  readonly urlTtlSeconds: number;
  /** ListParts page size; S3 caps it at 1,000 (smaller only to exercise pagination). */
  readonly listPartsPageSize?: number;
  readonly now?: () => Date;
}

export class UploadStorage {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly urlTtlSeconds: number;
  private readonly listPartsPageSize: number;
  private readonly now: () => Date;

  constructor(options: UploadStorageOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.urlTtlSeconds = options.urlTtlSeconds;
    this.listPartsPageSize = Math.min(options.listPartsPageSize ?? S3Limits.listPartsPageMax, S3Limits.listPartsPageMax);
    this.now = options.now ?? (() => new Date());
  }

  static fromConfig(client: S3Client, config: StorageConfig): UploadStorage {
    return new UploadStorage({ client, bucket: config.bucket, prefix: config.prefix, urlTtlSeconds: config.uploadUrlTtlSeconds });
  }

  /**
   * `${prefix}${videoId}/source.${ext}`: the user's filename contributes at most a short alphanumeric extension,
   * so keys never carry user text (no path tricks, no odd encodings in notifications).
   */
  objectKeyFor(videoId: string, filename: string): string {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(videoId)) {
      throw new ValidationError(`Not a usable video id for an object key: "${videoId}"`, [issue(['videoId'], 'letters, digits and dashes only')]);
    }
    const extension = /\.([A-Za-z0-9]{1,10})$/.exec(filename.trim())?.[1]?.toLowerCase();
    return `${this.prefix}${videoId}/source${extension === undefined ? '' : `.${extension}`}`;
  }

  /**
   * Where the SRT made from a Mux text track goes: `${prefix}${videoId}/captions/${language}.srt`. Inside the upload
   * prefix (the only one the functions' IAM role may write), and not a source key, so the object-created event it
   * raises is recognisable and skipped by ingest ({@link videoIdFromKey} returns undefined for it).
   */
  captionsKeyFor(videoId: string, language: string): string {
    if (!/^[A-Za-z0-9-]{1,35}$/.test(language)) {
      throw new ValidationError(`Not a usable caption language for an object key: "${language}"`, [issue(['language'], 'letters, digits and dashes only')]);
    }
    const source = this.objectKeyFor(videoId, '');
    return `${source.slice(0, -'source'.length)}captions/${language}.srt`;
  }

  /** The video id inside a key made by {@link objectKeyFor}, or undefined for any other key. */
  videoIdFromKey(key: string): string | undefined {
    if (!key.startsWith(this.prefix)) return undefined;
    return /^([A-Za-z0-9-]{1,64})\/source(?:\.[a-z0-9]{1,10})?$/.exec(key.slice(this.prefix.length))?.[1];
  }

  planUpload(input: { readonly size: number; readonly threshold: number }): UploadPlan {
    return planUpload(input);
  }

  /**
   * Signs through `sign` (one getSignedUrl call on a concrete command type) and reports when the URL stops working:
   * after `ttlSeconds`, or earlier when the signing credentials expire first.
   */
  private async presign(
    ttlSeconds: number,
    signedHeaders: readonly string[],
    sign: (options: { expiresIn: number; signingDate: Date; signableHeaders: Set<string>; unhoistableHeaders: Set<string> }) => Promise<string>,
  ): Promise<PresignedGet> {
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > S3Limits.maxPresignSeconds) {
      throw new ValidationError(`URL lifetime must be 1..${S3Limits.maxPresignSeconds} seconds, got ${ttlSeconds}`);
    }
    const signingDate = this.now();
    // A signed header stays a header: the presigner would otherwise move `x-amz-*` ones (metadata) into the query,
    // and the uploader would not have to send them.
    const url = await sign({ expiresIn: ttlSeconds, signingDate, signableHeaders: new Set(signedHeaders), unhoistableHeaders: new Set(signedHeaders) });
    const credentials = await this.client.config.credentials();
    const urlExpiry = signingDate.getTime() + ttlSeconds * 1000;
    const credentialExpiry = credentials.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
    return { url, expiresAt: new Date(Math.min(urlExpiry, credentialExpiry)).toISOString() };
  }

  /**
   * A URL for one PUT whose signature covers content-type and content-length: no other size or type is accepted.
   * `metadata` is signed too, as `x-amz-meta-*` headers the uploader must send (returned in `headers`).
   */
  async presignSinglePut(input: {
    readonly key: string;
    readonly contentType: string;
    readonly size: number;
    readonly metadata?: ObjectMetadata;
  }): Promise<SinglePutUpload> {
    const plan = planUpload({ size: input.size, threshold: S3Limits.singlePutMaxBytes });
    if (plan.mode !== 'single') {
      throw new ValidationError(`A single PUT holds at most ${S3Limits.singlePutMaxBytes} bytes; use multipart`, [issue(['size'], 'too large for one PUT')]);
    }
    const metadata = input.metadata ?? {};
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: input.key,
      ContentType: input.contentType,
      ContentLength: input.size,
      // Signed, so the uploader must send it: the URL can fill an empty key once, never replace what is there
      // (a finished upload, or the marker a cancelled upload leaves, see sealKey).
      IfNoneMatch: '*',
      ...metadataInput(metadata),
    });
    stripChecksumHeaders(command.middlewareStack);
    const extraHeaders = metadataHeaders(metadata);
    const { url, expiresAt } = await this.presign(this.urlTtlSeconds, ['content-type', 'content-length', 'if-none-match', ...Object.keys(extraHeaders)], (options) =>
      getSignedUrl(this.client, command, options));
    const headers = { 'content-type': input.contentType, 'content-length': String(input.size), 'if-none-match': '*' as const, ...extraHeaders };
    return { mode: 'single', method: 'PUT', url, headers, expiresAt };
  }

  /** Opens a multipart upload; the object gets `contentType` and `metadata` when completed. Returns the upload id. */
  async startMultipart(input: { readonly key: string; readonly contentType: string; readonly metadata?: ObjectMetadata }): Promise<string> {
    const output = await mapped(
      this.client.send(new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: input.key,
        ContentType: input.contentType,
        ...metadataInput(input.metadata ?? {}),
      })),
      { key: input.key },
    );
    if (output.UploadId === undefined) throw new Error(`S3 returned no UploadId for ${input.key}`);
    return output.UploadId;
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
      throw new ValidationError(`partSize must be ${S3Limits.minPartBytes}..${S3Limits.maxPartBytes} bytes`, [issue(['partSize'], 'out of range')]);
    }
    const partCount = Math.ceil(layout.size / layout.partSize);
    if (partCount > S3Limits.maxParts) throw new ValidationError(`${partCount} parts is over S3's ${S3Limits.maxParts}-part limit`);
    const problems = partNumberIssues(input.partNumbers, partCount, ['partNumbers']);
    if (input.partNumbers.length > maxPartNumbersPerCall) problems.push(issue(['partNumbers'], `at most ${maxPartNumbersPerCall} per call`));
    if (problems.length > 0) throw new ValidationError(`Invalid part numbers for a ${partCount}-part upload`, problems);

    const signingDate = this.now();
    const signed = await Promise.all(
      input.partNumbers.map(async (partNumber) => {
        const size = partLength(layout, partNumber);
        const command = new UploadPartCommand({ Bucket: this.bucket, Key: input.key, UploadId: input.uploadId, PartNumber: partNumber, ContentLength: size });
        stripChecksumHeaders(command.middlewareStack);
        const { url, expiresAt } = await this.presign(this.urlTtlSeconds, ['content-length'], (options) =>
          getSignedUrl(this.client, command, options));
        return { part: { partNumber, url, size }, expiresAt };
      }),
    );
    const fallbackExpiry = new Date(signingDate.getTime() + this.urlTtlSeconds * 1000).toISOString();
    return { parts: signed.map((entry) => entry.part), expiresAt: signed[0]?.expiresAt ?? fallbackExpiry };
  }

  /** Every part uploaded so far, in part-number order, following ListParts pages past 1,000. */
  async listUploadedParts(input: { readonly key: string; readonly uploadId: string }): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await mapped(
        this.client.send(new ListPartsCommand({
          Bucket: this.bucket,
          Key: input.key,
          UploadId: input.uploadId,
          MaxParts: this.listPartsPageSize,
          ...(marker === undefined ? {} : { PartNumberMarker: marker }),
        })),
        input,
      );
      for (const part of page.Parts ?? []) {
        if (part.PartNumber === undefined || part.ETag === undefined) continue;
        parts.push({
          partNumber: part.PartNumber,
          etag: part.ETag,
          size: part.Size ?? 0,
          ...(part.LastModified === undefined ? {} : { lastModified: part.LastModified.toISOString() }),
        });
      }
      if (page.IsTruncated !== true) return parts;
      const next = page.NextPartNumberMarker;
      if (next === undefined || next === marker) throw new Error(`ListParts for ${input.key} is truncated but gave no new NextPartNumberMarker`);
      marker = next;
    }
  }

  /**
   * Assembles the object from `parts` (sorted here; duplicates and out-of-range numbers are rejected before S3 is
   * called), only if the key holds no object yet (`If-None-Match: *`). If the upload is gone but the object exists, it
   * was completed already; if the key was written meanwhile, S3 refuses (412): both are a {@link ConflictError}.
   */
  async completeMultipart(input: { readonly key: string; readonly uploadId: string; readonly parts: readonly CompletedPart[] }): Promise<{ key: string; eTag?: string }> {
    const problems = partNumberIssues(input.parts.map((part) => part.partNumber), S3Limits.maxParts, ['parts']);
    input.parts.forEach((part, index) => {
      if (typeof part.etag !== 'string' || part.etag.replace(/"/g, '').trim() === '') problems.push(issue(['parts', index, 'etag'], 'required'));
    });
    if (input.parts.length === 0) problems.push(issue(['parts'], 'at least one part is required'));
    if (problems.length > 0) throw new ValidationError('Invalid part list for completing the upload', problems);

    const sorted = [...input.parts].sort((a, b) => a.partNumber - b.partNumber);
    try {
      const output = await this.client.send(new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: input.key,
        UploadId: input.uploadId,
        MultipartUpload: { Parts: sorted.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })) },
        IfNoneMatch: '*',
      }));
      return { key: input.key, ...(output.ETag === undefined ? {} : { eTag: output.ETag }) };
    } catch (error) {
      const translated = translateS3Error(error, input);
      if (translated instanceof NotFoundError && (await this.headObject(input.key)) !== null) {
        throw new ConflictError(`The multipart upload ${input.uploadId} for ${input.key} was already completed`);
      }
      throw translated;
    }
  }

  /** Aborts the upload and frees its parts. Aborting one that is already gone is not an error: `'not_found'`. */
  async abortMultipart(input: { readonly key: string; readonly uploadId: string }): Promise<'aborted' | 'not_found'> {
    try {
      await mapped(this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: input.key, UploadId: input.uploadId })), input);
      return 'aborted';
    } catch (error) {
      if (error instanceof NotFoundError) return 'not_found';
      throw error;
    }
  }

  /** A GET URL for someone without AWS credentials (Mux fetching the input). Same credential-expiry caveat. */
  async presignGet(input: { readonly key: string; readonly ttlSeconds?: number }): Promise<PresignedGet> {
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: input.key });
    stripChecksumHeaders(command.middlewareStack);
    return this.presign(input.ttlSeconds ?? this.urlTtlSeconds, [], (options) => getSignedUrl(this.client, command, options));
  }

  /** The object's metadata, or null when there is no object at `key`. */
  async headObject(key: string): Promise<StoredObject | null> {
    try {
      const output = await mapped(this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })), { key });
      return {
        key,
        size: output.ContentLength ?? 0,
        ...(output.ETag === undefined ? {} : { eTag: output.ETag }),
        ...(output.ContentType === undefined ? {} : { contentType: output.ContentType }),
        ...(output.LastModified === undefined ? {} : { lastModified: output.LastModified.toISOString() }),
        ...(output.Metadata === undefined || Object.keys(output.Metadata).length === 0 ? {} : { metadata: output.Metadata }),
      };
    } catch (error) {
      if (error instanceof NotFoundError) return null;
      throw error;
    }
  }

  /**
   * Makes `key` hold a zero-byte marker (metadata `reelay-sealed: <reason>`), so that no upload URL for it can write
   * there any more: every such URL is signed with `If-None-Match: *`, which S3 refuses with 412 while the key holds an
   * object. An upload that landed first is replaced (`If-Match` on its ETag, so the key is never empty in between and
   * a newer write is never replaced unseen). Used for cancelled uploads; safe to repeat.
   */
  async sealKey(key: string, reason: string): Promise<SealOutcome> {
    const metadata = { [sealMetadataName]: reason };
    const putMarker = async (condition: { IfNoneMatch: '*' } | { IfMatch: string }): Promise<boolean> => {
      try {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: new Uint8Array(0), ContentLength: 0, ...metadataInput(metadata), ...condition }));
        return true;
      } catch (error) {
        if (isConditionRefusal(error)) return false;
        throw translateS3Error(error, { key });
      }
    };
    for (let attempt = 1; attempt <= sealAttempts; attempt += 1) {
      if (await putMarker({ IfNoneMatch: '*' })) return 'sealed';
      const existing = await this.headObject(key);
      if (existing === null) continue;
      if (isSealMarker(existing)) return 'already_sealed';
      if (existing.eTag !== undefined && (await putMarker({ IfMatch: existing.eTag }))) return 'replaced';
    }
    throw new Error(`Could not seal ${key}: it changed ${sealAttempts} times while being sealed`);
  }

  /** Writes a small object from the server side (e.g. the SRT captions made from Mux's VTT). */
  async putObject(key: string, body: string | Uint8Array, contentType: string): Promise<{ eTag?: string }> {
    const output = await mapped(this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType })), { key });
    return output.ETag === undefined ? {} : { eTag: output.ETag };
  }
}

function partNumberIssues(partNumbers: readonly number[], partCount: number, path: readonly string[]): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  if (partNumbers.length === 0) problems.push(issue(path, 'at least one part number is required'));
  const seen = new Set<number>();
  partNumbers.forEach((partNumber, index) => {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > partCount) {
      problems.push(issue([...path, index], `part number must be an integer from 1 to ${partCount}`));
    } else if (seen.has(partNumber)) {
      problems.push(issue([...path, index], `part number ${partNumber} is listed twice`));
    }
    seen.add(partNumber);
  });
  return problems;
}
