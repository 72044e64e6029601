/**
 * Upload storage as a function uses it: the settings its edge parsed at cold start (shared/storage/config.ts), and
 * the S3 client built from them. This is the module that loads the S3 SDK, so functions that need S3 only on some
 * requests import it dynamically.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { Env } from '../config/reader.js';
import { storageSettingsFromEnv, type LocalS3Credentials, type StorageConfig, type StorageSettings } from '../storage/config.js';
import { UploadStorage } from '../storage/uploads.js';

export interface StorageServices {
  readonly config: StorageConfig;
  readonly storage: UploadStorage;
  readonly client: S3Client;
}

/**
 * The S3 client for this configuration. Request checksums are computed only when an operation requires them:
 * with the SDK default (`WHEN_SUPPORTED`) a presigned PutObject/UploadPart URL carries the CRC32 of an empty body,
 * and S3 rejects any real upload to it. `credentials` only for the local S3; in AWS the role's are used.
 */
export function createS3Client(
  config: Pick<StorageConfig, 'region' | 'endpoint' | 'forcePathStyle'>,
  credentials?: LocalS3Credentials,
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

export function storageServices(settings: StorageSettings): StorageServices {
  const client = createS3Client(settings.config, settings.credentials);
  return { config: settings.config, client, storage: UploadStorage.fromConfig(client, settings.config) };
}

/** {@link storageServices} straight from an environment (tests and tools; functions parse once at their edge). */
export function storageFromEnv(env: Env): StorageServices {
  return storageServices(storageSettingsFromEnv(env));
}
