/**
 * Uploads from a caller's point of view: create a video and get presigned URLs, sign more parts, list what arrived,
 * complete, abort. The S3 work is shared/storage's, the rows are VideoDB's; this is where the two are kept
 * consistent under retries and races (every status change is a compare-and-set on the row).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { CreateResult, VideoDB } from '../db/video-db.js';
import type { VideoRecord } from '../db/video-fields.js';
import { ConflictError, isDatabaseError, SqlState, ValidationError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { assertUploadAllowed, type StorageConfig } from '../storage/config.js';
import {
  planMultipart,
  type CompletedPart,
  type MultipartPlan,
  type SignedPart,
  type SignedParts,
  type SinglePutUpload,
  type UploadedPart,
  type UploadStorage,
} from '../storage/uploads.js';
import { loadVisibleVideo, type Viewer } from './access.js';
import { ingestOptions, ingestOptionsToMetadata, type IngestOptions } from './ingest-options.js';
import { differingFields, fingerprintOfVideo, type UploadFingerprint } from './upload-fingerprint.js';
import type { MuxPlaybackPolicy } from '../mux/assets.js';
import { presentVideo, type VideoJson } from './presenter.js';

// ---------------------------------------------------------------------------------------------------------------
// Shapes

export interface CreateUploadInput {
  readonly title: string;
  readonly description?: string | null;
  readonly filename: string;
  readonly contentType: string;
  readonly size: number;
  readonly options?: Partial<IngestOptions>;
}

export interface MultipartUploadStart {
  readonly mode: 'multipart';
  readonly uploadId: string;
  readonly partSize: number;
  readonly partCount: number;
  /** URLs for the first parts; ask for the rest with signParts. */
  readonly parts: SignedPart[];
  readonly expiresAt: string;
}

export interface SchemaReport {
  readonly muxColumns: { readonly present: boolean; readonly missing: readonly string[] };
  /** True when the row was written without the Mux columns (legacy schema). */
  readonly usedFallback: boolean;
}

export interface CreatedUpload {
  readonly video: VideoJson;
  readonly upload: SinglePutUpload | MultipartUploadStart;
  readonly schema: SchemaReport;
}

/** A created upload, and whether it answers a retry of an earlier request with the same idempotency key. */
export interface CreateUploadOutcome extends CreatedUpload {
  readonly replayed: boolean;
}

/** What `Idempotency-Key` may hold: 1 to 255 visible ASCII characters (e.g. a UUID the client made). */
export const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;

/**
 * The video id for a caller's idempotency key: a name-based UUID (RFC 9562 version 8) from the owner and the key,
 * so a retried create lands on the same row (the primary key says "seen") without another table or another call.
 */
export function videoIdForIdempotencyKey(ownerId: string, key: string): string {
  const bytes = createHash('sha256').update(`reelay/upload\u0000${ownerId}\u0000${key}`).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface UploadProgress {
  readonly uploadId: string;
  readonly partSize: number;
  readonly partCount: number;
  /** Parts S3 holds so far, in part-number order. */
  readonly parts: UploadedPart[];
}

export interface UploadServiceOptions {
  readonly videos: VideoDB;
  readonly storage: UploadStorage;
  readonly config: StorageConfig;
  readonly logger?: Logger;
  readonly newId?: () => string;
  /** How many part URLs the create response carries (default 100; the rest come from signParts). */
  readonly initialPartBatch?: number;
  /**
   * The deployment's playback policy, which the answers name (default public). They carry no playback tokens: only
   * the videos function mints them, so a client reads the video for URLs it can play.
   */
  readonly playbackPolicy?: MuxPlaybackPolicy;
}

type OpenMultipart = VideoRecord & { readonly s3UploadId: string };

function schemaReport(result: CreateResult): SchemaReport {
  return { muxColumns: { present: result.missingColumns.length === 0, missing: result.missingColumns }, usedFallback: result.usedFallback };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);
}

/** `1, 2, 3` or, for a long list, its first 20 and an ellipsis: enough for a message. */
function someOf(numbers: readonly number[]): string {
  return `${numbers.slice(0, 20).join(', ')}${numbers.length > 20 ? ', …' : ''}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The service

export class UploadService {
  readonly #videos: VideoDB;
  readonly #storage: UploadStorage;
  readonly #config: StorageConfig;
  readonly #logger: Logger;
  readonly #newId: () => string;
  readonly #initialPartBatch: number;
  readonly #playbackPolicy: MuxPlaybackPolicy;

  constructor(options: UploadServiceOptions) {
    this.#videos = options.videos;
    this.#storage = options.storage;
    this.#config = options.config;
    this.#logger = options.logger ?? silentLogger;
    this.#newId = options.newId ?? randomUUID;
    this.#initialPartBatch = options.initialPartBatch ?? 100;
    this.#playbackPolicy = options.playbackPolicy ?? 'public';
  }

  #present(video: VideoRecord): VideoJson {
    return presentVideo(video, this.#playbackPolicy);
  }

  /**
   * Signs the upload before writing the row, so a signing failure leaves nothing behind. A multipart upload is
   * opened first (its id goes in the row); if the row cannot be written it is aborted again.
   *
   * With an idempotency key, a retry of the same request (a lost response, a client timeout) gets the same video
   * back with fresh URLs instead of a second row: the video id is derived from the key, so the retry's INSERT meets
   * the first one's primary key. The same key with a different request (any field of the body, defaults applied:
   * upload-fingerprint.ts) is a {@link ConflictError} naming the fields, as is a retry after the upload moved on.
   */
  async createUpload(viewer: Viewer, input: CreateUploadInput, request: { idempotencyKey?: string } = {}): Promise<CreateUploadOutcome> {
    const contentType = assertUploadAllowed(this.#config, input);
    const key = request.idempotencyKey;
    if (key !== undefined && !idempotencyKeyPattern.test(key)) {
      throw new ValidationError('Idempotency-Key must be 1 to 255 visible ASCII characters', [{ path: ['headers', 'idempotency-key'], message: 'invalid' }]);
    }
    const id = key === undefined ? this.#newId() : videoIdForIdempotencyKey(viewer.sub, key);
    const objectKey = this.#storage.objectKeyFor(id, input.filename);
    const options = ingestOptions(input.options);
    const plan = this.#storage.planUpload({ size: input.size, threshold: this.#config.multipartThresholdBytes });

    let s3UploadId: string | null = null;
    if (plan.mode === 'multipart') {
      s3UploadId = await this.#storage.startMultipart({ key: objectKey, contentType, metadata: ingestOptionsToMetadata(options) });
    }
    const upload = await this.#presignStart(objectKey, contentType, input.size, options, s3UploadId).catch((error: unknown) =>
      this.#abandon(objectKey, s3UploadId, error),
    );

    let created: CreateResult;
    try {
      created = await this.#videos
        .createWithFallback({
          id,
          ownerId: viewer.sub,
          title: input.title,
          description: input.description ?? null,
          originalFilename: input.filename,
          contentType,
          sizeBytes: input.size,
          s3Key: objectKey,
          s3UploadId,
          status: 'awaiting_upload',
          mux: { status: 'pending', options: { ...options } },
        })
        .catch((error: unknown) => this.#abandon(objectKey, s3UploadId, error));
    } catch (error) {
      if (key !== undefined && isDatabaseError(error, SqlState.uniqueViolation)) return this.#replay(viewer, id, { ...input, contentType });
      throw error;
    }
    this.#logger.info('upload.created', { videoId: id, mode: plan.mode, size: input.size, usedFallback: created.usedFallback });
    return { video: this.#present(created.video), upload, schema: schemaReport(created), replayed: false };
  }

  /** The presigned single PUT, or the first batch of part URLs of the multipart upload `s3UploadId`. */
  async #presignStart(
    objectKey: string,
    contentType: string,
    size: number,
    options: IngestOptions,
    s3UploadId: string | null,
  ): Promise<SinglePutUpload | MultipartUploadStart> {
    if (s3UploadId === null) return this.#storage.presignSinglePut({ key: objectKey, contentType, size, metadata: ingestOptionsToMetadata(options) });
    return this.#multipartStart(objectKey, s3UploadId, planMultipart(size));
  }

  /** Answers a retried create: the row the first request wrote, with fresh URLs for the same object and upload. */
  async #replay(viewer: Viewer, id: string, input: CreateUploadInput & { contentType: string }): Promise<CreateUploadOutcome> {
    const video = await loadVisibleVideo(this.#videos, id, viewer);
    const first = fingerprintOfVideo(video);
    const requested = ingestOptions(input.options);
    const retry: UploadFingerprint = {
      title: input.title,
      description: input.description ?? null,
      filename: input.filename,
      contentType: input.contentType,
      size: input.size,
      options: requested,
    };
    const differences = differingFields(first, retry);
    if (differences.length > 0) {
      const fields = differences.map((issue) => issue.path.join('.')).join(', ');
      throw new ConflictError(`This Idempotency-Key was already used for a different upload (${fields} differ); use a new key`, differences);
    }
    if (video.status !== 'awaiting_upload') {
      throw new ConflictError(`This Idempotency-Key's upload is already ${video.status}; GET /api/videos/${id} shows it`);
    }
    // The first request's options where the row keeps them: what ingest will use is what the URL signs.
    const options = first.options ?? requested;
    const upload = await this.#presignStart(video.s3Key, video.contentType, video.sizeBytes, options, video.s3UploadId);
    const capabilities = await this.#videos.capabilities.get();
    this.#logger.info('upload.replayed', { videoId: id, optionsCompared: first.options !== null });
    return {
      video: this.#present(video),
      upload,
      schema: schemaReport({ video, usedFallback: !capabilities.mux.exist, missingColumns: [...capabilities.mux.missing], deferredFields: [] }),
      replayed: true,
    };
  }

  /** Fresh URLs for up to 1,000 parts of an open multipart upload (re-signing a part is allowed: resume). */
  async signParts(viewer: Viewer, id: string, partNumbers: readonly number[]): Promise<SignedParts> {
    const video = await this.#openMultipart(viewer, id);
    return this.#storage.signParts({ key: video.s3Key, uploadId: video.s3UploadId, size: video.sizeBytes, partNumbers });
  }

  /** What S3 already holds, so a client can resume after a crash. */
  async listParts(viewer: Viewer, id: string): Promise<UploadProgress> {
    const video = await this.#openMultipart(viewer, id);
    const { partSize, partCount } = planMultipart(video.sizeBytes);
    const parts = await this.#storage.listUploadedParts({ key: video.s3Key, uploadId: video.s3UploadId });
    return { uploadId: video.s3UploadId, partSize, partCount, parts };
  }

  /**
   * Completes the multipart upload and moves the video `awaiting_upload → uploaded`. Every part of the declared size
   * must be listed: completing with fewer would store a shorter object than the one the video row describes.
   * A second completion is a {@link ConflictError}.
   */
  async complete(viewer: Viewer, id: string, parts: readonly CompletedPart[]): Promise<VideoJson> {
    const video = await this.#openMultipart(viewer, id);
    const { partCount } = planMultipart(video.sizeBytes);
    const listed = new Set(parts.map((part) => part.partNumber));
    const missing = range(1, partCount).filter((partNumber) => !listed.has(partNumber));
    const beyond = [...listed].filter((partNumber) => partNumber > partCount);
    if (missing.length > 0 || beyond.length > 0) {
      const problem = missing.length > 0 ? `parts ${someOf(missing)} are not listed` : `parts ${someOf(beyond)} do not exist`;
      throw new ValidationError(`The upload has ${partCount} parts; ${problem}`, [{ path: ['parts'], message: `exactly the parts 1 to ${partCount} are required` }]);
    }
    await this.#storage.completeMultipart({ key: video.s3Key, uploadId: video.s3UploadId, parts });
    const moved = await this.#videos.transition(id, { from: ['awaiting_upload'], to: 'uploaded', set: { s3UploadId: null } });
    if (moved.video !== null) {
      this.#logger.info('upload.completed', { videoId: id, parts: parts.length });
      return this.#present(moved.video);
    }
    // The object-created event can reach ingest before this transition: the video then already moved on, and the
    // completion still succeeded. Only a concurrent abort leaves it somewhere this request cannot report as done.
    const current = await loadVisibleVideo(this.#videos, id, viewer);
    if (current.status === 'awaiting_upload' || current.status === 'cancelled') {
      throw new ConflictError(`Video ${id} is ${current.status}; the upload was not completed for it.`);
    }
    this.#logger.info('upload.completed', { videoId: id, parts: parts.length, overtakenBy: current.status });
    return this.#present(current);
  }

  /**
   * Cancels a video still awaiting its upload: aborts the S3 multipart upload if there is one, then seals the key so
   * no upload URL for it can write any more (see {@link UploadStorage.sealKey}; an upload that landed before the
   * cancel is replaced). Repeating it is harmless; cancelling a video whose upload already arrived is a
   * {@link ConflictError}.
   */
  async abort(viewer: Viewer, id: string): Promise<VideoJson> {
    const video = await loadVisibleVideo(this.#videos, id, viewer);
    if (video.status === 'cancelled') {
      await this.#sealCancelled(video);
      return this.#present(video);
    }
    if (video.status !== 'awaiting_upload') throw new ConflictError(`Video ${id} is ${video.status}; only an upload still in progress can be cancelled.`);
    if (video.s3UploadId !== null) {
      // S3 first: if the row update then fails, a retry finds the upload gone (tolerated) and finishes the job.
      const outcome = await this.#storage.abortMultipart({ key: video.s3Key, uploadId: video.s3UploadId });
      if (outcome === 'not_found' && (await this.#storage.headObject(video.s3Key)) !== null) {
        throw new ConflictError(`The upload of video ${id} was already completed.`);
      }
    }
    const moved = await this.#videos.transition(id, { from: ['awaiting_upload'], to: 'cancelled', set: { s3UploadId: null } });
    if (moved.video !== null) {
      this.#logger.info('upload.cancelled', { videoId: id, multipart: video.s3UploadId !== null });
      await this.#sealCancelled(moved.video);
      return this.#present(moved.video);
    }
    const current = await loadVisibleVideo(this.#videos, id, viewer);
    if (current.status === 'cancelled') {
      await this.#sealCancelled(current);
      return this.#present(current);
    }
    throw new ConflictError(`Video ${id} is ${current.status}; only an upload still in progress can be cancelled.`);
  }

  /**
   * Seals the key of a video the row already says is cancelled (never before: a video whose upload won the race keeps
   * it). Best effort: if S3 fails here, ingest seals the key when an upload lands there, so the cancel still holds.
   */
  async #sealCancelled(video: VideoRecord): Promise<void> {
    try {
      const outcome = await this.#storage.sealKey(video.s3Key, 'cancelled');
      if (outcome !== 'already_sealed') this.#logger.info('upload.sealed', { videoId: video.id, outcome });
    } catch (error) {
      this.#logger.warn('upload.seal_failed', { videoId: video.id, error });
    }
  }

  async #multipartStart(key: string, uploadId: string, plan: MultipartPlan): Promise<MultipartUploadStart> {
    const first = range(1, Math.min(plan.partCount, this.#initialPartBatch));
    const signed = await this.#storage.signParts({ key, uploadId, size: plan.size, partSize: plan.partSize, partNumbers: first });
    return { mode: 'multipart', uploadId, partSize: plan.partSize, partCount: plan.partCount, parts: signed.parts, expiresAt: signed.expiresAt };
  }

  async #openMultipart(viewer: Viewer, id: string): Promise<OpenMultipart> {
    const video = await loadVisibleVideo(this.#videos, id, viewer);
    if (video.status !== 'awaiting_upload' || video.s3UploadId === null) {
      const reason = video.status === 'awaiting_upload' ? 'was created for a single PUT' : `is ${video.status}`;
      throw new ConflictError(`Video ${id} has no multipart upload in progress: it ${reason}.`);
    }
    return video as OpenMultipart;
  }

  /** Aborts a multipart upload whose video row could not be set up, then rethrows what went wrong. */
  async #abandon(key: string, uploadId: string | null, error: unknown): Promise<never> {
    if (uploadId !== null) {
      await this.#storage.abortMultipart({ key, uploadId }).catch((abortError: unknown) => {
        // S3's AbortIncompleteMultipartUpload lifecycle rule frees the parts later.
        this.#logger.warn('upload.abandon_failed', { key, uploadId, error: abortError });
      });
    }
    throw error;
  }
}
