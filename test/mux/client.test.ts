import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MuxApiError } from '../../shared/errors.js';
import { createMuxGateway, createMuxSdk, muxGatewayFromConfig, type MuxGateway } from '../../shared/mux/client.js';
import { muxConfigFromEnv } from '../../shared/mux/config.js';
import { startMuxEmulator, type MuxEmulator } from '../../local/mux-emulator/server.js';
import { fakeMp4, startFileServer, type LocalServer } from './support/servers.js';

const credentials = { tokenId: 'test-token-id', tokenSecret: 'test-token-secret', webhookSecret: 'test-webhook-secret' };

let emulator: MuxEmulator;
let files: LocalServer;
let inputUrl: string;

function gateway(options: { maxRetries?: number; timeout?: number; tokenSecret?: string } = {}): MuxGateway {
  const sdk = createMuxSdk({ ...credentials, tokenSecret: options.tokenSecret ?? credentials.tokenSecret }, emulator.baseUrl, {
    maxRetries: options.maxRetries ?? 0,
    timeout: options.timeout ?? 5_000,
  });
  return createMuxGateway(sdk);
}

async function expectMuxError(work: Promise<unknown>): Promise<MuxApiError> {
  const error = await work.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(MuxApiError);
  return error as MuxApiError;
}

beforeAll(async () => {
  files = await startFileServer(fakeMp4(10_000, 1920, 1080));
  inputUrl = `${files.url}/video.mp4?X-Amz-Signature=abc`;
  emulator = await startMuxEmulator({ ...credentials, processingDelayMs: 1 });
});

afterAll(async () => {
  await emulator?.close();
  await files?.close();
});

beforeEach(() => {
  emulator.faults.reset();
});

describe('MuxGateway over the SDK, against the emulator', () => {
  it('creates an asset with the requested options, using static_renditions rather than the deprecated mp4_support', async () => {
    const created = await gateway().createAsset({ inputUrl, passthrough: 'video-create', normalizeAudio: true, captions: true, mp4: true });
    expect(created.status).toBe('preparing');
    expect(created.asset.passthrough).toBe('video-create');
    expect(created.asset.playbackIds).toEqual([{ id: expect.any(String), policy: 'public' }]);

    const request = emulator.assets.get(created.assetId)?.request;
    expect(request).toEqual({
      inputs: [{ url: inputUrl, generated_subtitles: [{ language_code: 'en', name: 'English (generated)' }] }],
      playback_policies: ['public'],
      passthrough: 'video-create',
      normalize_audio: true,
      static_renditions: [{ resolution: 'highest' }],
    });
    expect(request).not.toHaveProperty('mp4_support');
  });

  it('sends only what was asked for, with the configured playback policy and video quality', async () => {
    const sdk = createMuxSdk(credentials, emulator.baseUrl, { maxRetries: 0 });
    const signedGateway = createMuxGateway(sdk, { playbackPolicy: 'signed', videoQuality: 'plus' });
    const created = await signedGateway.createAsset({ inputUrl, passthrough: 'video-plain' });
    expect(emulator.assets.get(created.assetId)?.request).toEqual({
      inputs: [{ url: inputUrl }],
      playback_policies: ['signed'],
      passthrough: 'video-plain',
      video_quality: 'plus',
    });
  });

  it('gets an asset normalised, and null for one Mux does not know', async () => {
    const mux = gateway();
    const created = await mux.createAsset({ inputUrl, passthrough: 'video-get' });
    await emulator.whenIdle();
    const asset = await mux.getAsset(created.assetId);
    expect(asset).toMatchObject({ id: created.assetId, status: 'ready', passthrough: 'video-get', duration: 10, aspectRatio: '16:9' });
    expect(await mux.getAsset('no-such-asset')).toBeNull();
  });

  it('lists newest first in pages, and finds the newest asset a predicate accepts across pages', async () => {
    const mux = gateway();
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) ids.push((await mux.createAsset({ inputUrl, passthrough: `video-page-${index}` })).assetId);

    const first = await mux.listAssets({ limit: 2 });
    expect(first.assets.map((asset) => asset.id)).toEqual([ids[4], ids[3]]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await mux.listAssets({ limit: 2, cursor: first.nextCursor });
    expect(second.assets.map((asset) => asset.id)).toEqual([ids[2], ids[1]]);

    const named = (passthrough: string) => (asset: { passthrough: string | null }) => asset.passthrough === passthrough;
    const found = await mux.findAsset(named('video-page-0'), { pageSize: 2 });
    expect(found?.id).toBe(ids[0]);
    expect(await mux.findAsset(named('video-never-ingested'), { pageSize: 2 })).toBeNull();
    // Bounded: with too few pages allowed, an old asset is not found (and no endless paging happens).
    expect(await mux.findAsset(named('video-page-0'), { pageSize: 1, maxPages: 2 })).toBeNull();
    // An asynchronous predicate is asked newest first, and the first it accepts wins.
    const asked: string[] = [];
    const accepted = await mux.findAsset(async (asset) => {
      asked.push(asset.id);
      return asset.id === ids[3] || asset.id === ids[1];
    }, { pageSize: 2 });
    expect(accepted?.id).toBe(ids[3]);
    expect(asked).toEqual([ids[4], ids[3]]);
  });

  it('returns the inputs an asset was created from, as given, and null for an unknown asset', async () => {
    const mux = gateway();
    const created = await mux.createAsset({ inputUrl, passthrough: 'video-inputs', captions: true });
    const inputs = await mux.getInputs(created.assetId);
    expect(inputs).toEqual([{ url: inputUrl, settings: { url: inputUrl, generated_subtitles: [{ language_code: 'en', name: 'English (generated)' }] } }]);
    expect(await mux.getInputs('no-such-asset')).toBeNull();
  });

  it('carries the Retry-After of a 429 on the error; a 500 without one carries none', async () => {
    emulator.faults.rateLimitNextCreates(1, 7);
    expect(await expectMuxError(gateway().createAsset({ inputUrl, passthrough: 'video-429-later' }))).toMatchObject({ status: 429, retryAfterMs: 7000 });
    emulator.faults.failNextCreates(1, 500);
    const failed = await expectMuxError(gateway().createAsset({ inputUrl, passthrough: 'video-500' }));
    expect(failed.status).toBe(500);
    expect(failed.retryAfterMs).toBeUndefined();
  });

  it('reports 429 as a retryable MuxApiError, and the SDK retries it when allowed', async () => {
    emulator.faults.rateLimitNextCreates(1, 0);
    const error = await expectMuxError(gateway().createAsset({ inputUrl, passthrough: 'video-429' }));
    expect(error).toMatchObject({ status: 429, retryable: true, code: 'mux_api_error', retryAfterMs: 0 });

    emulator.faults.rateLimitNextCreates(1, 0);
    const before = emulator.requests.filter((request) => request.method === 'POST').length;
    const created = await gateway({ maxRetries: 2 }).createAsset({ inputUrl, passthrough: 'video-429-retried' });
    expect(created.assetId).toEqual(expect.any(String));
    const posts = emulator.requests.filter((request) => request.method === 'POST').slice(before);
    expect(posts.map((request) => request.status)).toEqual([429, 201]);
  });

  it('reports a 500 as retryable', async () => {
    emulator.faults.failNextCreates(1, 500);
    const error = await expectMuxError(gateway().createAsset({ inputUrl, passthrough: 'video-500' }));
    expect(error).toMatchObject({ status: 500, retryable: true });
  });

  it('reports a timeout as retryable without a status; the asset it may have created is found by passthrough', async () => {
    emulator.faults.hangNextCreates(1, { createAsset: true });
    const mux = gateway({ timeout: 300 });
    const error = await expectMuxError(mux.createAsset({ inputUrl, passthrough: 'video-lost-response' }));
    expect(error).toMatchObject({ status: undefined, retryable: true });

    const existing = await mux.findAsset((asset) => asset.passthrough === 'video-lost-response');
    expect(existing?.passthrough).toBe('video-lost-response');
  });

  it('reports invalid parameters as a non-retryable 400 carrying Mux’s messages', async () => {
    const error = await expectMuxError(gateway().createAsset({ inputUrl: 'not-a-url', passthrough: 'x'.repeat(256) }));
    expect(error).toMatchObject({ status: 400, retryable: false });
    expect(error.message).toContain('invalid_parameters');
    expect(error.message).toContain('inputs[0].url must be a valid http or https URL');
    expect(error.message).toContain('passthrough must be a string of at most 255 characters');
  });

  it('reports bad credentials as a non-retryable 401', async () => {
    const error = await expectMuxError(gateway({ tokenSecret: 'wrong' }).getAsset('anything'));
    expect(error).toMatchObject({ status: 401, retryable: false });
  });

  it('reports an unreachable Mux as retryable', async () => {
    const sdk = createMuxSdk(credentials, 'http://127.0.0.1:9', { maxRetries: 0, timeout: 2_000 });
    const error = await expectMuxError(createMuxGateway(sdk).listAssets());
    expect(error).toMatchObject({ status: undefined, retryable: true });
  });

  it('is built from env config, credentials and all', async () => {
    const config = muxConfigFromEnv({
      MUX_TOKEN_ID: credentials.tokenId,
      MUX_TOKEN_SECRET: credentials.tokenSecret,
      MUX_BASE_URL: emulator.baseUrl,
      MUX_VIDEO_QUALITY: 'basic',
    });
    const mux = await muxGatewayFromConfig(config, { maxRetries: 0 });
    const created = await mux.createAsset({ inputUrl, passthrough: 'video-from-config' });
    expect(emulator.assets.get(created.assetId)?.request).toMatchObject({ video_quality: 'basic', playback_policies: ['public'] });
  });

  it('fetches text and maps a failed fetch to MuxApiError', async () => {
    const mux = gateway();
    const created = await mux.createAsset({ inputUrl, passthrough: 'video-text', captions: true });
    await emulator.whenIdle();
    const asset = await mux.getAsset(created.assetId);
    const textTrack = asset?.tracks.find((candidate) => candidate.type === 'text');
    const playbackId = asset?.playbackIds[0]?.id;
    expect(textTrack?.status).toBe('ready');
    const transcript = await mux.fetchText(`${emulator.baseUrl}/${playbackId}/text/${textTrack?.id}.txt`);
    expect(transcript).toContain('reelay');

    const missing = await expectMuxError(mux.fetchText(`${emulator.baseUrl}/${playbackId}/text/nosuchtrack.vtt`));
    expect(missing).toMatchObject({ status: 404, retryable: false });
  });
});
