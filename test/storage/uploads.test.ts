import { createHash } from 'node:crypto';
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.js';
import { MiB } from '../../shared/storage/config.js';
import { createS3Client } from '../../shared/storage/s3-client.js';
import { UploadStorage, isSealMarker, planMultipart } from '../../shared/storage/uploads.js';
import { NodeSha256, verifyPresignedRequest } from '../../local/s3/presigned-auth.js';
import { patternBytes, startTestS3 } from './local-s3.js';
import type { TestS3 } from './local-s3.js';

let s3: TestS3;
let storage: UploadStorage;

beforeAll(async () => {
  s3 = await startTestS3();
  storage = new UploadStorage({ client: s3.client, bucket: s3.bucket, prefix: 'uploads/', urlTtlSeconds: 900 });
});

afterAll(async () => {
  await s3?.dispose();
});

const md5 = (bytes: Uint8Array): string => createHash('md5').update(bytes).digest('hex');
let videoCounter = 0;
const nextKey = (extension = 'mp4'): string => {
  videoCounter += 1;
  return storage.objectKeyFor(`00000000-0000-4000-8000-${String(videoCounter).padStart(12, '0')}`, `clip.${extension}`);
};

describe('object keys', () => {
  it('are generated from the video id; the filename contributes only a sanitised extension', () => {
    const id = '3f1c2a9e-5b7d-4c1e-9a0b-1234567890ab';
    expect(storage.objectKeyFor(id, 'My Holiday.MOV')).toBe(`uploads/${id}/source.mov`);
    expect(storage.objectKeyFor(id, '../../etc/passwd')).toBe(`uploads/${id}/source`);
    expect(storage.objectKeyFor(id, 'clip.mp4; rm -rf')).toBe(`uploads/${id}/source`);
    expect(storage.objectKeyFor(id, 'no-extension')).toBe(`uploads/${id}/source`);
    expect(() => storage.objectKeyFor('../x', 'a.mp4')).toThrow(ValidationError);
  });

  it('give back their video id, and only for keys they could have made', () => {
    const id = '3f1c2a9e-5b7d-4c1e-9a0b-1234567890ab';
    expect(storage.videoIdFromKey(storage.objectKeyFor(id, 'a.webm'))).toBe(id);
    expect(storage.videoIdFromKey(`captions/${id}/source.mp4`)).toBeUndefined();
    expect(storage.videoIdFromKey(`uploads/${id}/other.mp4`)).toBeUndefined();
  });

  it('put captions inside the upload prefix, under keys ingest does not take for a source', () => {
    const id = '3f1c2a9e-5b7d-4c1e-9a0b-1234567890ab';
    const key = storage.captionsKeyFor(id, 'en-US');
    expect(key).toBe(`uploads/${id}/captions/en-US.srt`);
    expect(storage.videoIdFromKey(key)).toBeUndefined();
    expect(() => storage.captionsKeyFor(id, '../x')).toThrow(ValidationError);
  });
});

describe('single presigned PUT', () => {
  it('uploads with fetch, exactly as a browser would, and the object has the signed type and size', async () => {
    const key = nextKey();
    const body = patternBytes(4096);
    const upload = await storage.presignSinglePut({ key, contentType: 'video/mp4', size: body.length });
    expect(upload).toMatchObject({ mode: 'single', method: 'PUT', headers: { 'content-type': 'video/mp4', 'content-length': '4096', 'if-none-match': '*' } });
    const response = await fetch(upload.url, { method: upload.method, headers: { 'content-type': upload.headers['content-type'], 'if-none-match': '*' }, body });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe(`"${md5(body)}"`);
    expect(await storage.headObject(key)).toMatchObject({ key, size: 4096, contentType: 'video/mp4', eTag: `"${md5(body)}"` });
    // Found by listing too (reconcile's look-up): the key itself, not a key it is the start of.
    expect(await storage.findObject(key)).toEqual({ key, size: 4096 });
    expect(await storage.findObject(key.slice(0, -1))).toBeNull();
    expect(await storage.findObject(`${key}.missing`)).toBeNull();
  });

  it('signs content-type, content-length and If-None-Match, and carries no SDK checksum that would pin an empty body', async () => {
    const upload = await storage.presignSinglePut({ key: nextKey(), contentType: 'video/webm', size: 10 });
    const query = new URL(upload.url).searchParams;
    expect(query.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host;if-none-match');
    expect([...query.keys()].filter((name) => /checksum/i.test(name))).toEqual([]);
    expect(query.get('X-Amz-Expires')).toBe('900');
  });

  it('has the signature an independent SigV4 computation gives for that method, path, headers and time', async () => {
    const signingDate = new Date('2025-03-04T05:06:07Z');
    const fixedClock = new UploadStorage({ client: s3.client, bucket: s3.bucket, prefix: 'uploads/', urlTtlSeconds: 600, now: () => signingDate });
    const key = 'uploads/11111111-2222-4333-8444-555555555555/source.mp4';
    const upload = await fixedClock.presignSinglePut({ key, contentType: 'video/mp4', size: 1234 });
    const url = new URL(upload.url);
    const signer = new SignatureV4({ credentials: s3.credentials, region: s3.region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
    const expected = await signer.presign(
      {
        method: 'PUT',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: `/${s3.bucket}/${key}`,
        query: { 'x-id': 'PutObject' },
        headers: { host: url.host, 'content-type': 'video/mp4', 'content-length': '1234', 'if-none-match': '*', 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
      },
      { signingDate, expiresIn: 600, signableHeaders: new Set(['content-type', 'content-length', 'if-none-match']) },
    );
    expect(url.searchParams.get('X-Amz-Signature')).toBe(expected.query?.['X-Amz-Signature']);
    expect(upload.expiresAt).toBe('2025-03-04T05:16:07.000Z');
  });

  it('does not verify for another content-length or content-type than was signed', async () => {
    const upload = await storage.presignSinglePut({ key: nextKey(), contentType: 'video/mp4', size: 100 });
    const url = new URL(upload.url);
    const check = (headers: Record<string, string>) => verifyPresignedRequest({ method: 'PUT', url, headers: { host: url.host, ...headers } }, s3.credentials);
    const signed = { 'content-type': 'video/mp4', 'content-length': '100', 'if-none-match': '*' };
    expect(await check(signed)).toEqual({ ok: true });
    expect(await check({ ...signed, 'content-length': '101' })).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(await check({ ...signed, 'content-type': 'text/html' })).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(await check({ 'content-length': '100', 'if-none-match': '*' })).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    // The write-once condition cannot be dropped or changed either.
    expect(await check({ 'content-type': 'video/mp4', 'content-length': '100' })).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(await check({ ...signed, 'if-none-match': '"abc"' })).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
  });

  it('is refused by the local S3 when the body size or type differs, and nothing is stored', async () => {
    const key = nextKey();
    const upload = await storage.presignSinglePut({ key, contentType: 'video/mp4', size: 100 });
    const bigger = await fetch(upload.url, { method: 'PUT', headers: { 'content-type': 'video/mp4' }, body: patternBytes(5000) });
    expect(bigger.status).toBe(403);
    expect(await bigger.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    const html = await fetch(upload.url, { method: 'PUT', headers: { 'content-type': 'text/html' }, body: patternBytes(100) });
    expect(html.status).toBe(403);
    expect(await storage.headObject(key)).toBeNull();
  });

  it('is refused by the local S3 when signed with keys it does not know', async () => {
    const stranger = createS3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: true }, { accessKeyId: 'AKIASTRANGER', secretAccessKey: 'nope' });
    const foreign = new UploadStorage({ client: stranger, bucket: s3.bucket, prefix: 'uploads/', urlTtlSeconds: 60 });
    const upload = await foreign.presignSinglePut({ key: nextKey(), contentType: 'video/mp4', size: 3 });
    const response = await fetch(upload.url, { method: 'PUT', headers: { 'content-type': 'video/mp4' }, body: 'abc' });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('<Code>InvalidAccessKeyId</Code>');
    stranger.destroy();
  });

  it('stops working once expired', async () => {
    const longAgo = new UploadStorage({ client: s3.client, bucket: s3.bucket, prefix: 'uploads/', urlTtlSeconds: 60, now: () => new Date(Date.now() - 3_600_000) });
    const key = nextKey();
    const upload = await longAgo.presignSinglePut({ key, contentType: 'video/mp4', size: 3 });
    const response = await fetch(upload.url, { method: 'PUT', headers: { 'content-type': 'video/mp4' }, body: 'abc' });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('Request has expired');
  });
});

describe('multipart upload', () => {
  const contentType = 'video/quicktime';

  async function putParts(urls: ReadonlyArray<{ partNumber: number; url: string; size: number }>, bytes: Uint8Array, partSize: number) {
    return Promise.all(urls.map(async (part) => {
      const start = (part.partNumber - 1) * partSize;
      const response = await fetch(part.url, { method: 'PUT', body: bytes.subarray(start, start + part.size) });
      expect(response.status).toBe(200);
      return { partNumber: part.partNumber, etag: response.headers.get('etag') ?? '' };
    }));
  }

  it('start → sign → upload with fetch → list → complete assembles the object in order', async () => {
    const key = nextKey('mov');
    const size = 2 * 8 * MiB + 12_345;
    const bytes = patternBytes(size, 3);
    const plan = planMultipart(size);
    expect(plan).toMatchObject({ partSize: 8 * MiB, partCount: 3 });

    const uploadId = await storage.startMultipart({ key, contentType });
    const first = await storage.signParts({ key, uploadId, size, partNumbers: [1, 2] });
    expect(first.parts.map((part) => part.size)).toEqual([8 * MiB, 8 * MiB]);
    const etags = await putParts(first.parts, bytes, plan.partSize);

    expect((await storage.listUploadedParts({ key, uploadId })).map((part) => [part.partNumber, part.size, part.etag])).toEqual(
      etags.map((part) => [part.partNumber, 8 * MiB, part.etag]),
    );

    const last = await storage.signParts({ key, uploadId, size, partNumbers: [3] });
    expect(last.parts[0]?.size).toBe(12_345);
    etags.push(...(await putParts(last.parts, bytes, plan.partSize)));

    // Completing with the parts out of order is fine: the storage layer sorts them.
    await storage.completeMultipart({ key, uploadId, parts: [...etags].reverse() });
    expect(await storage.headObject(key)).toMatchObject({ size, contentType });

    const get = await storage.presignGet({ key, ttlSeconds: 60 });
    const downloaded = new Uint8Array(await (await fetch(get.url)).arrayBuffer());
    expect(md5(downloaded)).toBe(md5(bytes));
  });

  it('refuses a part of another size than its URL signed', async () => {
    const key = nextKey();
    const size = 8 * MiB + 10;
    const uploadId = await storage.startMultipart({ key, contentType });
    const { parts } = await storage.signParts({ key, uploadId, size, partNumbers: [2] });
    const response = await fetch(parts[0]?.url ?? '', { method: 'PUT', body: patternBytes(11) });
    expect(response.status).toBe(403);
    expect(await storage.listUploadedParts({ key, uploadId })).toEqual([]);
  });

  it('validates part numbers before signing: range, duplicates, at most 1,000 per call', async () => {
    const base = { key: nextKey(), uploadId: 'u', size: 3 * 8 * MiB };
    await expect(storage.signParts({ ...base, partNumbers: [0] })).rejects.toThrow(ValidationError);
    await expect(storage.signParts({ ...base, partNumbers: [2, 4] })).rejects.toMatchObject({
      details: [{ path: ['partNumbers', 1], message: expect.stringContaining('from 1 to 3') }],
    });
    await expect(storage.signParts({ ...base, partNumbers: [1, 1] })).rejects.toThrow(ValidationError);
    await expect(storage.signParts({ ...base, partNumbers: [] })).rejects.toThrow(ValidationError);
    const many = Array.from({ length: 1_001 }, (_, index) => index + 1);
    await expect(storage.signParts({ ...base, size: 2_000 * 8 * MiB, partNumbers: many })).rejects.toThrow(ValidationError);
    expect((await storage.signParts({ ...base, size: 2_000 * 8 * MiB, partNumbers: many.slice(0, 1_000) })).parts).toHaveLength(1_000);
  });

  it('maps S3’s complete errors: wrong ETag, parts too small, unknown upload, completed twice', async () => {
    const key = nextKey();
    const uploadId = await storage.startMultipart({ key, contentType });
    const sdkPart = async (partNumber: number, bytes: number) => {
      const output = await s3.client.send(new UploadPartCommand({ Bucket: s3.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: patternBytes(bytes) }));
      return { partNumber, etag: output.ETag ?? '' };
    };
    const small = [await sdkPart(1, 1024), await sdkPart(2, 1024)];

    await expect(storage.completeMultipart({ key, uploadId, parts: [{ partNumber: 1, etag: '"0123456789abcdef0123456789abcdef"' }] })).rejects.toThrow(ValidationError);
    const tooSmall = storage.completeMultipart({ key, uploadId, parts: small });
    await expect(tooSmall).rejects.toThrow(ValidationError);
    await expect(tooSmall).rejects.toThrow(/at least 5242880 bytes/);
    await expect(storage.completeMultipart({ key, uploadId: 'ffffffffffffffffffffffffffffffff', parts: small })).rejects.toThrow(NotFoundError);
    await expect(storage.completeMultipart({ key, uploadId, parts: [{ partNumber: 1, etag: '' }] })).rejects.toThrow(ValidationError);

    // A single short part is a valid (last) part.
    await storage.completeMultipart({ key, uploadId, parts: small.slice(0, 1) });
    expect((await storage.headObject(key))?.size).toBe(1024);
    await expect(storage.completeMultipart({ key, uploadId, parts: small.slice(0, 1) })).rejects.toThrow(ConflictError);
  });

  it('abort frees the upload: listing and uploading fail, and a second abort reports it gone', async () => {
    const key = nextKey();
    const uploadId = await storage.startMultipart({ key, contentType });
    const { parts } = await storage.signParts({ key, uploadId, size: 8 * MiB + 1, partNumbers: [2] });
    expect((await fetch(parts[0]?.url ?? '', { method: 'PUT', body: patternBytes(1) })).status).toBe(200);
    expect(await storage.listUploadedParts({ key, uploadId })).toHaveLength(1);

    expect(await storage.abortMultipart({ key, uploadId })).toBe('aborted');
    await expect(storage.listUploadedParts({ key, uploadId })).rejects.toThrow(NotFoundError);
    expect((await fetch(parts[0]?.url ?? '', { method: 'PUT', body: patternBytes(1) })).status).toBe(404);
    expect(await storage.abortMultipart({ key, uploadId })).toBe('not_found');
    expect(await storage.headObject(key)).toBeNull();
  });

  it('lists parts across ListParts pages in part-number order', async () => {
    const paged = new UploadStorage({ client: s3.client, bucket: s3.bucket, prefix: 'uploads/', urlTtlSeconds: 900, listPartsPageSize: 2 });
    const key = nextKey();
    const { UploadId: uploadId = '' } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }));
    for (const partNumber of [5, 1, 3, 2, 4]) {
      await s3.client.send(new UploadPartCommand({ Bucket: s3.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: patternBytes(partNumber) }));
    }
    const parts = await paged.listUploadedParts({ key, uploadId });
    expect(parts.map((part) => [part.partNumber, part.size])).toEqual([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]);
  });
});

describe('server-side objects', () => {
  it('putObject writes captions; headObject reads them; a missing key heads as null', async () => {
    const key = storage.captionsKeyFor('abc', 'en');
    const srt = '1\n00:00:00,000 --> 00:00:01,000\nHéllo\n';
    await storage.putObject(key, srt, 'application/x-subrip');
    expect(await storage.headObject(key)).toMatchObject({ key, contentType: 'application/x-subrip', size: Buffer.byteLength(srt) });
    expect(await storage.headObject('captions/none')).toBeNull();
  });
});

describe('an upload writes its key once', () => {
  const download = async (key: string): Promise<string> => {
    const { url } = await storage.presignGet({ key, ttlSeconds: 60 });
    return md5(new Uint8Array(await (await fetch(url)).arrayBuffer()));
  };
  const putWith = (upload: { url: string; headers: Record<string, string> }, body: Uint8Array) => {
    const { 'content-length': _length, ...headers } = upload.headers;
    return fetch(upload.url, { method: 'PUT', headers, body });
  };

  it('a replayed single PUT after the upload finished is a 412, and the object keeps its bytes', async () => {
    const key = nextKey();
    const upload = await storage.presignSinglePut({ key, contentType: 'video/mp4', size: 4096 });
    const original = patternBytes(4096, 1);
    expect((await putWith(upload, original)).status).toBe(200);
    // The same URL again, and a fresh URL for the same key (what a retried create hands out): neither may overwrite.
    const again = await storage.presignSinglePut({ key, contentType: 'video/mp4', size: 4096 });
    for (const url of [upload, again]) {
      const replay = await putWith(url, patternBytes(4096, 2));
      expect(replay.status).toBe(412);
      expect(await replay.text()).toContain('<Code>PreconditionFailed</Code>');
    }
    expect(await download(key)).toBe(md5(original));
  });

  it('completing a multipart upload after another write of its key is refused (ConflictError), the object unchanged', async () => {
    const key = nextKey();
    const uploadId = await storage.startMultipart({ key, contentType: 'video/mp4' });
    const { ETag } = await s3.client.send(new UploadPartCommand({ Bucket: s3.bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: patternBytes(1024) }));
    await storage.putObject(key, 'written meanwhile', 'video/mp4');
    const refused = storage.completeMultipart({ key, uploadId, parts: [{ partNumber: 1, etag: ETag ?? '' }] });
    await expect(refused).rejects.toThrow(ConflictError);
    await expect(refused).rejects.toThrow(/already holds an object/);
    expect(await storage.headObject(key)).toMatchObject({ size: 'written meanwhile'.length });
  });

  it('of two concurrent completions of one upload, exactly one assembles the object', async () => {
    const key = nextKey();
    const uploadId = await storage.startMultipart({ key, contentType: 'video/mp4' });
    const { ETag } = await s3.client.send(new UploadPartCommand({ Bucket: s3.bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: patternBytes(2048) }));
    const parts = [{ partNumber: 1, etag: ETag ?? '' }];
    const outcomes = await Promise.allSettled([storage.completeMultipart({ key, uploadId, parts }), storage.completeMultipart({ key, uploadId, parts })]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(outcomes.find((outcome) => outcome.status === 'rejected')).toMatchObject({ reason: expect.any(ConflictError) });
    expect((await storage.headObject(key))?.size).toBe(2048);
  });

  it('sealKey leaves a zero-byte marker that every upload URL for the key is refused against', async () => {
    const key = nextKey();
    const upload = await storage.presignSinglePut({ key, contentType: 'video/mp4', size: 64 });
    expect(await storage.sealKey(key, 'cancelled')).toBe('sealed');
    const refused = await putWith(upload, patternBytes(64));
    expect(refused.status).toBe(412);
    const marker = await storage.headObject(key);
    expect(marker).toMatchObject({ size: 0, metadata: { 'reelay-sealed': 'cancelled' } });
    expect(isSealMarker(marker ?? { size: -1 })).toBe(true);
    expect(await storage.sealKey(key, 'cancelled')).toBe('already_sealed');
  });

  it('sealKey replaces an upload that landed first, so none of its bytes stay', async () => {
    const key = nextKey();
    const upload = await storage.presignSinglePut({ key, contentType: 'video/mp4', size: 64 });
    expect((await putWith(upload, patternBytes(64))).status).toBe(200);
    expect(await storage.sealKey(key, 'cancelled')).toBe('replaced');
    expect(await storage.headObject(key)).toMatchObject({ size: 0, metadata: { 'reelay-sealed': 'cancelled' } });
    expect(isSealMarker({ size: 64, metadata: { 'reelay-sealed': 'cancelled' } })).toBe(false);
  });
});
