/**
 * Read access to s3rver's on-disk multipart state (s3rver 3.7, lib/stores/filesystem.js), which s3rver itself never
 * exposes: `<directory>/<bucket>/._S3rver_uploads/<uploadId>/` holds `key`, `metadata`, and per part `<n>` (the
 * bytes) and `<n>.md5` (hex, written once the part is fully stored). Used to answer ListParts and Abort, and to
 * check CompleteMultipartUpload the way S3 does.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';

export interface StoredPart {
  readonly partNumber: number;
  /** Quoted, as S3 returns ETags. */
  readonly etag: string;
  readonly size: number;
  readonly lastModified: Date;
}

export interface StoredUpload {
  readonly key: string;
  readonly parts: StoredPart[];
}

function uploadDirectory(directory: string, bucket: string, uploadId: string): string | undefined {
  // s3rver makes 32-hex ids; anything else could walk out of the uploads folder.
  if (!/^[0-9a-f]{32}$/.test(uploadId)) return undefined;
  return path.join(directory, bucket, '._S3rver_uploads', uploadId);
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** The upload's folder when `uploadId` is an open upload for `key` (S3 ties an upload id to its key). */
async function openUploadFolder(directory: string, bucket: string, key: string, uploadId: string): Promise<string | undefined> {
  const folder = uploadDirectory(directory, bucket, uploadId);
  if (folder === undefined) return undefined;
  try {
    return (await readFile(path.join(folder, 'key'), 'utf8')) === key ? folder : undefined;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Cheap existence check (one small read), for every UploadPart. */
export async function uploadExists(directory: string, bucket: string, key: string, uploadId: string): Promise<boolean> {
  return (await openUploadFolder(directory, bucket, key, uploadId)) !== undefined;
}

/** The upload and its fully stored parts (ascending), or undefined when no such upload exists for this key. */
export async function readUpload(directory: string, bucket: string, key: string, uploadId: string): Promise<StoredUpload | undefined> {
  const folder = await openUploadFolder(directory, bucket, key, uploadId);
  if (folder === undefined) return undefined;

  const names = await readdir(folder);
  const parts: StoredPart[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name) || !names.includes(`${name}.md5`)) continue;
    try {
      const [info, md5] = await Promise.all([stat(path.join(folder, name)), readFile(path.join(folder, `${name}.md5`), 'utf8')]);
      parts.push({ partNumber: Number(name), etag: `"${md5.trim()}"`, size: info.size, lastModified: info.mtime });
    } catch (error) {
      // Completed or aborted while we read: the part is gone, as in S3.
      if (!isMissing(error)) throw error;
    }
  }
  parts.sort((a, b) => a.partNumber - b.partNumber);
  return { key, parts };
}

/** Deletes the upload and its parts. False when there was no such upload for this key. */
export async function abortUpload(directory: string, bucket: string, key: string, uploadId: string): Promise<boolean> {
  const folder = await openUploadFolder(directory, bucket, key, uploadId);
  if (folder === undefined) return false;
  await rm(folder, { recursive: true, force: true });
  return true;
}
