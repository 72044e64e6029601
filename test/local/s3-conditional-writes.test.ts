/**
 * The local S3 enforces S3's conditional writes (Amazon S3 User Guide, "conditional-writes"): `If-None-Match: *` and
 * `If-Match` on PutObject and CompleteMultipartUpload, with S3's statuses and XML error bodies, and the 409 S3 answers
 * when a DELETE lands while a conditional write is on its way. s3rver alone ignores these headers.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3EventRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UploadStorage } from '../../shared/storage/uploads.js';
import { patternBytes, startTestS3, type TestS3 } from '../storage/local-s3.js';

let s3: TestS3;
const notified: string[] = [];

beforeAll(async () => {
  s3 = await startTestS3({ minPartBytes: 1024, onObjectCreated: (record: S3EventRecord) => notified.push(decodeURIComponent(record.s3.object.key)) });
});
afterAll(() => s3?.dispose());

let counter = 0;
const freshKey = (name: string) => `uploads/${name}-${(counter += 1)}/source.mp4`;

interface RawAnswer {
  readonly status: number;
  readonly body: string;
}

/** A PUT whose body is sent in two steps: the request is on its way until `finish` is called. */
function startPut(key: string, bytes: Uint8Array, headers: Record<string, string>): { finish(): Promise<RawAnswer>; answered: Promise<RawAnswer> } {
  const url = new URL(s3.endpoint);
  let outgoing: ClientRequest | undefined;
  const answered = new Promise<RawAnswer>((resolve, reject) => {
    outgoing = httpRequest(
      { host: url.hostname, port: url.port, method: 'PUT', path: `/${s3.bucket}/${key}`, headers: { 'content-length': String(bytes.length), ...headers } },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    outgoing.on('error', reject);
  });
  const half = Math.floor(bytes.length / 2);
  outgoing?.write(bytes.subarray(0, half));
  return {
    answered,
    finish() {
      outgoing?.end(bytes.subarray(half));
      return answered;
    },
  };
}

async function contentOf(key: string): Promise<string | null> {
  try {
    const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    return (await object.Body?.transformToString()) ?? '';
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return null;
    throw error;
  }
}

const errorCode = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
const condition = (xml: string) => /<Condition>([^<]*)<\/Condition>/.exec(xml)?.[1];

describe('PutObject with If-None-Match: *', () => {
  it('writes a new key, then refuses a second write with 412 PreconditionFailed and keeps the first object', async () => {
    const key = freshKey('once');
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'first', IfNoneMatch: '*' }));
    await expect(s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'second', IfNoneMatch: '*' })))
      .rejects.toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    expect(await contentOf(key)).toBe('first');
  });

  it('answers with the XML body S3 sends, and a refused write raises no object-created event', async () => {
    const key = freshKey('xml');
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'first' }));
    const eventsBefore = notified.filter((each) => each === key).length;
    const refused = await startPut(key, patternBytes(64), { 'if-none-match': '*' }).finish();
    expect(refused.status).toBe(412);
    expect(errorCode(refused.body)).toBe('PreconditionFailed');
    expect(refused.body).toContain('<Message>At least one of the pre-conditions you specified did not hold</Message>');
    expect(condition(refused.body)).toBe('If-None-Match');
    expect(refused.body).toMatch(/<RequestId>[0-9A-F]+<\/RequestId>/);
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'uploads/marker/source.mp4', Body: 'm' }));
    await expect.poll(() => notified.includes('uploads/marker/source.mp4')).toBe(true);
    expect(notified.filter((each) => each === key).length).toBe(eventsBefore);
  });

  it('enforces the signed header of a presigned PUT: a replay of the same URL is a 412', async () => {
    const storage = new UploadStorage({ client: s3.client, bucket: s3.bucket, prefix: 'uploads/', urlTtlSeconds: 600 });
    const key = freshKey('presigned');
    const bytes = patternBytes(2048);
    const upload = await storage.presignSinglePut({ key, contentType: 'video/mp4', size: bytes.length });
    const { 'content-length': _length, ...headers } = upload.headers;
    const put = () => fetch(upload.url, { method: 'PUT', headers, body: new Uint8Array(bytes) });
    expect((await put()).status).toBe(200);
    const replay = await put();
    expect(replay.status).toBe(412);
    expect(errorCode(await replay.text())).toBe('PreconditionFailed');
    const { 'if-none-match': _condition, ...unconditional } = headers;
    // Without the header the signature no longer matches: the condition cannot be dropped.
    expect((await fetch(upload.url, { method: 'PUT', headers: unconditional, body: new Uint8Array(bytes) })).status).toBe(403);
  });

  it('of two conditional writes on their way, the first to finish wins and the other gets 412', async () => {
    const key = freshKey('race');
    const slow = startPut(key, Buffer.from('slow writer'), { 'if-none-match': '*' });
    const fast = await startPut(key, Buffer.from('fast writer'), { 'if-none-match': '*' }).finish();
    expect(fast.status).toBe(200);
    const late = await slow.finish();
    expect(late.status).toBe(412);
    expect(await contentOf(key)).toBe('fast writer');
  });

  it('a DELETE that succeeds while a conditional write is on its way fails that write with 409 ConditionalRequestConflict', async () => {
    const key = freshKey('deleted-meanwhile');
    const inFlight = startPut(key, Buffer.from('in flight'), { 'if-none-match': '*' });
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
    const answer = await inFlight.finish();
    expect(answer.status).toBe(409);
    expect(errorCode(answer.body)).toBe('ConditionalRequestConflict');
    expect(await contentOf(key)).toBeNull();
    // S3's advice for PutObject: try again, which then succeeds.
    expect((await startPut(key, Buffer.from('again'), { 'if-none-match': '*' }).finish()).status).toBe(200);
  });

  it('refuses other If-None-Match values, and both conditions at once, with 501 NotImplemented', async () => {
    const key = freshKey('etag-valued');
    const forms: Array<Record<string, string>> = [{ 'if-none-match': '"0123456789abcdef0123456789abcdef"' }, { 'if-none-match': '*', 'if-match': '"abc"' }];
    for (const headers of forms) {
      const answer = await startPut(key, Buffer.from('x'), headers).finish();
      expect(answer.status).toBe(501);
      expect(errorCode(answer.body)).toBe('NotImplemented');
    }
    expect(await contentOf(key)).toBeNull();
  });
});

describe('PutObject with If-Match', () => {
  it('replaces only the object with that ETag: 404 NoSuchKey without one, 412 for another ETag', async () => {
    const key = freshKey('if-match');
    await expect(s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'x', IfMatch: '"0123456789abcdef0123456789abcdef"' })))
      .rejects.toMatchObject({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    const { ETag } = await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'original' }));
    const wrong = await startPut(key, Buffer.from('other'), { 'if-match': '"0123456789abcdef0123456789abcdef"' }).finish();
    expect(wrong.status).toBe(412);
    expect(condition(wrong.body)).toBe('If-Match');
    expect(await contentOf(key)).toBe('original');
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'replaced', IfMatch: ETag }));
    expect(await contentOf(key)).toBe('replaced');
  });
});

describe('CompleteMultipartUpload with If-None-Match: *', () => {
  async function openUpload(key: string) {
    const { UploadId = '' } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }));
    const { ETag } = await s3.client.send(new UploadPartCommand({ Bucket: s3.bucket, Key: key, UploadId, PartNumber: 1, Body: patternBytes(2048) }));
    return { UploadId, parts: [{ PartNumber: 1, ETag }] };
  }

  it('assembles a new key, and refuses with 412 when the key was written meanwhile, leaving the upload open', async () => {
    const fresh = freshKey('complete');
    const first = await openUpload(fresh);
    await s3.client.send(new CompleteMultipartUploadCommand({ Bucket: s3.bucket, Key: fresh, UploadId: first.UploadId, MultipartUpload: { Parts: first.parts }, IfNoneMatch: '*' }));
    expect((await contentOf(fresh))?.length).toBe(2048);

    const taken = freshKey('complete-taken');
    const second = await openUpload(taken);
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: taken, Body: 'written meanwhile' }));
    await expect(s3.client.send(new CompleteMultipartUploadCommand({ Bucket: s3.bucket, Key: taken, UploadId: second.UploadId, MultipartUpload: { Parts: second.parts }, IfNoneMatch: '*' })))
      .rejects.toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    expect(await contentOf(taken)).toBe('written meanwhile');
    const parts = await s3.client.send(new ListPartsCommand({ Bucket: s3.bucket, Key: taken, UploadId: second.UploadId }));
    expect(parts.Parts?.map((part) => part.PartNumber)).toEqual([1]);
  });
});

describe('the upload bucket policy that denies unconditional writes (requireConditionalWrites)', () => {
  let guarded: TestS3;
  beforeAll(async () => {
    guarded = await startTestS3({ requireConditionalWrites: { exceptKeys: 'uploads/*/captions/*' } });
  });
  afterAll(() => guarded?.dispose());

  it('denies a PutObject or CompleteMultipartUpload without a condition, except on the caption keys', async () => {
    const put = (input: Omit<ConstructorParameters<typeof PutObjectCommand>[0], 'Bucket'>) => guarded.client.send(new PutObjectCommand({ Bucket: guarded.bucket, ...input }));
    const key = 'uploads/guarded/source.mp4';
    await expect(put({ Key: key, Body: 'x' })).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    await put({ Key: key, Body: 'x', IfNoneMatch: '*' });
    await put({ Key: 'uploads/guarded/captions/en.srt', Body: 'srt' });
    await put({ Key: 'uploads/guarded/captions/en.srt', Body: 'srt, again' });

    // Multipart: CreateMultipartUpload and UploadPart take no conditions and pass; only the completion needs one.
    const other = 'uploads/guarded-multipart/source.mp4';
    const { UploadId } = await guarded.client.send(new CreateMultipartUploadCommand({ Bucket: guarded.bucket, Key: other }));
    const { ETag } = await guarded.client.send(new UploadPartCommand({ Bucket: guarded.bucket, Key: other, UploadId, PartNumber: 1, Body: patternBytes(10) }));
    const parts = { Parts: [{ PartNumber: 1, ETag }] };
    const completion = { Bucket: guarded.bucket, Key: other, UploadId, MultipartUpload: parts };
    await expect(guarded.client.send(new CompleteMultipartUploadCommand(completion))).rejects.toMatchObject({ name: 'AccessDenied' });
    await guarded.client.send(new CompleteMultipartUploadCommand({ ...completion, IfNoneMatch: '*' }));
  });

  it('lets every writer of reelay through: presigned PUTs, the seal and its If-Match replacement', async () => {
    const storage = new UploadStorage({ client: guarded.client, bucket: guarded.bucket, prefix: 'uploads/', urlTtlSeconds: 60 });
    const key = 'uploads/writers/source.mp4';
    const upload = await storage.presignSinglePut({ key, contentType: 'video/mp4', size: 3 });
    const { 'content-length': _length, ...headers } = upload.headers;
    expect((await fetch(upload.url, { method: 'PUT', headers, body: 'abc' })).status).toBe(200);
    expect(await storage.sealKey(key, 'cancelled')).toBe('replaced');
    await storage.putObject(storage.captionsKeyFor('writers', 'en'), 'srt', 'application/x-subrip');
  });
});
