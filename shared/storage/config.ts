/**
 * Upload storage settings, read once from the environment at cold start.
 *
 * Sizes are bytes. S3's own limits (S3 user guide, "Amazon S3 multipart upload limits",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html) live in
 * {@link S3Limits}; every configurable number is checked against them here, so a bad deployment fails at start-up
 * instead of handing users URLs S3 will refuse.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { PayloadTooLargeError, ReelayError, UnsupportedMediaTypeError, ValidationError } from '../errors.js';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

export const S3Limits = {
  /**
   * Largest single PUT. AWS writes "5 GB"; S3's limits are binary (the same page says 5 TiB objects, 5 GiB parts)
   * and PutObject accepts 5 GiB.
   */
  singlePutMaxBytes: 5 * GiB,
  minPartBytes: 5 * MiB,
  maxPartBytes: 5 * GiB,
  maxParts: 10_000,
  maxObjectBytes: 5 * TiB,
  /** SigV4 query signatures cannot outlive a week. */
  maxPresignSeconds: 7 * 24 * 3600,
  /** ListParts answers at most this many parts per call. */
  listPartsPageMax: 1_000,
} as const;

/**
 * Video containers browsers and cameras actually produce, all of which Mux ingests. Compared after lower-casing and
 * dropping parameters (`video/mp4; codecs=...` is `video/mp4`).
 */
export const defaultAllowedContentTypes: readonly string[] = [
  'video/mp4',
  'video/quicktime',
  'video/webm',
  'video/x-matroska',
  'video/x-msvideo',
  'video/avi',
  'video/mpeg',
  'video/mp2t',
  'video/ogg',
  'video/3gpp',
  'video/3gpp2',
  'video/x-m4v',
  'video/x-flv',
  'video/x-ms-wmv',
];

export interface StorageConfig {
  readonly bucket: string;
  /** Every upload key starts with this; the S3 → SQS notification is filtered on it. Ends with `/` or is empty. */
  readonly prefix: string;
  readonly region: string;
  /** Only for a local S3 (s3rver); unset in AWS. */
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  readonly maxUploadBytes: number;
  readonly multipartThresholdBytes: number;
  /**
   * Lifetime asked of every presigned URL. The URL really dies at the earlier of this and the expiry of the
   * credentials that signed it: a Lambda signs with its role's temporary credentials, so a URL can stop working
   * when that session does (typically within a few hours, not the full week SigV4 allows). `expiresAt` in the
   * upload responses reports the earlier of the two when the SDK knows the credentials' expiry.
   */
  readonly uploadUrlTtlSeconds: number;
  readonly allowedContentTypes: readonly string[];
}

/** The environment holds an unusable storage setting. A deployment fault, never the caller's (HTTP 500). */
export class StorageConfigError extends ReelayError {
  readonly code = 'storage_config_invalid';
}

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new StorageConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new StorageConfigError(`${name} must be between ${min} and ${max}, got ${raw}`);
  }
  return value;
}

function flag(env: Env, name: string): boolean {
  const raw = nonEmpty(env, name)?.toLowerCase();
  if (raw === undefined) return false;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new StorageConfigError(`${name} must be true or false, got "${raw}"`);
}

/** `video/MP4; codecs="avc1"` → `video/mp4`. */
export function normaliseContentType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * Reads the storage settings:
 * - `UPLOAD_BUCKET` (required);
 * - `UPLOAD_PREFIX` (default `uploads/`; a missing trailing `/` is added);
 * - `AWS_REGION` (default `us-east-1`, what the Lambda runtime always sets anyway);
 * - `S3_ENDPOINT`, `S3_FORCE_PATH_STYLE` (local S3 only; path style defaults to on when an endpoint is set);
 * - `MAX_UPLOAD_BYTES` (default 50 GiB: an hour of high-bitrate 4K camera footage, while bounding what one user
 *   can make us store and send to Mux; at most S3's 5 TiB object limit);
 * - `MULTIPART_THRESHOLD_BYTES` (default 100 MiB, Uppy's default; between 5 MiB and S3's 5 GiB single-PUT limit);
 * - `UPLOAD_URL_TTL_SECONDS` (default 3600; 60 s to 7 days; see {@link StorageConfig.uploadUrlTtlSeconds});
 * - `ALLOWED_CONTENT_TYPES` (comma-separated `video/*` types; default {@link defaultAllowedContentTypes}).
 */
export function storageConfigFromEnv(env: Env = process.env): StorageConfig {
  const bucket = nonEmpty(env, 'UPLOAD_BUCKET');
  if (bucket === undefined) throw new StorageConfigError('UPLOAD_BUCKET is required');

  const rawPrefix = env.UPLOAD_PREFIX ?? 'uploads/';
  const prefix = rawPrefix === '' || rawPrefix.endsWith('/') ? rawPrefix : `${rawPrefix}/`;
  if (prefix.startsWith('/')) throw new StorageConfigError(`UPLOAD_PREFIX must not start with "/", got "${rawPrefix}"`);

  const endpoint = nonEmpty(env, 'S3_ENDPOINT');
  const forcePathStyle = nonEmpty(env, 'S3_FORCE_PATH_STYLE') === undefined ? endpoint !== undefined : flag(env, 'S3_FORCE_PATH_STYLE');

  const allowedRaw = nonEmpty(env, 'ALLOWED_CONTENT_TYPES');
  const allowedContentTypes = allowedRaw === undefined
    ? defaultAllowedContentTypes
    : allowedRaw.split(',').map(normaliseContentType).filter((type) => type !== '');
  const notVideo = allowedContentTypes.filter((type) => !/^video\/[a-z0-9.+-]+$/.test(type));
  if (allowedContentTypes.length === 0 || notVideo.length > 0) {
    throw new StorageConfigError(`ALLOWED_CONTENT_TYPES must list video/* types, got "${allowedRaw ?? ''}"`);
  }

  return {
    bucket,
    prefix,
    region: nonEmpty(env, 'AWS_REGION') ?? 'us-east-1',
    ...(endpoint === undefined ? {} : { endpoint }),
    forcePathStyle,
    maxUploadBytes: integer(env, 'MAX_UPLOAD_BYTES', 50 * GiB, 1, S3Limits.maxObjectBytes),
    multipartThresholdBytes: integer(env, 'MULTIPART_THRESHOLD_BYTES', 100 * MiB, S3Limits.minPartBytes, S3Limits.singlePutMaxBytes),
    uploadUrlTtlSeconds: integer(env, 'UPLOAD_URL_TTL_SECONDS', 3600, 60, S3Limits.maxPresignSeconds),
    allowedContentTypes,
  };
}

/**
 * The S3 client for this configuration. Request checksums are computed only when an operation requires them:
 * with the SDK default (`WHEN_SUPPORTED`) a presigned PutObject/UploadPart URL carries the CRC32 of an empty body,
 * and S3 rejects any real upload to it. `credentials` only for the local S3; in AWS the role's are used.
 */
export function createS3Client(
  config: Pick<StorageConfig, 'region' | 'endpoint' | 'forcePathStyle'>,
  credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string },
): S3Client {
  return new S3Client({
    region: config.region,
    ...(credentials === undefined ? {} : { credentials }),
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    forcePathStyle: config.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * Checks a requested upload against the configuration and returns the normalised content type.
 * Throws {@link UnsupportedMediaTypeError} (415), {@link PayloadTooLargeError} (413) or {@link ValidationError}.
 */
export function assertUploadAllowed(
  config: Pick<StorageConfig, 'allowedContentTypes' | 'maxUploadBytes'>,
  request: { readonly contentType: string; readonly size: number },
): string {
  const contentType = normaliseContentType(request.contentType);
  if (!config.allowedContentTypes.includes(contentType)) {
    throw new UnsupportedMediaTypeError(
      `Content type "${request.contentType}" is not accepted; use one of: ${config.allowedContentTypes.join(', ')}`,
    );
  }
  if (!Number.isSafeInteger(request.size) || request.size < 1) {
    throw new ValidationError('size must be a whole number of bytes, at least 1', [{ path: ['size'], message: 'must be a positive integer' }]);
  }
  if (request.size > config.maxUploadBytes) {
    throw new PayloadTooLargeError(`size ${request.size} bytes is over the ${config.maxUploadBytes}-byte upload limit`);
  }
  return contentType;
}
