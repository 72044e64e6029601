/**
 * Upload storage settings, read once at cold start by each function's edge (functions/<name>/handler.ts).
 * No S3 client here: the functions that sign links only on some requests parse this at cold start and load the
 * client on first use (shared/runtime/storage.ts).
 *
 * Sizes are bytes. S3's own limits (S3 user guide, "Amazon S3 multipart upload limits":
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html) live in {@link S3Limits}; every configurable
 * number is checked against them here, so a bad deployment fails at start-up instead of handing users URLs S3 will
 * refuse.
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors.js';
import { ConfigurationError, readDuration, readFlag, readHttpUrl, readInteger, readList, readString, requireString, type Env } from '../config/reader.js';

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
export function storageConfigFromEnv(env: Env): StorageConfig {
  const bucket = requireString(env, 'UPLOAD_BUCKET');

  const rawPrefix = env.UPLOAD_PREFIX ?? 'uploads/';
  const prefix = rawPrefix === '' || rawPrefix.endsWith('/') ? rawPrefix : `${rawPrefix}/`;
  if (prefix.startsWith('/')) {
    throw new ConfigurationError(`UPLOAD_PREFIX must not start with "/", got "${rawPrefix}"`, { variable: 'UPLOAD_PREFIX', accepted: 'a key prefix not starting with "/"' });
  }

  const endpoint = readHttpUrl(env, 'S3_ENDPOINT');
  const forcePathStyle = readFlag(env, 'S3_FORCE_PATH_STYLE') ?? endpoint !== undefined;

  const allowedRaw = readList(env, 'ALLOWED_CONTENT_TYPES');
  const allowedContentTypes = allowedRaw === undefined ? defaultAllowedContentTypes : allowedRaw.map(normaliseContentType).filter((type) => type !== '');
  const notVideo = allowedContentTypes.filter((type) => !/^video\/[a-z0-9.+-]+$/.test(type));
  if (allowedContentTypes.length === 0 || notVideo.length > 0) {
    throw new ConfigurationError(`ALLOWED_CONTENT_TYPES must list video/* types, got "${env.ALLOWED_CONTENT_TYPES ?? ''}"`, {
      variable: 'ALLOWED_CONTENT_TYPES',
      accepted: 'comma-separated video/* content types',
    });
  }

  return {
    bucket,
    prefix,
    region: readString(env, 'AWS_REGION') ?? 'us-east-1',
    ...(endpoint === undefined ? {} : { endpoint }),
    forcePathStyle,
    maxUploadBytes: readInteger(env, 'MAX_UPLOAD_BYTES', { min: 1, max: S3Limits.maxObjectBytes }) ?? 50 * GiB,
    multipartThresholdBytes:
      readInteger(env, 'MULTIPART_THRESHOLD_BYTES', { min: S3Limits.minPartBytes, max: S3Limits.singlePutMaxBytes }) ?? 100 * MiB,
    uploadUrlTtlSeconds: readDuration(env, 'UPLOAD_URL_TTL_SECONDS', 'seconds', { min: 60, max: S3Limits.maxPresignSeconds }) ?? 3600,
    allowedContentTypes,
  };
}

/** Keys for a local S3 (it accepts only the keys it was started with). */
export interface LocalS3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * The S3 client settings for this configuration. Request checksums are computed only when an operation requires
 * them: with the SDK default (`WHEN_SUPPORTED`) a presigned PutObject/UploadPart URL carries the CRC32 of an empty
 * body, and S3 rejects any real upload to it. `credentials` only for the local S3; in AWS the role's are used.
 */
export function s3ClientSettings(
  config: Pick<StorageConfig, 'region' | 'endpoint' | 'forcePathStyle'>,
  credentials?: LocalS3Credentials,
): S3ClientConfig {
  return {
    region: config.region,
    ...(credentials === undefined ? {} : { credentials }),
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    forcePathStyle: config.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/**
 * Explicit keys only for a local S3 (S3_ENDPOINT set). In AWS the same variables hold the role's temporary keys *and*
 * a session token, which the SDK's default chain picks up together; passing the two keys alone would sign with an
 * incomplete credential, so there this answers undefined.
 */
export function localS3CredentialsFromEnv(env: Env, config: Pick<StorageConfig, 'endpoint'>): LocalS3Credentials | undefined {
  if (config.endpoint === undefined) return undefined;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new ConfigurationError('S3_ENDPOINT is set (a local S3): AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set to its keys', {
      variable: accessKeyId ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID',
      accepted: "the local S3's keys",
    });
  }
  return { accessKeyId, secretAccessKey };
}

/** The role's temporary credentials, as Lambda puts them in the environment. */
export interface RoleCredentials extends LocalS3Credentials {
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/**
 * The credentials URLs are signed with when no client is built: what the SDK's default chain would find first. In a
 * Lambda that is the role's temporary keys in the environment (the chain's env provider: the two keys, the session
 * token and, when set, AWS_CREDENTIAL_EXPIRATION; skipped when AWS_PROFILE names a profile). Undefined elsewhere:
 * then the client's own chain is asked.
 */
export function roleCredentialsFromEnv(env: Env): RoleCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey || env.AWS_PROFILE) return undefined;
  const expiration = env.AWS_CREDENTIAL_EXPIRATION ? new Date(env.AWS_CREDENTIAL_EXPIRATION) : undefined;
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(expiration === undefined || Number.isNaN(expiration.getTime()) ? {} : { expiration }),
  };
}

/** The settings of an AWS service client (EventBridge, SQS): the region and, with a local endpoint, the keys that sign. */
export interface AwsServiceSettings {
  readonly region: string;
  /** The local emulator of `npm start` (unset in AWS: the SDK's own endpoint). */
  readonly endpoint?: string;
  /** With a local endpoint: the keys the local stack gives its functions (any keys sign; the SDK needs some). */
  readonly credentials?: RoleCredentials;
}

/** The client configuration of an AWS SDK client for these settings, with `maxAttempts` tries per call. */
export function awsClientConfig(settings: AwsServiceSettings, maxAttempts: number): AwsServiceSettings & { readonly maxAttempts: number } {
  return {
    region: settings.region,
    maxAttempts,
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
  };
}

/** AWS_REGION, and the endpoint `endpointVariable` names with the keys for it (a local emulator). */
export function awsServiceSettingsFromEnv(env: Env, endpointVariable: string): AwsServiceSettings {
  const endpoint = readHttpUrl(env, endpointVariable);
  const credentials = endpoint === undefined ? undefined : roleCredentialsFromEnv(env);
  return {
    region: readString(env, 'AWS_REGION') ?? 'us-east-1',
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(credentials === undefined ? {} : { credentials }),
  };
}

/**
 * What a function's edge parses for storage: the settings, the keys of a local S3 (none in AWS), and in AWS the
 * role's credentials that presigned URLs are signed with.
 */
export interface StorageSettings {
  readonly config: StorageConfig;
  readonly credentials?: LocalS3Credentials;
  readonly roleCredentials?: RoleCredentials;
}

/** UPLOAD_BUCKET and the other storage variables, with the local S3's keys when S3_ENDPOINT is set. */
export function storageSettingsFromEnv(env: Env): StorageSettings {
  const config = storageConfigFromEnv(env);
  const credentials = localS3CredentialsFromEnv(env, config);
  const roleCredentials = credentials === undefined ? roleCredentialsFromEnv(env) : undefined;
  return {
    config,
    ...(credentials === undefined ? {} : { credentials }),
    ...(roleCredentials === undefined ? {} : { roleCredentials }),
  };
}

/**
 * For functions that touch the bucket only on some requests (links to stored captions, caption tracks): the
 * settings when UPLOAD_BUCKET is set (checked now, like every variable), undefined when it is not.
 */
export function optionalStorageSettingsFromEnv(env: Env): StorageSettings | undefined {
  return readString(env, 'UPLOAD_BUCKET') === undefined ? undefined : storageSettingsFromEnv(env);
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
