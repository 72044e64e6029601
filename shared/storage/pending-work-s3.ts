/**
 * The S3 calls of the "work pending" markers (shared/storage/pending-work.ts), in a module of their own imported on
 * first use, with named imports: a bundle keeps only these commands of the SDK.
 */
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { s3ClientSettings } from './config.js';
import type { PendingWorkSettings } from './pending-work.js';

export function createMarkerClient(settings: PendingWorkSettings): S3Client {
  return new S3Client(s3ClientSettings(settings, settings.credentials));
}

/** Keys are unique: the write-once condition costs nothing and keeps the bucket's rule that reelay never overwrites. */
export async function putOnce(client: S3Client, bucket: string, key: string, body: string): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json', IfNoneMatch: '*' }));
}

/** The first page (up to 1000 keys) under `prefix`, in key order. */
export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key]));
}

/** Deletes the keys, 1000 per request; returns the error codes of the ones S3 could not delete. */
export async function deleteKeys(client: S3Client, bucket: string, keys: readonly string[]): Promise<string[]> {
  const errors: string[] = [];
  for (let start = 0; start < keys.length; start += 1000) {
    const batch = keys.slice(start, start + 1000);
    const result = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    for (const error of result.Errors ?? []) errors.push(error.Code ?? 'unknown');
  }
  return errors;
}
