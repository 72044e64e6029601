/** Upload storage as a function uses it, built from the environment (the role's credentials in AWS, the local S3 locally). */
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client, storageConfigFromEnv, StorageConfigError, type StorageConfig } from '../storage/config.js';
import { UploadStorage } from '../storage/uploads.js';
import type { Env } from './lazy.js';

export interface StorageServices {
  readonly config: StorageConfig;
  readonly storage: UploadStorage;
  readonly client: S3Client;
}

/**
 * Explicit keys only for a local S3 (S3_ENDPOINT set): it accepts only the keys it was started with. In AWS the
 * same variables hold the role's temporary keys *and* a session token, which the SDK's default chain picks up
 * together; passing the two keys alone would sign with an incomplete credential.
 */
function localCredentials(env: Env, config: StorageConfig): { accessKeyId: string; secretAccessKey: string } | undefined {
  if (config.endpoint === undefined) return undefined;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new StorageConfigError('S3_ENDPOINT is set (a local S3): AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set to its keys');
  }
  return { accessKeyId, secretAccessKey };
}

export function storageFromEnv(env: Env): StorageServices {
  const config = storageConfigFromEnv(env);
  const client = createS3Client(config, localCredentials(env, config));
  return { config, client, storage: UploadStorage.fromConfig(client, config) };
}
