/**
 * The S3 API calls of uploads: the multipart lifecycle (create, list, complete, abort), HEAD, the seal marker and
 * small server-side writes. Everything here needs S3Client, so this module is loaded with it, on the first such call
 * (shared/storage/uploads.ts), never for presigning alone.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { S3Limits } from './config.js';
import { isSealMarker, metadataInput, sealMetadataName, type ObjectMetadata } from './object-metadata.js';
import { issueAt, partNumberIssues } from './plan.js';
import { isConditionRefusal, mapped, translateS3Error } from './s3-errors.js';

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

/** What {@link UploadStorage.sealKey} found: an empty key, an upload it replaced, or a marker already there. */
export type SealOutcome = 'sealed' | 'replaced' | 'already_sealed';

/** Rounds of "write the marker / replace what is there" before sealing gives up on a key that keeps changing. */
const sealAttempts = 3;

export class S3Operations {
  readonly #client: S3Client;
  readonly bucket: string;
  readonly listPartsPageSize: number;

  constructor(client: S3Client, bucket: string, listPartsPageSize: number) {
    this.#client = client;
    this.bucket = bucket;
    this.listPartsPageSize = listPartsPageSize;
  }

  /** Opens a multipart upload; the object gets `contentType` and `metadata` when completed. Returns the upload id. */
  async startMultipart(input: { readonly key: string; readonly contentType: string; readonly metadata?: ObjectMetadata }): Promise<string> {
    const output = await mapped(
      this.#client.send(new CreateMultipartUploadCommand({
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

  /** Every part uploaded so far, in part-number order, following ListParts pages past 1,000. */
  async listUploadedParts(input: { readonly key: string; readonly uploadId: string }): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await mapped(
        this.#client.send(new ListPartsCommand({
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
      if (typeof part.etag !== 'string' || part.etag.replace(/"/g, '').trim() === '') problems.push(issueAt(['parts', index, 'etag'], 'required'));
    });
    if (input.parts.length === 0) problems.push(issueAt(['parts'], 'at least one part is required'));
    if (problems.length > 0) throw new ValidationError('Invalid part list for completing the upload', problems);

    const sorted = [...input.parts].sort((a, b) => a.partNumber - b.partNumber);
    try {
      const output = await this.#client.send(new CompleteMultipartUploadCommand({
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
      await mapped(this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: input.key, UploadId: input.uploadId })), input);
      return 'aborted';
    } catch (error) {
      if (error instanceof NotFoundError) return 'not_found';
      throw error;
    }
  }

  /** The object's metadata, or null when there is no object at `key`. */
  async headObject(key: string): Promise<StoredObject | null> {
    try {
      const output = await mapped(this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })), { key });
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
        await this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: new Uint8Array(0), ContentLength: 0, ...metadataInput(metadata), ...condition }));
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
    const output = await mapped(this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType })), { key });
    return output.ETag === undefined ? {} : { eTag: output.ETag };
  }

  /**
   * The key and size of the object at `key`, or null, from a listing rather than HeadObject: a HeadObject of a
   * missing key is a 403 without an unconditional `s3:ListBucket`, while reconcile may list the upload prefix
   * (`bucket-delete`). The first key of the listing under `key` is `key` itself when it exists (keys sort by bytes).
   */
  async findObject(key: string): Promise<{ key: string; size: number } | null> {
    const page = await mapped(this.#client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key, MaxKeys: 1 })), { key });
    const first = page.Contents?.[0];
    return first?.Key === key ? { key, size: first.Size ?? 0 } : null;
  }

  /**
   * Deletes every object whose key starts with `prefix` (a video's folder: its source, its captions, a seal marker),
   * page by page; returns how many were deleted. Deleting a key that is already gone is a success in S3, so a
   * repeated or concurrent run is harmless. One DeleteObject per key: a video's folder holds a handful of objects.
   */
  async deleteObjectsUnder(prefix: string): Promise<number> {
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await mapped(this.#client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) })), { key: prefix });
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key]));
      await Promise.all(keys.map((key) => mapped(this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })), { key })));
      deleted += keys.length;
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return deleted;
  }
}
