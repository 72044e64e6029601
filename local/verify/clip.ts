/** The file `npm run verify` uploads: the operator's `--clip`, or a built-in MP4 head the Mux emulator accepts. */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { fastStartMp4 } from '../mux-emulator/media.js';
import { UsageError } from './args.js';

export interface Clip {
  readonly filename: string;
  readonly contentType: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

const contentTypes: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.ts': 'video/mp2t',
};

/**
 * The built-in clip is only an MP4 header (2 s, 640×360) padded to 16 KiB: enough for the emulator, which reads the
 * header and does not transcode, but real Mux marks it errored. Against a deployed stack pass a real short clip.
 */
export async function loadClip(path: string | null): Promise<Clip> {
  if (path === null) return { filename: 'reelay-verify.mp4', contentType: 'video/mp4', bytes: new Uint8Array(fastStartMp4(2_000, 640, 360, 16 * 1024)) };
  const contentType = contentTypes[extname(path).toLowerCase()];
  if (contentType === undefined) throw new UsageError(`--clip ${path}: name a video file ending in ${Object.keys(contentTypes).join(', ')}`);
  const bytes = await readFile(path).catch((error: unknown) => {
    throw new UsageError(`--clip ${path}: ${(error as Error).message}`);
  });
  return { filename: basename(path), contentType, bytes: new Uint8Array(bytes) };
}
