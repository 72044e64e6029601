import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../shared/errors.js';
import { describeMuxConfig, MuxConfigurationError, muxConfigFromEnv } from '../../shared/mux/config.js';
import { listen, type LocalServer } from './support/servers.js';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A stand-in for the Parameters and Secrets extension: GET /secretsmanager/get?secretId=…, token header required. */
async function startFakeExtension(secretString: string | null, sessionToken = 'session-token') {
  const calls: { secretId: string | null; token: string | undefined }[] = [];
  const server = await listen((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const token = req.headers['x-aws-parameters-secrets-token'] as string | undefined;
    calls.push({ secretId: url.searchParams.get('secretId'), token });
    if (url.pathname !== '/secretsmanager/get' || token !== sessionToken) return void res.writeHead(401).end('unauthorized');
    if (secretString === null) return void res.writeHead(400).end('secret not found');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ARN: url.searchParams.get('secretId'), Name: 'mux', SecretString: secretString, VersionId: 'v1' }));
  });
  servers.push(server);
  return { url: server.url, calls };
}

const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:reelay/mux-AbCdEf';

describe('muxConfigFromEnv', () => {
  it('reads credentials and the emulator origin from plain env vars', async () => {
    const config = muxConfigFromEnv({
      MUX_TOKEN_ID: 'id',
      MUX_TOKEN_SECRET: 'secret',
      MUX_WEBHOOK_SECRET: 'whsec',
      MUX_BASE_URL: 'http://127.0.0.1:4010/',
    });
    expect(config).toMatchObject({
      configured: true,
      credentialSource: 'env',
      baseUrl: 'http://127.0.0.1:4010',
      streamBaseUrl: 'http://127.0.0.1:4010',
      imageBaseUrl: 'http://127.0.0.1:4010',
      playbackPolicy: 'public',
      videoQuality: null,
    });
    await expect(config.loadCredentials()).resolves.toEqual({ tokenId: 'id', tokenSecret: 'secret', webhookSecret: 'whsec' });
  });

  it('defaults to api.mux.com hosts and takes the playback policy and video quality', () => {
    const config = muxConfigFromEnv({ MUX_TOKEN_ID: 'id', MUX_TOKEN_SECRET: 's', MUX_PLAYBACK_POLICY: 'signed', MUX_VIDEO_QUALITY: 'plus' });
    expect(config).toMatchObject({
      baseUrl: null,
      streamBaseUrl: 'https://stream.mux.com',
      imageBaseUrl: 'https://image.mux.com',
      playbackPolicy: 'signed',
      videoQuality: 'plus',
    });
  });

  it('is not configured without both token parts, and says so when credentials are asked for', async () => {
    for (const env of [{}, { MUX_TOKEN_ID: 'id' }, { MUX_TOKEN_SECRET: 'secret' }, { MUX_TOKEN_ID: ' ', MUX_TOKEN_SECRET: 'x' }]) {
      const config = muxConfigFromEnv(env);
      expect(config.configured).toBe(false);
      expect(config.credentialSource).toBe('none');
      await expect(config.loadCredentials()).rejects.toBeInstanceOf(MuxConfigurationError);
    }
  });

  it('fails fast on invalid option values, naming the variable and what it accepts', () => {
    expect(() => muxConfigFromEnv({ MUX_PLAYBACK_POLICY: 'private' })).toThrow(ConfigurationError);
    expect(() => muxConfigFromEnv({ MUX_PLAYBACK_POLICY: 'private' })).toThrow('MUX_PLAYBACK_POLICY must be one of public, signed, got "private"');
    expect(() => muxConfigFromEnv({ MUX_VIDEO_QUALITY: 'ultra' })).toThrow('MUX_VIDEO_QUALITY must be one of basic, plus, premium, got "ultra"');
    expect(() => muxConfigFromEnv({ MUX_BASE_URL: 'not a url' })).toThrow('MUX_BASE_URL must be an http(s) URL, got "not a url"');
    expect(() => muxConfigFromEnv({ MUX_BASE_URL: 'ftp://127.0.0.1' })).toThrow(ConfigurationError);
    expect(() => muxConfigFromEnv({ MUX_TIMEOUT_MS: '20s' })).toThrow('MUX_TIMEOUT_MS must be a whole number of milliseconds of at least 1, got "20s"');
  });

  it('describes itself for diagnostics without any secret', () => {
    const config = muxConfigFromEnv({ MUX_TOKEN_ID: 'token-id-value', MUX_TOKEN_SECRET: 'token-secret-value', MUX_WEBHOOK_SECRET: 'whsec-value' });
    const summary = JSON.stringify(describeMuxConfig(config));
    expect(summary).not.toMatch(/token-id-value|token-secret-value|whsec-value/);
    expect(describeMuxConfig(config)).toMatchObject({ configured: true, credentialSource: 'env', emulator: false });
  });
});

describe('credentials from Secrets Manager through the Lambda extension', () => {
  const secretJson = JSON.stringify({ tokenId: 'sm-id', tokenSecret: 'sm-secret', webhookSecret: 'sm-whsec' });

  it('prefers MUX_SECRET_ARN, is configured without reading it, and reads it at first use with the session token', async () => {
    const extension = await startFakeExtension(secretJson);
    const config = muxConfigFromEnv(
      { MUX_SECRET_ARN: secretArn, AWS_SESSION_TOKEN: 'session-token', MUX_TOKEN_ID: 'ignored', MUX_TOKEN_SECRET: 'ignored' },
      { secretsExtensionUrl: extension.url },
    );
    expect(config).toMatchObject({ configured: true, credentialSource: 'secrets-manager' });
    expect(extension.calls).toHaveLength(0);

    await expect(config.loadCredentials()).resolves.toEqual({ tokenId: 'sm-id', tokenSecret: 'sm-secret', webhookSecret: 'sm-whsec' });
    expect(extension.calls).toEqual([{ secretId: secretArn, token: 'session-token' }]);
  });

  it('caches per container for the TTL, shares one request between concurrent callers, and reads again after it', async () => {
    const extension = await startFakeExtension(secretJson);
    let clock = 1_000_000;
    const options = { secretsExtensionUrl: extension.url, secretTtlMs: 60_000, now: () => clock };
    const env = { MUX_SECRET_ARN: `${secretArn}-cache`, AWS_SESSION_TOKEN: 'session-token' };

    await Promise.all([muxConfigFromEnv(env, options).loadCredentials(), muxConfigFromEnv(env, options).loadCredentials()]);
    await muxConfigFromEnv(env, options).loadCredentials();
    expect(extension.calls).toHaveLength(1);

    clock += 60_001;
    await muxConfigFromEnv(env, options).loadCredentials();
    expect(extension.calls).toHaveLength(2);
  });

  it('does not cache a failure, and reports it without the secret', async () => {
    const extension = await startFakeExtension(null);
    const env = { MUX_SECRET_ARN: `${secretArn}-missing`, AWS_SESSION_TOKEN: 'session-token' };
    const config = muxConfigFromEnv(env, { secretsExtensionUrl: extension.url });
    await expect(config.loadCredentials()).rejects.toBeInstanceOf(MuxConfigurationError);
    await expect(config.loadCredentials()).rejects.toBeInstanceOf(MuxConfigurationError);
    expect(extension.calls).toHaveLength(2);
  });

  it('rejects a secret of the wrong shape, naming fields but never values', async () => {
    const extension = await startFakeExtension(JSON.stringify({ tokenId: 'leaky-id', tokenSecret: '' }));
    const config = muxConfigFromEnv({ MUX_SECRET_ARN: `${secretArn}-bad`, AWS_SESSION_TOKEN: 'session-token' }, { secretsExtensionUrl: extension.url });
    const error = await config.loadCredentials().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MuxConfigurationError);
    expect((error as Error).message).toContain('tokenSecret');
    expect((error as Error).message).not.toContain('leaky-id');
  });

  it('refuses to call the extension without a session token, and fails cleanly when it is unreachable', async () => {
    const noToken = muxConfigFromEnv({ MUX_SECRET_ARN: `${secretArn}-notoken` }, { secretsExtensionUrl: 'http://127.0.0.1:9' });
    await expect(noToken.loadCredentials()).rejects.toBeInstanceOf(MuxConfigurationError);

    const closed = await listen((_req, res) => void res.end());
    await closed.close();
    const unreachable = muxConfigFromEnv({ MUX_SECRET_ARN: `${secretArn}-down`, AWS_SESSION_TOKEN: 't' }, { secretsExtensionUrl: closed.url });
    await expect(unreachable.loadCredentials()).rejects.toBeInstanceOf(MuxConfigurationError);
  });
});

describe('the asset binding key', () => {
  const key = 'k'.repeat(40);

  it('comes from MUX_BINDING_KEY, is refused at once when shorter than 32 characters, and is null when absent', async () => {
    await expect(muxConfigFromEnv({ MUX_TOKEN_ID: 'id', MUX_TOKEN_SECRET: 's', MUX_BINDING_KEY: key }).loadBindingKey()).resolves.toBe(key);
    expect(() => muxConfigFromEnv({ MUX_BINDING_KEY: 'short' })).toThrow(MuxConfigurationError);
    await expect(muxConfigFromEnv({ MUX_TOKEN_ID: 'id', MUX_TOKEN_SECRET: 's' }).loadBindingKey()).resolves.toBeNull();
  });

  it('is never part of the Mux credentials, nor of what diagnostics show', async () => {
    const config = muxConfigFromEnv({ MUX_TOKEN_ID: 'id', MUX_TOKEN_SECRET: 's', MUX_BINDING_KEY: key });
    expect(await config.loadCredentials()).toEqual({ tokenId: 'id', tokenSecret: 's', webhookSecret: null });
    expect(JSON.stringify(describeMuxConfig(config))).not.toContain(key);
    expect(describeMuxConfig(config)).toMatchObject({ bindingKeySource: 'env' });
    expect(describeMuxConfig(muxConfigFromEnv({ MUX_TOKEN_ID: 'id', MUX_TOKEN_SECRET: 's' }))).toMatchObject({ bindingKeySource: 'none' });
  });

  it('comes from its own generated secret through the extension in AWS, apart from the Mux secret', async () => {
    const extension = await startFakeExtension(`${key}\n`);
    const bindingArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:reelay/binding-XyZ123';
    const config = muxConfigFromEnv({ MUX_SECRET_ARN: secretArn, MUX_BINDING_KEY_SECRET_ARN: bindingArn, AWS_SESSION_TOKEN: 'session-token' }, { secretsExtensionUrl: extension.url });
    await expect(config.loadBindingKey()).resolves.toBe(key);
    expect(extension.calls).toEqual([{ secretId: bindingArn, token: 'session-token' }]);

    const short = await startFakeExtension('too-short');
    const refused = muxConfigFromEnv({ MUX_BINDING_KEY_SECRET_ARN: `${bindingArn}-short`, AWS_SESSION_TOKEN: 'session-token' }, { secretsExtensionUrl: short.url });
    await expect(refused.loadBindingKey()).rejects.toBeInstanceOf(MuxConfigurationError);
  });
});
