/** A new video row as the data-layer tests create it (alice's, awaiting its upload, Mux status pending). */
import { randomUUID } from 'node:crypto';
import type { NewVideo } from '../../shared/db/video-db.js';

export function newVideo(overrides: Partial<NewVideo> = {}): NewVideo {
  const id = randomUUID();
  return {
    id,
    ownerId: 'alice',
    title: 'Launch demo',
    description: null,
    originalFilename: 'demo.mp4',
    contentType: 'video/mp4',
    sizeBytes: 1024,
    s3Key: `uploads/${id}/source.mp4`,
    status: 'awaiting_upload',
    mux: { status: 'pending' },
    ...overrides,
  };
}
