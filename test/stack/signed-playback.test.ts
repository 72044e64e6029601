/**
 * Signed playback end to end through `npm start`'s stack with MUX_PLAYBACK_POLICY=signed and nothing else: the stack
 * makes a URL signing key, ingest asks Mux (the emulator) for a signed playback id, every read mints tokens that
 * verify against the key's public key with exactly Mux's claims, and the emulator serves the media with them and
 * refuses it without one, with an expired one, an unknown kid, a foreign key, the wrong audience or another video's.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { importSPKI, jwtVerify, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDriver, driverConfigFromEnv } from '../../shared/db/create-driver.js';
import { parseSigningKey } from '../../shared/mux/config.js';
import { signPlaybackToken, withToken } from '../../shared/mux/playback-tokens.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { assetsFor, createUpload, getVideo, isReady, putSingle, uploadRequest, videoBytes, waitForVideo, type SingleUpload, type VideoJson } from './support.js';

const ttlSeconds = 600;

async function uploadReady(stack: TestStack, token: string, title: string): Promise<VideoJson> {
  const bytes = videoBytes(64 * 1024);
  const created = await createUpload(stack, token, uploadRequest(bytes, { title, options: { captions: true, mp4: true } }));
  // The uploads routes name the policy too; they show no playback URL yet, so there is nothing to sign.
  expect(created.video.mux).toMatchObject({ playbackPolicy: 'signed', playbackTokenExpiresAt: null, streamingUrl: null });
  expect((await putSingle(created.upload as SingleUpload, bytes)).status).toBe(200);
  // The transcript is fetched by the webhook from the signed text track: its presence proves that fetch had a token.
  return waitForVideo(stack, token, created.video.id, (video) => isReady(video) && video.mux?.mp4Url != null && video.captions?.transcriptText != null);
}

const tokenOf = (url: string | null | undefined): string => {
  const token = new URL(url ?? 'http://missing/').searchParams.get('token');
  expect(token, `no token in ${url}`).toEqual(expect.any(String));
  return token as string;
};

const statusOf = async (url: string): Promise<number> => {
  const response = await fetch(url);
  await response.body?.cancel();
  return response.status;
};

/** `url` with its token removed, or replaced. */
function retokened(url: string, token: string | null): string {
  const parsed = new URL(url);
  if (token === null) parsed.searchParams.delete('token');
  else parsed.searchParams.set('token', token);
  return parsed.toString();
}

describe('signed playback through the local stack', () => {
  let stack: TestStack;
  let alice: string;
  let first: VideoJson;
  let second: VideoJson;
  let readAt: number;

  beforeAll(async () => {
    stack = await startTestStack({ lambdaEnv: { MUX_PLAYBACK_POLICY: 'signed', PLAYBACK_TOKEN_TTL_SECONDS: String(ttlSeconds) } });
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
    [first, second] = await Promise.all([uploadReady(stack, alice, 'Members only'), uploadReady(stack, alice, 'Also members only')]);
    readAt = Date.now();
    first = (await getVideo(stack, alice, first.id)).body.video;
  }, 60_000);
  afterAll(() => stack?.dispose());

  it('asks Mux for a signed playback id and says so, with the tokens\' expiry', () => {
    const [asset] = assetsFor(stack, first.id);
    expect(asset?.request.playback_policies).toEqual(['signed']);
    expect(asset?.json.playback_ids).toEqual([{ id: first.mux?.playbackId, policy: 'signed' }]);
    expect(first.mux?.playbackPolicy).toBe('signed');
    const expiresAt = Date.parse(first.mux?.playbackTokenExpiresAt ?? '');
    expect(expiresAt).toBeGreaterThan(readAt + (ttlSeconds - 5) * 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + ttlSeconds * 1000);
  });

  it('gives every playback URL a token that verifies against the public key with exactly kid, sub, aud and exp', async () => {
    const key = stack.muxSigningKey;
    expect(key).not.toBeNull();
    const publicKey = await importSPKI(key?.publicKeyPem ?? '', 'RS256');
    const mux = first.mux as NonNullable<VideoJson['mux']>;
    const exp = Date.parse(mux.playbackTokenExpiresAt ?? '') / 1000;
    const expected: Array<[string | null, 'v' | 't']> = [
      [mux.streamingUrl, 'v'],
      [mux.mp4Url, 'v'],
      [first.captions?.webvttUrl ?? null, 'v'],
      [mux.thumbnailUrl, 't'],
    ];
    for (const [url, aud] of expected) {
      const token = tokenOf(url);
      const { payload, protectedHeader } = await jwtVerify(token, publicKey, { algorithms: ['RS256'], audience: aud, subject: mux.playbackId as string });
      expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'JWT', kid: key?.keyId });
      expect(payload).toEqual({ kid: key?.keyId, sub: mux.playbackId, aud, exp });
    }
    // The URLs are the stored ones plus the token: the stream path is unchanged.
    expect(retokened(mux.streamingUrl as string, null)).toBe(`${stack.urls.mux}/${mux.playbackId}.m3u8`);
  });

  it('mints the tokens at each read: the list carries them too, with a later expiry for a later read', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const list = await stack.request<{ videos: VideoJson[] }>('GET', '/api/videos', { token: alice });
    const listed = list.body.videos.find((video) => video.id === first.id);
    expect(listed?.mux?.playbackPolicy).toBe('signed');
    expect(Date.parse(listed?.mux?.playbackTokenExpiresAt ?? '')).toBeGreaterThan(Date.parse(first.mux?.playbackTokenExpiresAt ?? ''));
    expect(tokenOf(listed?.mux?.streamingUrl)).not.toBe(tokenOf(first.mux?.streamingUrl));
    expect(await statusOf(listed?.mux?.streamingUrl as string)).toBe(200);
  });

  it('has the emulator serve the stream (playlists and segment), thumbnail, MP4 and captions with the tokens', async () => {
    const mux = first.mux as NonNullable<VideoJson['mux']>;
    for (const url of [mux.streamingUrl, mux.thumbnailUrl, mux.mp4Url, first.captions?.webvttUrl]) {
      expect(await statusOf(url as string), url as string).toBe(200);
    }
    // The manifest hands its token on, as Mux's do: a player follows it to the media playlist and the segment.
    const master = await (await fetch(mux.streamingUrl as string)).text();
    const rendition = new URL(master.split('\n').find((line) => line.startsWith('/')) ?? '', stack.urls.mux as string).toString();
    expect(tokenOf(rendition)).toBe(tokenOf(mux.streamingUrl));
    const media = await (await fetch(rendition)).text();
    const segment = new URL(media.split('\n').find((line) => line.startsWith('/')) ?? '', stack.urls.mux as string).toString();
    expect(await statusOf(segment)).toBe(200);
  });

  it('refuses the stream and thumbnail without a token, expired, with an unknown kid or a foreign key, or the wrong audience', async () => {
    const mux = first.mux as NonNullable<VideoJson['mux']>;
    const key = parseSigningKey(stack.muxSigningKey?.keyId ?? '', stack.muxSigningKey?.privateKeyBase64 ?? '', 'the test');
    const sub = mux.playbackId as string;
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    const foreign = parseSigningKey(key.keyId, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), 'the test');
    for (const [url, aud] of [[mux.streamingUrl as string, 'v'], [mux.thumbnailUrl as string, 't']] as const) {
      // The control: a freshly made token with the stack's key is served.
      expect(await statusOf(retokened(url, signPlaybackToken(key, { sub, aud, exp: inAnHour })))).toBe(200);
      expect(await statusOf(retokened(url, null)), 'no token').toBe(403);
      expect(await statusOf(retokened(url, signPlaybackToken(key, { sub, aud, exp: Math.floor(Date.now() / 1000) - 1 }))), 'expired').toBe(403);
      expect(await statusOf(retokened(url, signPlaybackToken({ ...key, keyId: 'unknown-key' }, { sub, aud, exp: inAnHour }))), 'unknown kid').toBe(403);
      expect(await statusOf(retokened(url, signPlaybackToken(foreign, { sub, aud, exp: inAnHour }))), 'foreign key').toBe(403);
      expect(await statusOf(retokened(url, signPlaybackToken(key, { sub, aud: aud === 'v' ? 't' : 'v', exp: inAnHour }))), 'wrong aud').toBe(403);
      expect(await statusOf(retokened(url, 'not.a.jwt')), 'garbage').toBe(403);
    }
    const refused = await fetch(retokened(mux.streamingUrl as string, null));
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/missing_token/);
  });

  it('refuses one video\'s tokens for another video\'s playback id', async () => {
    const a = first.mux as NonNullable<VideoJson['mux']>;
    const b = second.mux as NonNullable<VideoJson['mux']>;
    expect(a.playbackId).not.toBe(b.playbackId);
    expect(await statusOf(retokened(b.streamingUrl as string, tokenOf(a.streamingUrl)))).toBe(403);
    expect(await statusOf(retokened(b.thumbnailUrl as string, tokenOf(a.thumbnailUrl)))).toBe(403);
    const fresh = (await getVideo(stack, alice, second.id)).body.video;
    expect(await statusOf(fresh.mux?.streamingUrl as string)).toBe(200);
    expect(decodeProtectedHeader(tokenOf(fresh.mux?.streamingUrl)).kid).toBe(stack.muxSigningKey?.keyId);
  });

  it('never stores a token: the row keeps the URLs as Mux gave them', async () => {
    const master = await createDriver(driverConfigFromEnv(stack.env));
    try {
      const stored = await master.execute(
        `SELECT mux_streaming_url, mux_thumbnail_url, mux_mp4_url, captions_webvtt_url FROM videos WHERE id = '${first.id}'`,
      );
      expect(stored.rows).toHaveLength(1);
      expect(JSON.stringify(stored.rows)).toContain(first.mux?.playbackId as string);
      expect(JSON.stringify(stored.rows)).not.toContain('token');
    } finally {
      await master.close();
    }
    expect(withToken(`${stack.urls.mux}/${first.mux?.playbackId}.m3u8`, tokenOf(first.mux?.streamingUrl))).toBe(first.mux?.streamingUrl);
  });
});
