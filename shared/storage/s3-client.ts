/**
 * The S3 client of a function, in a module of its own so that it is loaded with `import()` on the first S3 API call:
 * a cold start that only presigns URLs never evaluates the SDK client.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { s3ClientSettings, type LocalS3Credentials, type StorageConfig } from './config.js';

export function createS3Client(
  config: Pick<StorageConfig, 'region' | 'endpoint' | 'forcePathStyle'>,
  credentials?: LocalS3Credentials,
): S3Client {
  return new S3Client(s3ClientSettings(config, credentials));
}
