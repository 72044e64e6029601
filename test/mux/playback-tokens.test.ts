/**
 * The playback token signer against `@mux/mux-node`'s own `jwt.signPlaybackId` and against jose; the signing key's
 * configuration (env, the Mux secret, half given, malformed); and tokens added at read time by withPlaybackTokens.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Mux from '@mux/mux-node';
import { decodeJwt, decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../shared/errors.js';
import { defaultPlaybackTokenTtlSeconds, describeMuxConfig, MuxConfigurationError, muxConfigFromEnv, parseSigningKey } from '../../shared/mux/config.js';
import { audienceForPath, signPlaybackToken, withToken } from '../../shared/mux/playback-tokens.js';
import { PlaybackSigningError, withPlaybackTokens, type PlaybackSigning } from '../../shared/videos/playback.js';
import type { VideoJson } from '../../shared/videos/presenter.js';
import { listen, type LocalServer } from './support/servers.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pkcs1Pem = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const pkcs8Pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
/** What Mux hands out as a signing key's `private_key`. */
const muxPrivateKey = Buffer.from(pkcs1Pem).toString('base64');
const keyId = 'Fgk2cXT2Uvz9Z8C2ZzUg02KGU3Tr4uRHpr2H1mD02VEgY';
const playbackId = 'qxb01i6T202018GFS02vp9RIe01icTcDCjVzQpmaB00CUisJ4';

describe('signPlaybackToken', () => {
  it('writes exactly the claims @mux/mux-node writes, and adds kid to the header', async () => {
    const mux = new Mux({ tokenId: 'x', tokenSecret: 'y', jwtSigningKey: keyId, jwtPrivateKey: muxPrivateKey });
    const theirs = await mux.jwt.signPlaybackId(playbackId, { type: 'thumbnail', expiration: '3600s' });
    const { exp } = decodeJwt(theirs);
    const ours = signPlaybackToken(parseSigningKey(keyId, muxPrivateKey, 'the test'), { sub: playbackId, aud: 't', exp: exp as number });
    // Same claims, byte for byte (same order): the helper's payload segment is ours.
    expect(ours.split('.')[1]).toBe(theirs.split('.')[1]);
    expect(decodeJwt(ours)).toEqual({ kid: keyId, sub: playbackId, aud: 't', exp });
    expect(decodeProtectedHeader(theirs)).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(decodeProtectedHeader(ours)).toEqual({ alg: 'RS256', typ: 'JWT', kid: keyId });
    // Both verify against the public key.
    const publicKey = await importSPKI(publicPem, 'RS256');
    for (const token of [ours, theirs]) {
      await expect(jwtVerify(token, publicKey, { algorithms: ['RS256'], audience: 't', subject: playbackId })).resolves.toBeDefined();
    }
  });

  it('verifies with jose against the public key, and fails against another key', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const token = signPlaybackToken(parseSigningKey(keyId, pkcs8Pem, 'the test'), { sub: playbackId, aud: 'v', exp });
    const { payload, protectedHeader } = await jwtVerify(token, await importSPKI(publicPem, 'RS256'), { algorithms: ['RS256'] });
    expect(payload).toEqual({ kid: keyId, sub: playbackId, aud: 'v', exp });
    expect(protectedHeader.kid).toBe(keyId);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await expect(jwtVerify(token, await importSPKI(other, 'RS256'))).rejects.toThrow();
  });

  it('knows which audience a URL needs, and puts the token in the query', () => {
    expect(audienceForPath('/abc.m3u8')).toBe('v');
    expect(audienceForPath('/abc/highest.mp4')).toBe('v');
    expect(audienceForPath('/abc/text/track.vtt')).toBe('v');
    expect(audienceForPath('/abc/thumbnail.jpg')).toBe('t');
    expect(audienceForPath('/abc/animated.gif')).toBe('g');
    expect(audienceForPath('/abc/storyboard.vtt')).toBe('s');
    expect(withToken('https://stream.mux.com/abc.m3u8', 'a.b.c')).toBe('https://stream.mux.com/abc.m3u8?token=a.b.c');
    expect(withToken('https://image.mux.com/abc/thumbnail.jpg?time=2', 'a.b.c')).toBe('https://image.mux.com/abc/thumbnail.jpg?time=2&token=a.b.c');
  });
});

describe('the signing key and token lifetime in the Mux config', () => {
  const servers: LocalServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it('takes base64 PEM (as Mux gives it) or PEM, PKCS#1 or PKCS#8, and refuses anything else without echoing it', () => {
    for (const given of [muxPrivateKey, pkcs1Pem, pkcs8Pem, Buffer.from(pkcs8Pem).toString('base64')]) {
      expect(parseSigningKey(keyId, given, 'X').privateKey.asymmetricKeyType).toBe('rsa');
    }
    expect(() => parseSigningKey(keyId, 'c2VjcmV0LXZhbHVl', 'X')).toThrow(MuxConfigurationError);
    expect(() => parseSigningKey(keyId, 'c2VjcmV0LXZhbHVl', 'X')).not.toThrow(/c2VjcmV0|secret-value/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => parseSigningKey(keyId, ec, 'X')).toThrow(/RSA/);
    expect(() => parseSigningKey('has space', pkcs1Pem, 'X')).toThrow(/key id/);
  });

  it('reads MUX_SIGNING_KEY_ID / MUX_SIGNING_PRIVATE_KEY on first use; both or neither', async () => {
    const none = muxConfigFromEnv({});
    expect(none.signingKeySource).toBe('none');
    expect(describeMuxConfig(none)).not.toHaveProperty('playbackSigningError');
    expect(describeMuxConfig(muxConfigFromEnv({ MUX_PLAYBACK_POLICY: 'signed' }))).toMatchObject({ signingKeySource: 'none', playbackSigningError: expect.stringContaining('no URL signing key') });
    expect(JSON.stringify(describeMuxConfig(muxConfigFromEnv({ MUX_PLAYBACK_POLICY: 'signed', MUX_SIGNING_KEY_ID: keyId, MUX_SIGNING_PRIVATE_KEY: muxPrivateKey })))).not.toMatch(/playbackSigningError|BEGIN|LS0t/);
    await expect(none.loadSigningKey()).resolves.toBeNull();
    const env = muxConfigFromEnv({ MUX_SIGNING_KEY_ID: keyId, MUX_SIGNING_PRIVATE_KEY: muxPrivateKey });
    expect(env.signingKeySource).toBe('env');
    await expect(env.loadSigningKey()).resolves.toMatchObject({ keyId });
    const half = muxConfigFromEnv({ MUX_SIGNING_KEY_ID: keyId });
    await expect(half.loadSigningKey()).rejects.toThrow(/both MUX_SIGNING_KEY_ID and MUX_SIGNING_PRIVATE_KEY/);
    // A bad key fails the read that signs, not the cold start (ingest never signs).
    const bad = muxConfigFromEnv({ MUX_SIGNING_KEY_ID: keyId, MUX_SIGNING_PRIVATE_KEY: 'nope' });
    await expect(bad.loadSigningKey()).rejects.toThrow(MuxConfigurationError);
  });

  it('defaults the token lifetime to an hour and takes PLAYBACK_TOKEN_TTL_SECONDS', () => {
    expect(defaultPlaybackTokenTtlSeconds).toBe(3600);
    expect(muxConfigFromEnv({}).playbackTokenTtlSeconds).toBe(3600);
    expect(muxConfigFromEnv({ PLAYBACK_TOKEN_TTL_SECONDS: '120' }).playbackTokenTtlSeconds).toBe(120);
    for (const bad of ['0', '-5', '1.5', 'soon']) {
      expect(() => muxConfigFromEnv({ PLAYBACK_TOKEN_TTL_SECONDS: bad })).toThrow(ConfigurationError);
    }
  });

  it('reads signingKeyId / signingPrivateKey from the Mux secret; without them, or half, signing is refused and credentials still work', async () => {
    const secret = (fields: Record<string, unknown>) => JSON.stringify({ tokenId: 'id', tokenSecret: 'secret', webhookSecret: 'wh', ...fields });
    const cases: Array<[Record<string, unknown>, 'key' | null | RegExp]> = [
      [{ signingKeyId: keyId, signingPrivateKey: muxPrivateKey }, 'key'],
      [{}, null],
      [{ signingKeyId: '', signingPrivateKey: null }, null],
      [{ signingKeyId: keyId }, /both signingKeyId and signingPrivateKey/],
      [{ signingKeyId: keyId, signingPrivateKey: 'bm90IGEga2V5' }, /not a PEM private key/],
      [{ signingKeyId: 7, signingPrivateKey: muxPrivateKey }, /must be strings/],
    ];
    for (const [fields, expected] of cases) {
      const server = await listen((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ SecretString: secret(fields) }));
      });
      servers.push(server);
      const config = muxConfigFromEnv({ MUX_SECRET_ARN: `arn:aws:secretsmanager:eu-west-1:1:secret:mux-${randomUUID()}`, AWS_SESSION_TOKEN: 't' }, { secretsExtensionUrl: server.url });
      expect(config.signingKeySource).toBe('secrets-manager');
      await expect(config.loadCredentials()).resolves.toMatchObject({ tokenId: 'id' });
      if (expected === 'key') await expect(config.loadSigningKey()).resolves.toMatchObject({ keyId });
      else if (expected === null) await expect(config.loadSigningKey()).resolves.toBeNull();
      else await expect(config.loadSigningKey()).rejects.toThrow(expected);
    }
  });
});

function readyVideo(): VideoJson {
  const stream = 'https://stream.mux.com';
  return {
    id: randomUUID(), ownerId: 'alice', title: 't', description: null, status: 'ready', filename: 'f.mp4', contentType: 'video/mp4', size: 1,
    createdAt: new Date(0).toISOString(), updatedAt: new Date(0).toISOString(),
    mux: {
      assetId: 'asset', playbackId, uploadId: null, status: 'ready', thumbnailUrl: `https://image.mux.com/${playbackId}/thumbnail.jpg`,
      streamingUrl: `${stream}/${playbackId}.m3u8`, mp4Url: `${stream}/${playbackId}/highest.mp4`, durationSeconds: 1, aspectRatio: '16:9',
      createdAt: null, readyAt: null, error: null, playbackPolicy: 'public', playbackTokenExpiresAt: null,
    },
    audio: { enhanced: false, jobId: null },
    captions: { webvttUrl: `${stream}/${playbackId}/text/track.vtt`, srtUrl: null, transcriptText: null, transcriptConfidence: null, jobId: null },
  };
}

describe('withPlaybackTokens', () => {
  const key = parseSigningKey(keyId, muxPrivateKey, 'the test');
  const signed = (loadKey: PlaybackSigning['loadKey']): PlaybackSigning => ({ policy: 'signed', ttlSeconds: 3600, loadKey, now: () => 1_800_000_000_000 });

  it('leaves a public video\'s URLs alone and says public', async () => {
    const video = readyVideo();
    for (const signing of [undefined, { ...signed(async () => key), policy: 'public' as const }]) {
      expect(await withPlaybackTokens(video, signing)).toEqual(video);
    }
  });

  it('adds v tokens to stream, MP4 and captions, a t token to the thumbnail, all expiring ttl from now', async () => {
    const out = await withPlaybackTokens(readyVideo(), signed(async () => key));
    expect(out.mux?.playbackPolicy).toBe('signed');
    expect(out.mux?.playbackTokenExpiresAt).toBe(new Date((1_800_000_000 + 3600) * 1000).toISOString());
    const claims = (url: string | null | undefined) => decodeJwt(new URL(url as string).searchParams.get('token') as string);
    for (const url of [out.mux?.streamingUrl, out.mux?.mp4Url, out.captions?.webvttUrl]) expect(claims(url)).toEqual({ kid: keyId, sub: playbackId, aud: 'v', exp: 1_800_003_600 });
    expect(claims(out.mux?.thumbnailUrl)).toEqual({ kid: keyId, sub: playbackId, aud: 't', exp: 1_800_003_600 });
  });

  it('signs nothing before there is a playback id, and needs no key then', async () => {
    const video = readyVideo();
    const pending = { ...video, mux: { ...video.mux!, playbackId: null, streamingUrl: null, thumbnailUrl: null, mp4Url: null } };
    const out = await withPlaybackTokens(pending, signed(async () => null));
    expect(out.mux).toMatchObject({ playbackPolicy: 'signed', playbackTokenExpiresAt: null, streamingUrl: null });
  });

  it('is a clear configuration error without a key, or with one that cannot be read', async () => {
    await expect(withPlaybackTokens(readyVideo(), signed(async () => null))).rejects.toThrow(PlaybackSigningError);
    await expect(withPlaybackTokens(readyVideo(), signed(async () => null))).rejects.toThrow(/MUX_SIGNING_KEY_ID and MUX_SIGNING_PRIVATE_KEY/);
    const unreadable = withPlaybackTokens(readyVideo(), signed(async () => Promise.reject(new MuxConfigurationError('extension answered 403 for arn:…'))));
    await expect(unreadable).rejects.toThrow(/cannot be read/);
    await expect(unreadable).rejects.not.toThrow(/arn:/);
  });
});
