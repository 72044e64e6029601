import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListPartsCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import type { S3EventRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectsCreated, parseS3SqsEvent } from '../../shared/storage/events.js';
import { UploadStorage } from '../../shared/storage/uploads.js';
import { patternBytes, startTestS3 } from '../storage/local-s3.js';
import type { TestS3 } from '../storage/local-s3.js';

let s3: TestS3;
const notifications: S3EventRecord[] = [];

beforeAll(async () => {
  // Parts of 1 KiB are allowed here so the 1,001-part upload below stays small.
  s3 = await startTestS3({ notificationPrefix: 'uploads/', minPartBytes: 1024, onObjectCreated: (record) => notifications.push(record) });
});

afterAll(async () => {
  await s3?.dispose();
});

async function notificationFor(key: string): Promise<S3EventRecord> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const found = notifications.find((record) => decodeURIComponent(record.s3.object.key.replace(/\+/g, ' ')) === key);
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no notification for ${key}`);
}

/** The record as the ingest Lambda will see it: inside an SQS message body. */
function throughSqs(record: S3EventRecord) {
  return objectsCreated(parseS3SqsEvent({ Records: [{ messageId: 'm', body: JSON.stringify({ Records: [record] }) }] }));
}

describe('object-created notifications', () => {
  it('a single PUT produces an ObjectCreated:Put record in S3’s format, key URL-encoded', async () => {
    const key = 'uploads/a video (1)/source.mp4';
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: patternBytes(321), ContentType: 'video/mp4' }));
    const record = await notificationFor(key);
    expect(record).toMatchObject({
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: s3.bucket, arn: `arn:aws:s3:::${s3.bucket}` }, object: { key: 'uploads/a+video+%281%29/source.mp4', size: 321 } },
    });
    expect(record.s3.object.eTag).toMatch(/^[0-9a-f]{32}$/);
    expect(record.s3.object.sequencer).toMatch(/^[0-9A-F]+$/);
    expect(throughSqs(record)).toEqual([expect.objectContaining({ bucket: s3.bucket, key, size: 321 })]);
  });

  it('CompleteMultipartUpload produces ObjectCreated:CompleteMultipartUpload with the whole size', async () => {
    const key = 'uploads/multi/source.mov';
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }));
    const parts = [];
    for (const [partNumber, size] of [[1, 2048], [2, 100]] as const) {
      const { ETag } = await s3.client.send(new UploadPartCommand({ Bucket: s3.bucket, Key: key, UploadId, PartNumber: partNumber, Body: patternBytes(size) }));
      parts.push({ PartNumber: partNumber, ETag });
    }
    await s3.client.send(new CompleteMultipartUploadCommand({ Bucket: s3.bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
    const record = await notificationFor(key);
    expect(record.eventName).toBe('ObjectCreated:CompleteMultipartUpload');
    expect(throughSqs(record)).toEqual([expect.objectContaining({ key, size: 2148, eventName: 'ObjectCreated:CompleteMultipartUpload' })]);
  });

  it('later events compare greater by sequencer, and keys outside the prefix are not notified', async () => {
    const key = 'uploads/twice/source.mp4';
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'one' }));
    await notificationFor(key);
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'second' }));
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'captions/x/en.srt', Body: 'srt' }));
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'uploads/marker/source.mp4', Body: 'm' }));
    await notificationFor('uploads/marker/source.mp4');
    const sequencers = notifications.filter((record) => record.s3.object.key === key).map((record) => record.s3.object.sequencer);
    expect(sequencers).toHaveLength(2);
    expect((sequencers[1] ?? '') > (sequencers[0] ?? '')).toBe(true);
    expect(notifications.some((record) => record.s3.object.key.startsWith('captions/'))).toBe(false);
  });
});

describe('ListParts (answered by the front; s3rver has none)', () => {
  it('pages at 1,000 parts with NextPartNumberMarker, and the storage layer follows every page', async () => {
    const key = 'uploads/many-parts/source.mp4';
    const { UploadId: uploadId = '' } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }));
    const partNumbers = Array.from({ length: 1_001 }, (_, index) => index + 1);
    for (let start = 0; start < partNumbers.length; start += 50) {
      await Promise.all(partNumbers.slice(start, start + 50).map((partNumber) =>
        s3.client.send(new UploadPartCommand({ Bucket: s3.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: new Uint8Array([partNumber & 0xff]) }))));
    }

    const firstPage = await s3.client.send(new ListPartsCommand({ Bucket: s3.bucket, Key: key, UploadId: uploadId }));
    expect(firstPage.Parts).toHaveLength(1_000);
    expect(firstPage.IsTruncated).toBe(true);
    expect(firstPage.NextPartNumberMarker).toBe('1000');
    const secondPage = await s3.client.send(new ListPartsCommand({ Bucket: s3.bucket, Key: key, UploadId: uploadId, PartNumberMarker: firstPage.NextPartNumberMarker }));
    expect(secondPage.Parts?.map((part) => part.PartNumber)).toEqual([1_001]);
    expect(secondPage.IsTruncated).toBe(false);

    const storage = new UploadStorage({ client: s3.client, bucket: s3.bucket, prefix: 'uploads/', urlTtlSeconds: 60 });
    const listed = await storage.listUploadedParts({ key, uploadId });
    expect(listed.map((part) => part.partNumber)).toEqual(partNumbers);
    expect(listed.every((part) => part.size === 1 && /^"[0-9a-f]{32}"$/.test(part.etag))).toBe(true);
  }, 120_000);

  it('answers NoSuchUpload for an unknown id, a malformed id, or another key’s id', async () => {
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: 'uploads/owner/source.mp4' }));
    for (const [key, uploadId] of [['uploads/owner/source.mp4', '0'.repeat(32)], ['uploads/owner/source.mp4', '../../etc'], ['uploads/other/source.mp4', UploadId]]) {
      await expect(s3.client.send(new ListPartsCommand({ Bucket: s3.bucket, Key: key, UploadId: uploadId }))).rejects.toMatchObject({ name: 'NoSuchUpload' });
    }
  });
});

describe('CORS for the local console', () => {
  it('allows a PUT preflight from http://127.0.0.1:3000 and exposes the ETag on the PUT', async () => {
    const url = `${s3.endpoint}/${s3.bucket}/uploads/cors/source.mp4`;
    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:3000', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(200);
    // s3rver grants a matched preflight with "*" (S3 echoes the origin); either lets the browser proceed.
    expect(['*', 'http://127.0.0.1:3000']).toContain(preflight.headers.get('access-control-allow-origin'));
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PUT');

    const put = await fetch(url, { method: 'PUT', headers: { origin: 'http://127.0.0.1:3000', 'content-type': 'video/mp4' }, body: 'x' });
    expect(put.status).toBe(200);
    expect(put.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:3000');
    expect(put.headers.get('access-control-expose-headers')).toMatch(/ETag/i);
  });

  it('gives no CORS grant to another origin', async () => {
    const preflight = await fetch(`${s3.endpoint}/${s3.bucket}/uploads/cors/source.mp4`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});
