/**
 * Upload storage as a function uses it, built from the environment (the role's credentials in AWS, the local S3
 * locally). URLs are signed from the settings and credentials here; the S3 client is built on the first S3 API call.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentity } from '@smithy/types';
import { storageConfigFromEnv, StorageConfigError, type StorageConfig } from '../storage/config.js';
import { UploadStorage, type SigningTarget } from '../storage/uploads.js';
import { once, type Env } from './lazy.js';

export interface StorageServices {
  readonly config: StorageConfig;
  readonly storage: UploadStorage;
  /** The S3 client, built on first call (once per container). */
  readonly client: () => Promise<S3Client>;
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

/**
 * The credentials URLs are signed with: what the SDK's default chain would find first. In a Lambda that is the
 * role's temporary keys in the environment (the chain's env provider: the two keys, the session token and, when set,
 * AWS_CREDENTIAL_EXPIRATION; skipped when AWS_PROFILE names a profile). Anywhere else the client's own chain is asked.
 */
function signingCredentials(env: Env, client: () => Promise<S3Client>): () => Promise<AwsCredentialIdentity> {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey || env.AWS_PROFILE) return async () => (await client()).config.credentials();
  const expiration = env.AWS_CREDENTIAL_EXPIRATION ? new Date(env.AWS_CREDENTIAL_EXPIRATION) : undefined;
  const credentials: AwsCredentialIdentity = {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(expiration === undefined || Number.isNaN(expiration.getTime()) ? {} : { expiration }),
  };
  return async () => credentials;
}

export function storageFromEnv(env: Env): StorageServices {
  const config = storageConfigFromEnv(env);
  const explicit = localCredentials(env, config);
  const client = once(async () => (await import('../storage/s3-client.js')).createLazyS3Client(config, explicit));
  const signing: SigningTarget = {
    region: config.region,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    forcePathStyle: config.forcePathStyle,
    credentials: explicit === undefined ? signingCredentials(env, client) : async () => explicit,
  };
  return { config, client, storage: UploadStorage.fromConfig(client, config, signing) };
}
