/**
 * Upload storage as a function uses it: the settings its edge parsed at cold start (shared/storage/config.ts). URLs
 * are signed from the settings and credentials here; the S3 client (shared/storage/s3-client.ts) is imported and
 * built on the first S3 API call, so a cold start that only presigns never evaluates the SDK client.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Env } from '../config/reader.js';
import { storageSettingsFromEnv, type StorageConfig, type StorageSettings } from '../storage/config.js';
import { UploadStorage, type SigningTarget } from '../storage/uploads.js';
import { once } from './lazy.js';

export interface StorageServices {
  readonly config: StorageConfig;
  readonly storage: UploadStorage;
  /** The S3 client, built on first call (once per container). */
  readonly client: () => Promise<S3Client>;
}

export function storageServices(settings: StorageSettings): StorageServices {
  const { config, credentials, roleCredentials } = settings;
  const client = once(async () => (await import('../storage/s3-client.js')).createS3Client(config, credentials));
  const signingCredentials = credentials ?? roleCredentials;
  const signing: SigningTarget = {
    region: config.region,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    forcePathStyle: config.forcePathStyle,
    credentials: signingCredentials === undefined ? async () => (await client()).config.credentials() : async () => signingCredentials,
  };
  return { config, client, storage: UploadStorage.fromConfig(client, config, signing) };
}

/** {@link storageServices} straight from an environment (tests and tools; functions parse once at their edge). */
export function storageFromEnv(env: Env): StorageServices {
  return storageServices(storageSettingsFromEnv(env));
}
