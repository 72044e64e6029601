/**
 * The URLs shared/storage/presign.ts signs without S3Client are the ones `@aws-sdk/s3-request-presigner` makes from
 * S3Client for the same command, settings, credentials and clock, byte for byte: same host, path, query and
 * signature, with the same headers signed (If-None-Match: * and the x-amz-meta-* headers among them).
 */
import { GetObjectCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BuildMiddleware, MiddlewareStack } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { s3ClientSettings } from '../../shared/storage/config.js';
import { UrlSigner, type SigningTarget } from '../../shared/storage/presign.js';
import { UploadStorage } from '../../shared/storage/uploads.js';

const signingDate = new Date('2026-03-04T05:06:07Z');
const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'IQoJb3JpZ2luX2VjE///token+with/odd=chars' };

interface Settings {
  readonly region: string;
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
}

/** The SDK's presigned URL, made as reelay made it before: checksum headers stripped, the given headers signed. */
async function sdkUrl(settings: Settings, command: PutObjectCommand | UploadPartCommand | GetObjectCommand, signed: readonly string[], expiresIn: number): Promise<string> {
  const client = new S3Client({ ...s3ClientSettings(settings), credentials });
  const strip: BuildMiddleware<object, object> = (next) => async (args) => {
    const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase().startsWith('x-amz-checksum-') || name.toLowerCase() === 'x-amz-sdk-checksum-algorithm') delete headers[name];
    }
    return next(args);
  };
  (command.middlewareStack as unknown as MiddlewareStack<object, object>).add(strip, { step: 'build', priority: 'low', name: 'testStrip' });
  const options = { expiresIn, signingDate, signableHeaders: new Set(signed), unhoistableHeaders: new Set(signed) };
  if (command instanceof PutObjectCommand) return getSignedUrl(client, command, options);
  if (command instanceof UploadPartCommand) return getSignedUrl(client, command, options);
  return getSignedUrl(client, command, options);
}

const target = (settings: Settings): SigningTarget => ({ ...settings, credentials: async () => credentials });

const settingsCases: readonly [string, Settings][] = [
  ['the local S3 (path style, port)', { region: 'us-east-1', endpoint: 'http://127.0.0.1:4569', forcePathStyle: true }],
  ['AWS in us-east-1 (virtual-hosted)', { region: 'us-east-1', forcePathStyle: false }],
  ['AWS in eu-west-1 (virtual-hosted)', { region: 'eu-west-1', forcePathStyle: false }],
  ['AWS, path style asked for', { region: 'ap-southeast-2', forcePathStyle: true }],
  ['a named endpoint, path style', { region: 'us-east-1', endpoint: 'https://s3.internal.example:8443', forcePathStyle: true }],
];

const keys = ['uploads/0b6e0d0e-1c1a-4c55-9d7e-3f0b6a9d2c11/source.mp4', "uploads/odd key/ünï (1)*!'~.mov"];

describe('presigned URLs without S3Client', () => {
  for (const [name, settings] of settingsCases) {
    describe(name, () => {
      const signer = new UrlSigner(target(settings));

      it.each(keys)('single PUT with If-None-Match: * and metadata signed as headers (%s)', async (key) => {
        const metadata = { 'reelay-captions': 'true', 'reelay-mp4': 'false' };
        const signed = ['content-type', 'content-length', 'if-none-match', 'x-amz-meta-reelay-captions', 'x-amz-meta-reelay-mp4'];
        const expected = await sdkUrl(settings, new PutObjectCommand({ Bucket: 'reelay-uploads', Key: key, ContentType: 'video/mp4', ContentLength: 12_345, IfNoneMatch: '*', Metadata: metadata }), signed, 3600);
        const { url } = await signer.presign({
          method: 'PUT',
          bucket: 'reelay-uploads',
          key,
          operation: 'PutObject',
          headers: { 'content-type': 'video/mp4', 'content-length': '12345', 'if-none-match': '*', 'x-amz-meta-reelay-captions': 'true', 'x-amz-meta-reelay-mp4': 'false' },
          expiresIn: 3600,
          signingDate,
        });
        expect(url).toBe(expected);
        expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host;if-none-match;x-amz-meta-reelay-captions;x-amz-meta-reelay-mp4');
      });

      it('UploadPart with its part number and upload id', async () => {
        const key = keys[0] as string;
        const expected = await sdkUrl(settings, new UploadPartCommand({ Bucket: 'reelay-uploads', Key: key, UploadId: 'Up+load/Id==', PartNumber: 7, ContentLength: 8_388_608 }), ['content-length'], 900);
        const { url } = await signer.presign({ method: 'PUT', bucket: 'reelay-uploads', key, operation: 'UploadPart', query: { partNumber: '7', uploadId: 'Up+load/Id==' }, headers: { 'content-length': '8388608' }, expiresIn: 900, signingDate });
        expect(url).toBe(expected);
      });

      it('GET', async () => {
        const key = keys[1] as string;
        const expected = await sdkUrl(settings, new GetObjectCommand({ Bucket: 'reelay-uploads', Key: key }), [], 604_800);
        const { url } = await signer.presign({ method: 'GET', bucket: 'reelay-uploads', key, operation: 'GetObject', expiresIn: 604_800, signingDate });
        expect(url).toBe(expected);
      });
    });
  }

  it('a bucket name with dots is addressed path style, as the SDK does', async () => {
    const settings: Settings = { region: 'us-west-2', forcePathStyle: false };
    const expected = await sdkUrl(settings, new GetObjectCommand({ Bucket: 'reelay.uploads.example', Key: 'uploads/a/source.mp4' }), [], 600);
    const { url } = await new UrlSigner(target(settings)).presign({ method: 'GET', bucket: 'reelay.uploads.example', key: 'uploads/a/source.mp4', operation: 'GetObject', expiresIn: 600, signingDate });
    expect(url).toBe(expected);
  });

  it('UploadStorage signs the same URL from a client as from explicit settings', async () => {
    const settings = settingsCases[0]?.[1] as Settings;
    const client = new S3Client({ ...s3ClientSettings(settings), credentials });
    const fromClient = new UploadStorage({ client, bucket: 'reelay-uploads', prefix: 'uploads/', urlTtlSeconds: 600, now: () => signingDate });
    const fromSettings = new UploadStorage({
      client: async () => {
        throw new Error('signing must not build the S3 client');
      },
      signing: target(settings),
      bucket: 'reelay-uploads',
      prefix: 'uploads/',
      urlTtlSeconds: 600,
      now: () => signingDate,
    });
    const input = { key: keys[0] as string, contentType: 'video/mp4', size: 1_000, metadata: { 'reelay-captions': 'true' } };
    expect((await fromSettings.presignSinglePut(input)).url).toBe((await fromClient.presignSinglePut(input)).url);
    expect((await fromSettings.presignGet({ key: input.key })).url).toBe((await fromClient.presignGet({ key: input.key })).url);
  });
});
