/**
 * Which credentials presigned URLs are signed with, as a function's edge parses them: in a Lambda the role's
 * temporary keys from the environment (with their session token), a local S3's own keys when S3_ENDPOINT is set,
 * and the SDK's chain (through the client) when a profile is named.
 */
import { describe, expect, it } from 'vitest';
import { storageServices } from '../../shared/runtime/storage.js';
import { storageSettingsFromEnv } from '../../shared/storage/config.js';

const lambdaEnv = {
  UPLOAD_BUCKET: 'reelay-uploads',
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'ASIAROLEKEY',
  AWS_SECRET_ACCESS_KEY: 'role-secret',
  AWS_SESSION_TOKEN: 'role-session-token',
};

describe('signing credentials', () => {
  it("in a Lambda, signs with the role's keys and session token from the environment", async () => {
    const settings = storageSettingsFromEnv(lambdaEnv);
    expect(settings.credentials).toBeUndefined();
    expect(settings.roleCredentials).toEqual({ accessKeyId: 'ASIAROLEKEY', secretAccessKey: 'role-secret', sessionToken: 'role-session-token' });

    const { url } = await storageServices(settings).storage.presignGet({ key: 'uploads/v/source', ttlSeconds: 60 });
    const query = new URL(url).searchParams;
    expect(query.get('X-Amz-Credential')).toMatch(/^ASIAROLEKEY\/\d{8}\/eu-west-1\/s3\/aws4_request$/);
    expect(query.get('X-Amz-Security-Token')).toBe('role-session-token');
  });

  it('keeps a valid AWS_CREDENTIAL_EXPIRATION and drops an unreadable one', () => {
    const expiration = '2030-01-01T00:00:00Z';
    expect(storageSettingsFromEnv({ ...lambdaEnv, AWS_CREDENTIAL_EXPIRATION: expiration }).roleCredentials?.expiration).toEqual(new Date(expiration));
    expect(storageSettingsFromEnv({ ...lambdaEnv, AWS_CREDENTIAL_EXPIRATION: 'soon' }).roleCredentials).not.toHaveProperty('expiration');
  });

  it("with a local S3, signs with its keys only (no session token), not as a role", async () => {
    const settings = storageSettingsFromEnv({ ...lambdaEnv, S3_ENDPOINT: 'http://127.0.0.1:4569' });
    expect(settings.roleCredentials).toBeUndefined();
    expect(settings.credentials).toEqual({ accessKeyId: 'ASIAROLEKEY', secretAccessKey: 'role-secret' });

    const { url } = await storageServices(settings).storage.presignGet({ key: 'uploads/v/source', ttlSeconds: 60 });
    expect(new URL(url).searchParams.get('X-Amz-Security-Token')).toBeNull();
  });

  it('leaves the choice to the SDK chain when a profile is named or no keys are set', () => {
    expect(storageSettingsFromEnv({ ...lambdaEnv, AWS_PROFILE: 'dev' }).roleCredentials).toBeUndefined();
    expect(storageSettingsFromEnv({ UPLOAD_BUCKET: 'reelay-uploads' }).roleCredentials).toBeUndefined();
  });
});
