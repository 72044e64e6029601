import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VideoDB } from '../../shared/db/video-db.js';
import type { VideoStatus } from '../../shared/db/video-fields.js';
import { ConflictError, NotFoundError } from '../../shared/errors.js';
import { latestVersion } from '../../shared/migrations/index.js';
import { GiB, MiB, storageConfigFromEnv } from '../../shared/storage/config.js';
import { UploadStorage } from '../../shared/storage/uploads.js';
import { ingestOptions, ingestOptionsFromMetadata, ingestOptionsMetadataName, ingestOptionsToMetadata } from '../../shared/videos/ingest-options.js';
import { UploadService } from '../../shared/videos/upload-service.js';
import { patternBytes, startTestS3, type TestS3 } from '../storage/local-s3.js';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';

const alice = { sub: 'alice', admin: false };

describe('ingest options in S3 metadata', () => {
  it('round-trip through the metadata S3 returns, with unset options false', () => {
    const options = ingestOptions({ captions: true });
    expect(options).toEqual({ captions: true, normalizeAudio: false, mp4: false });
    const metadata = ingestOptionsToMetadata(options);
    expect(Object.keys(metadata)).toEqual([ingestOptionsMetadataName]);
    expect(ingestOptionsFromMetadata(metadata)).toEqual(options);
  });

  it('read as undefined when absent or unreadable, and ignore fields of the wrong type', () => {
    expect(ingestOptionsFromMetadata(undefined)).toBeUndefined();
    expect(ingestOptionsFromMetadata({ other: 'x' })).toBeUndefined();
    expect(ingestOptionsFromMetadata({ [ingestOptionsMetadataName]: '{not json' })).toBeUndefined();
    expect(ingestOptionsFromMetadata({ [ingestOptionsMetadataName]: '[true]' })).toBeUndefined();
    expect(ingestOptionsFromMetadata({ [ingestOptionsMetadataName]: '{"mp4":"yes","captions":true}' }))
      .toEqual({ captions: true, normalizeAudio: false, mp4: false });
  });
});

/** VideoDB whose next `awaiting_upload → uploaded` transition is overtaken by another writer moving the row first. */
class OvertakenVideoDB extends VideoDB {
  overtakeWith: VideoStatus | undefined;

  override async transition(...[id, change]: Parameters<VideoDB['transition']>): ReturnType<VideoDB['transition']> {
    const competitor = this.overtakeWith;
    if (competitor !== undefined && change.to === 'uploaded') {
      this.overtakeWith = undefined;
      await super.transition(id, { from: ['awaiting_upload'], to: competitor });
    }
    return super.transition(id, change);
  }
}

describe.each(backends)('UploadService on %s', (backend) => {
  let s3: TestS3;
  let db: TestDatabase;
  let videos: OvertakenVideoDB;
  let storage: UploadStorage;
  let service: UploadService;
  const config = storageConfigFromEnv({ UPLOAD_BUCKET: 'reelay-test', MULTIPART_THRESHOLD_BYTES: String(5 * MiB), MAX_UPLOAD_BYTES: String(10 * GiB) });

  beforeAll(async () => {
    s3 = await startTestS3();
    storage = new UploadStorage({ client: s3.client, bucket: s3.bucket, prefix: 'uploads/', urlTtlSeconds: 600 });
  });
  afterAll(async () => {
    await s3?.dispose();
  });
  beforeEach(async () => {
    db = await openTestDatabase(backend, { migratedTo: latestVersion });
    videos = new OvertakenVideoDB({ executor: db.driver });
    service = new UploadService({ videos, storage, config });
  });
  afterEach(async () => {
    await db?.dispose();
  });

  /** A one-part multipart upload (6 MiB over the 5 MiB threshold), uploaded but not completed. */
  async function uploadedMultipart(): Promise<{ id: string; parts: { partNumber: number; etag: string }[] }> {
    const created = await service.createUpload(alice, { title: 't', filename: 'a.mp4', contentType: 'video/mp4', size: 6 * MiB });
    if (created.upload.mode !== 'multipart') throw new Error('expected a multipart upload');
    const [part] = created.upload.parts;
    const response = await fetch(part?.url ?? '', { method: 'PUT', body: new Uint8Array(patternBytes(6 * MiB)) });
    expect(response.status).toBe(200);
    return { id: created.video.id, parts: [{ partNumber: 1, etag: response.headers.get('etag') ?? '' }] };
  }

  it('plans one PUT up to the threshold and multipart above it, signing the first 100 parts up front', async () => {
    const atThreshold = await service.createUpload(alice, { title: 't', filename: 'a.mp4', contentType: 'video/mp4', size: 5 * MiB });
    expect(atThreshold.upload.mode).toBe('single');
    const signed = new URL(atThreshold.upload.mode === 'single' ? atThreshold.upload.url : '').searchParams;
    expect(signed.get('X-Amz-SignedHeaders')).toBe(`content-length;content-type;host;if-none-match;x-amz-meta-${ingestOptionsMetadataName}`);
    expect([...signed.keys()].filter((name) => name.toLowerCase().startsWith('x-amz-meta-'))).toEqual([]);

    const large = await service.createUpload(alice, { title: 't', filename: 'a.mp4', contentType: 'video/mp4', size: 2 * GiB });
    expect(large.upload).toMatchObject({ mode: 'multipart', partSize: 8 * MiB, partCount: 256 });
    if (large.upload.mode !== 'multipart') throw new Error('expected a multipart upload');
    expect(large.upload.parts.map((part) => part.partNumber)).toEqual(Array.from({ length: 100 }, (_, index) => index + 1));
    const rest = await service.signParts(alice, large.video.id, Array.from({ length: 156 }, (_, index) => index + 101));
    expect(rest.parts.at(-1)).toMatchObject({ partNumber: 256, size: 8 * MiB });
  });

  it('uses the injected id for the row and the key, and stores the options in the row too', async () => {
    const fixed = new UploadService({ videos, storage, config, newId: () => '0f0f0f0f-0000-4000-8000-000000000001' });
    const created = await fixed.createUpload(alice, {
      title: 't', filename: 'Clip.MOV', contentType: 'video/quicktime', size: 10, options: { mp4: true },
    });
    expect(created.video.id).toBe('0f0f0f0f-0000-4000-8000-000000000001');
    const row = await videos.findById(created.video.id);
    expect(row).toMatchObject({ s3Key: 'uploads/0f0f0f0f-0000-4000-8000-000000000001/source.mov', s3UploadId: null, ownerId: 'alice' });
    expect(row?.mux.options).toEqual({ captions: false, normalizeAudio: false, mp4: true });
  });

  it('completes even when ingest moved the video on first (the object-created event won the race)', async () => {
    const { id, parts } = await uploadedMultipart();
    videos.overtakeWith = 'processing';
    const video = await service.complete(alice, id, parts);
    expect(video.status).toBe('processing');
    await expect(service.complete(alice, id, parts)).rejects.toBeInstanceOf(ConflictError);
  });

  it('refuses to report a completion that a concurrent abort overtook', async () => {
    const { id, parts } = await uploadedMultipart();
    videos.overtakeWith = 'cancelled';
    await expect(service.complete(alice, id, parts)).rejects.toBeInstanceOf(ConflictError);
    expect((await videos.findById(id))?.status).toBe('cancelled');
  });

  it('will not cancel a video whose multipart upload S3 already completed, even though the row lags behind', async () => {
    const { id, parts } = await uploadedMultipart();
    const row = await videos.findById(id);
    await storage.completeMultipart({ key: row?.s3Key ?? '', uploadId: row?.s3UploadId ?? '', parts });
    await expect(service.abort(alice, id)).rejects.toBeInstanceOf(ConflictError);
    expect((await videos.findById(id))?.status).toBe('awaiting_upload');
  });

  it('hides other owners’ videos from every operation', async () => {
    const { id, parts } = await uploadedMultipart();
    const bob = { sub: 'bob', admin: false };
    await expect(service.signParts(bob, id, [1])).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.listParts(bob, id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.complete(bob, id, parts)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.abort(bob, id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await service.listParts({ sub: 'root', admin: true }, id)).parts).toHaveLength(1);
  });
});
