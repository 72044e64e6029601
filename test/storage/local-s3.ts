/** Starts the local S3 (s3rver + front) in a fresh temporary folder for one suite. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalS3 } from '../../local/s3/server.js';
import type { LocalS3, LocalS3Options } from '../../local/s3/server.js';

export interface TestS3 extends LocalS3 {
  readonly directory: string;
  dispose(): Promise<void>;
}

export async function startTestS3(options: Partial<LocalS3Options> = {}): Promise<TestS3> {
  const directory = await mkdtemp(path.join(tmpdir(), 'reelay-s3-'));
  const s3 = await startLocalS3({ directory, bucket: 'reelay-test', ...options });
  return Object.assign(s3, {
    directory,
    async dispose() {
      await s3.close();
      await rm(directory, { recursive: true, force: true });
    },
  });
}

/** Deterministic bytes, so a corrupted or reordered part shows up as different content. */
export function patternBytes(size: number, seed = 7): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let index = 0; index < size; index += 1) bytes[index] = (index * 31 + seed + (index >> 10)) & 0xff;
  return bytes;
}
