import { describe, expect, it } from 'vitest';
import { ConfigurationError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../../shared/errors.js';
import { assertUploadAllowed, GiB, MiB, storageConfigFromEnv } from '../../shared/storage/config.js';

describe('storageConfigFromEnv', () => {
  it('needs only the bucket; everything else has a documented default', () => {
    const config = storageConfigFromEnv({ UPLOAD_BUCKET: 'videos' });
    expect(config).toMatchObject({
      bucket: 'videos',
      prefix: 'uploads/',
      region: 'us-east-1',
      forcePathStyle: false,
      maxUploadBytes: 50 * GiB,
      multipartThresholdBytes: 100 * MiB,
      uploadUrlTtlSeconds: 3600,
    });
    expect(config.endpoint).toBeUndefined();
    expect(config.allowedContentTypes).toEqual(expect.arrayContaining(['video/mp4', 'video/quicktime', 'video/webm', 'video/x-matroska']));
    expect(config.allowedContentTypes.every((type) => type.startsWith('video/'))).toBe(true);
  });

  it('fails at start-up without a bucket', () => {
    expect(() => storageConfigFromEnv({})).toThrow(ConfigurationError);
    expect(() => storageConfigFromEnv({ UPLOAD_BUCKET: '  ' })).toThrow(/UPLOAD_BUCKET/);
  });

  it('reads a local S3 endpoint and turns on path-style addressing for it unless told otherwise', () => {
    expect(storageConfigFromEnv({ UPLOAD_BUCKET: 'b', S3_ENDPOINT: 'http://127.0.0.1:4569' })).toMatchObject({ endpoint: 'http://127.0.0.1:4569', forcePathStyle: true });
    expect(storageConfigFromEnv({ UPLOAD_BUCKET: 'b', S3_ENDPOINT: 'http://x', S3_FORCE_PATH_STYLE: 'false' }).forcePathStyle).toBe(false);
    expect(() => storageConfigFromEnv({ UPLOAD_BUCKET: 'b', S3_FORCE_PATH_STYLE: 'maybe' })).toThrow(ConfigurationError);
  });

  it('normalises the prefix to end in a slash and refuses a leading slash', () => {
    expect(storageConfigFromEnv({ UPLOAD_BUCKET: 'b', UPLOAD_PREFIX: 'incoming' }).prefix).toBe('incoming/');
    expect(storageConfigFromEnv({ UPLOAD_BUCKET: 'b', UPLOAD_PREFIX: '' }).prefix).toBe('');
    expect(() => storageConfigFromEnv({ UPLOAD_BUCKET: 'b', UPLOAD_PREFIX: '/abs' })).toThrow(ConfigurationError);
  });

  it('keeps sizes and lifetimes inside what S3 and SigV4 allow', () => {
    const base = { UPLOAD_BUCKET: 'b' };
    expect(storageConfigFromEnv({ ...base, MAX_UPLOAD_BYTES: String(5 * 1024 * GiB) }).maxUploadBytes).toBe(5 * 1024 * GiB);
    expect(() => storageConfigFromEnv({ ...base, MAX_UPLOAD_BYTES: String(5 * 1024 * GiB + 1) })).toThrow(ConfigurationError);
    expect(() => storageConfigFromEnv({ ...base, MULTIPART_THRESHOLD_BYTES: String(5 * GiB + 1) })).toThrow(/MULTIPART_THRESHOLD_BYTES/);
    expect(() => storageConfigFromEnv({ ...base, MULTIPART_THRESHOLD_BYTES: String(MiB) })).toThrow(ConfigurationError);
    expect(storageConfigFromEnv({ ...base, UPLOAD_URL_TTL_SECONDS: '604800' }).uploadUrlTtlSeconds).toBe(604_800);
    expect(() => storageConfigFromEnv({ ...base, UPLOAD_URL_TTL_SECONDS: '604801' })).toThrow(ConfigurationError);
    expect(() => storageConfigFromEnv({ ...base, UPLOAD_URL_TTL_SECONDS: '1h' })).toThrow(/whole number/);
  });

  it('accepts an explicit list of video types and refuses anything that is not video/*', () => {
    expect(storageConfigFromEnv({ UPLOAD_BUCKET: 'b', ALLOWED_CONTENT_TYPES: 'video/MP4, video/webm' }).allowedContentTypes).toEqual(['video/mp4', 'video/webm']);
    expect(() => storageConfigFromEnv({ UPLOAD_BUCKET: 'b', ALLOWED_CONTENT_TYPES: 'video/mp4,text/html' })).toThrow(ConfigurationError);
  });
});

describe('assertUploadAllowed', () => {
  const config = storageConfigFromEnv({ UPLOAD_BUCKET: 'b', MAX_UPLOAD_BYTES: '1000' });

  it('returns the normalised content type of an acceptable upload', () => {
    expect(assertUploadAllowed(config, { contentType: 'Video/MP4; codecs="avc1.42E01E"', size: 1000 })).toBe('video/mp4');
  });

  it('answers 415 for a type outside the allowlist, 413 past the maximum, 400 for a nonsense size', () => {
    expect(() => assertUploadAllowed(config, { contentType: 'image/png', size: 10 })).toThrow(UnsupportedMediaTypeError);
    expect(() => assertUploadAllowed(config, { contentType: 'video/mp4', size: 1001 })).toThrow(PayloadTooLargeError);
    expect(() => assertUploadAllowed(config, { contentType: 'video/mp4', size: 0 })).toThrow(ValidationError);
  });
});
