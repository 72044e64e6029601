import { afterEach, describe, expect, it, vi } from 'vitest';
import { UnauthorizedError } from '../../shared/errors.js';
import { parseMuxAsset, type MuxAsset } from '../../shared/mux/assets.js';
import { MuxConfigurationError } from '../../shared/mux/config.js';
import { muxUrls } from '../../shared/mux/urls.js';
import {
  eventNeedsAssetRefetch,
  isMuxStatusAdvance,
  verifyAndParseWebhook,
  videoFieldsFromAsset,
  WebhookSignatureError,
  type MuxEvent,
  type RejectedWebhook,
  type WebhookRefusal,
} from '../../shared/mux/webhooks.js';
import { muxSignatureHeader, muxWebhookSignature } from '../../local/mux-emulator/signing.js';

const secret = 'whsec_test_0123456789';

/** The SDK checks the age against the process clock too, so tests that travel in time move both clocks. */
function travelTo(unixSeconds: number): () => number {
  vi.useFakeTimers({ toFake: ['Date'], now: unixSeconds * 1000 });
  return () => Date.now();
}

afterEach(() => {
  vi.useRealTimers();
});

function envelope(type: string, data: unknown, object: { type: string; id: string } = { type: 'asset', id: 'asset-1' }): string {
  return JSON.stringify({
    type,
    object,
    id: `evt-${type}`,
    environment: { name: 'Production', id: 'env-1' },
    data,
    created_at: '2024-05-01T10:00:00.000000Z',
    attempts: [],
  });
}

async function verifyFresh(body: string, overrides: { secret?: string; signedAt?: number } = {}): Promise<MuxEvent | RejectedWebhook> {
  const signedAt = overrides.signedAt ?? Math.floor(Date.now() / 1000);
  const header = muxSignatureHeader(body, overrides.secret ?? secret, signedAt);
  return verifyAndParseWebhook(body, { 'mux-signature': header }, secret);
}

async function refusal(work: Promise<unknown>): Promise<WebhookRefusal> {
  const error = await work.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(WebhookSignatureError);
  expect(error).toBeInstanceOf(UnauthorizedError);
  return (error as WebhookSignatureError).reason;
}

const readyAssetData = {
  id: 'asset-1',
  status: 'ready',
  playback_ids: [{ id: 'play-1', policy: 'public' }],
  duration: 12.6,
  aspect_ratio: '16:9',
  passthrough: '5b0b7f3c-1f4e-4c9e-9d0c-7d5f1f3b2a10',
  created_at: 1714557600,
  tracks: [
    { id: 'video-track', type: 'video', status: 'ready' },
    { id: 'text-1', type: 'text', text_source: 'generated_vod', language_code: 'en', status: 'ready', name: 'English (generated)' },
  ],
  static_renditions: { files: [{ id: 'r1', name: 'highest.mp4', resolution: 'highest', status: 'ready', ext: 'mp4' }] },
};

describe('verifyAndParseWebhook: signatures', () => {
  it('matches the published test vector, checked by the SDK with the clock injected', async () => {
    const vector = { body: '{"test":"body"}', secret: 'SuperSecret123', t: 1565125718 };
    const v1 = '854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7';
    expect(muxWebhookSignature(vector.body, vector.secret, vector.t)).toBe(v1);

    const now = travelTo(vector.t + 10);
    const headers = { 'mux-signature': `t=${vector.t},v1=${v1}` };
    // The signature is good; the body is just not a Mux event, which is a different outcome than a bad signature.
    await expect(verifyAndParseWebhook(vector.body, headers, vector.secret, { now })).resolves.toMatchObject({ kind: 'rejected' });
    expect(await refusal(verifyAndParseWebhook(vector.body, headers, 'AnotherSecret', { now }))).toBe('signature_mismatch');
  });

  it('accepts a signature exactly 300 s old and refuses one 301 s old', async () => {
    const body = envelope('video.asset.ready', readyAssetData);
    const signedAt = 1_714_557_600;
    const headers = { 'mux-signature': muxSignatureHeader(body, secret, signedAt) };

    const atLimit = travelTo(signedAt + 300);
    await expect(verifyAndParseWebhook(body, headers, secret, { now: atLimit })).resolves.toMatchObject({ type: 'video.asset.ready' });
    const pastLimit = travelTo(signedAt + 301);
    expect(await refusal(verifyAndParseWebhook(body, headers, secret, { now: pastLimit }))).toBe('stale');
  });

  it('uses the injected clock for the age check even when the process clock disagrees', async () => {
    const body = envelope('video.asset.ready', readyAssetData);
    const signedAt = Math.floor(Date.now() / 1000);
    const headers = { 'mux-signature': muxSignatureHeader(body, secret, signedAt) };
    const anHourLater = () => (signedAt + 3600) * 1000;
    expect(await refusal(verifyAndParseWebhook(body, headers, secret, { now: anHourLater }))).toBe('stale');
  });

  it('refuses a timestamp more than 300 s in the future', async () => {
    const body = envelope('video.asset.ready', readyAssetData);
    expect(await refusal(verifyFresh(body, { signedAt: Math.floor(Date.now() / 1000) + 301 }))).toBe('from_the_future');
  });

  it('refuses a missing or malformed signature header', async () => {
    const body = envelope('video.asset.ready', readyAssetData);
    expect(await refusal(verifyAndParseWebhook(body, {}, secret))).toBe('missing_signature');
    expect(await refusal(verifyAndParseWebhook(body, { 'mux-signature': '' }, secret))).toBe('missing_signature');
    const t = Math.floor(Date.now() / 1000);
    for (const header of ['garbage', `t=${t}`, `v1=${'ab'.repeat(32)}`, `t=soon,v1=${'ab'.repeat(32)}`, `t=${t},v1=not-hex`]) {
      expect(await refusal(verifyAndParseWebhook(body, { 'mux-signature': header }, secret))).toBe('malformed_signature');
    }
  });

  it('refuses a forged signature and a body altered after signing', async () => {
    const body = envelope('video.asset.ready', readyAssetData);
    expect(await refusal(verifyFresh(body, { secret: 'not-the-secret' }))).toBe('signature_mismatch');

    const header = muxSignatureHeader(body, secret);
    const altered = body.replace('"duration":12.6', '"duration":99');
    expect(altered).not.toBe(body);
    expect(await refusal(verifyAndParseWebhook(altered, { 'mux-signature': header }, secret))).toBe('signature_mismatch');
    // Re-serialising a parsed body changes nothing semantically but breaks the signature: the raw body must be used.
    const reserialised = JSON.stringify(JSON.parse(body), null, 1);
    expect(await refusal(verifyAndParseWebhook(reserialised, { 'mux-signature': header }, secret))).toBe('signature_mismatch');
  });

  it('accepts when any of several v1 signatures matches (secret rotation), and reads headers case-insensitively', async () => {
    const body = envelope('video.asset.ready', readyAssetData);
    const t = Math.floor(Date.now() / 1000);
    const header = `t=${t},v1=${muxWebhookSignature(body, 'old-secret', t)},v1=${muxWebhookSignature(body, secret, t)}`;
    await expect(verifyAndParseWebhook(body, { 'Mux-Signature': header }, secret)).resolves.toMatchObject({ kind: 'asset' });
    await expect(verifyAndParseWebhook(body, new Headers({ 'mux-signature': header }), secret)).resolves.toMatchObject({ kind: 'asset' });
  });

  it('treats a missing webhook secret as a configuration fault, not as the caller being unauthorised', async () => {
    const body = envelope('video.asset.ready', readyAssetData);
    const error = await verifyAndParseWebhook(body, { 'mux-signature': muxSignatureHeader(body, secret) }, null).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MuxConfigurationError);
    expect(error).not.toBeInstanceOf(UnauthorizedError);
  });
});

describe('verifyAndParseWebhook: events', () => {
  it('parses an asset event into the normalised asset', async () => {
    const event = await verifyFresh(envelope('video.asset.ready', readyAssetData));
    expect(event.kind).toBe('asset');
    if (event.kind !== 'asset') return;
    expect(event).toMatchObject({
      id: 'evt-video.asset.ready',
      type: 'video.asset.ready',
      receivedType: 'video.asset.ready',
      objectType: 'asset',
      objectId: 'asset-1',
      assetId: 'asset-1',
    });
    expect(event.createdAt.toISOString()).toBe('2024-05-01T10:00:00.000Z');
    expect(event.data).toMatchObject({
      id: 'asset-1',
      status: 'ready',
      duration: 12.6,
      aspectRatio: '16:9',
      passthrough: readyAssetData.passthrough,
      playbackIds: [{ id: 'play-1', policy: 'public' }],
    });
    expect(event.data.createdAt?.toISOString()).toBe('2024-05-01T10:00:00.000Z');
    expect(eventNeedsAssetRefetch(event)).toBe(false);
  });

  it('parses the older static_renditions.ready as an asset event and the newer static_rendition.ready as a rendition', async () => {
    const legacy = await verifyFresh(envelope('video.asset.static_renditions.ready', readyAssetData));
    expect(legacy).toMatchObject({ kind: 'asset', type: 'video.asset.static_renditions.ready', assetId: 'asset-1' });

    const rendition = await verifyFresh(
      envelope('video.asset.static_rendition.ready', { id: 'r1', asset_id: 'asset-9', name: 'highest.mp4', resolution: 'highest', status: 'ready' }),
    );
    expect(rendition).toMatchObject({ kind: 'static_rendition', assetId: 'asset-9', data: { name: 'highest.mp4', status: 'ready' } });
    expect(rendition.kind !== 'rejected' && eventNeedsAssetRefetch(rendition)).toBe(true);
  });

  it('parses a track event, including one with empty data (the asset then comes from the envelope object)', async () => {
    const full = await verifyFresh(
      envelope('video.asset.track.ready', { id: 'text-1', type: 'text', text_source: 'generated_vod', status: 'ready', language_code: 'en', asset_id: 'asset-2' }),
    );
    expect(full).toMatchObject({ kind: 'track', type: 'video.asset.track.ready', assetId: 'asset-2', data: { id: 'text-1', textSource: 'generated_vod' } });

    const empty = await verifyFresh(envelope('video.asset.track.ready', {}, { type: 'asset', id: 'asset-3' }));
    expect(empty).toMatchObject({ kind: 'track', data: null, assetId: 'asset-3' });
    expect(empty.kind !== 'rejected' && eventNeedsAssetRefetch(empty)).toBe(true);
  });

  it('recognises Mux direct-upload events without reading their data (reelay makes no direct uploads)', async () => {
    const event = await verifyFresh(
      envelope('video.upload.cancelled', { id: 'upload-1', status: 'cancelled', new_asset_settings: { passthrough: 'video-4' } }, { type: 'upload', id: 'upload-1' }),
    );
    expect(event).toMatchObject({ kind: 'upload', type: 'video.upload.cancelled', assetId: null, objectType: 'upload', objectId: 'upload-1' });
    expect(event.kind === 'upload' && eventNeedsAssetRefetch(event)).toBe(false);
  });

  it('turns an event type it does not apply into the unknown variant, keeping the original type', async () => {
    const event = await verifyFresh(envelope('video.live_stream.active', { id: 'live-1' }, { type: 'live', id: 'live-1' }));
    expect(event).toMatchObject({ kind: 'unknown', type: 'unknown', receivedType: 'video.live_stream.active', objectId: 'live-1' });
  });

  it('turns a signed body that is not an envelope into a rejection that can be recorded', async () => {
    const notEnvelope = JSON.stringify({ type: 'video.asset.ready' });
    expect(await verifyFresh(notEnvelope)).toMatchObject({ kind: 'rejected', receivedType: 'video.asset.ready', objectId: null, id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(await verifyFresh('not json')).toMatchObject({ kind: 'rejected', receivedType: 'invalid', issues: [{ message: 'The Mux webhook body is not JSON' }] });
    expect(await verifyFresh(envelope('video.asset.ready', 'not an asset', { type: 'asset', id: '' }))).toMatchObject({ kind: 'rejected', id: 'evt-video.asset.ready' });
    // The same body always gives the same id, so Mux's redeliveries of it are recognised.
    expect((await verifyFresh(notEnvelope)).id).toBe((await verifyFresh(notEnvelope)).id);
  });
});

describe('videoFieldsFromAsset', () => {
  const urls = muxUrls({ streamBaseUrl: 'https://stream.example', imageBaseUrl: 'https://image.example/' });
  const asset = (overrides: Record<string, unknown> = {}): MuxAsset => {
    const parsed = parseMuxAsset({ ...readyAssetData, ...overrides });
    if (!parsed) throw new Error('fixture is not an asset');
    return parsed;
  };

  it('fills every field of a ready asset, rounding the duration to whole seconds', () => {
    const observedAt = new Date('2024-05-01T10:00:05Z');
    expect(videoFieldsFromAsset(asset(), urls, { observedAt })).toEqual({
      assetId: 'asset-1',
      playbackId: 'play-1',
      uploadId: null,
      status: 'ready',
      thumbnailUrl: 'https://image.example/play-1/thumbnail.jpg',
      streamingUrl: 'https://stream.example/play-1.m3u8',
      mp4Url: 'https://stream.example/play-1/highest.mp4',
      durationSeconds: 13,
      aspectRatio: '16:9',
      createdAt: new Date('2024-05-01T10:00:00Z'),
      readyAt: observedAt,
      error: null,
      textTrackId: 'text-1',
      captionsWebvttUrl: 'https://stream.example/play-1/text/text-1.vtt',
    });
  });

  it('leaves the MP4 and captions empty until their rendition and track are ready', () => {
    const preparing = asset({
      static_renditions: { files: [{ name: 'highest.mp4', resolution: 'highest', status: 'preparing' }] },
      tracks: [{ id: 'text-1', type: 'text', text_source: 'generated_vod', language_code: 'en', status: 'preparing' }],
    });
    expect(videoFieldsFromAsset(preparing, urls)).toMatchObject({ mp4Url: null, textTrackId: null, captionsWebvttUrl: null, readyAt: null });
  });

  it('prefers the playback id of the configured policy', () => {
    const twoPolicies = asset({ playback_ids: [{ id: 'signed-1', policy: 'signed' }, { id: 'public-1', policy: 'public' }] });
    expect(videoFieldsFromAsset(twoPolicies, urls).playbackId).toBe('public-1');
    expect(videoFieldsFromAsset(twoPolicies, urls, { playbackPolicy: 'signed' }).playbackId).toBe('signed-1');
  });

  it('describes an errored asset and has no ready time', () => {
    const errored = asset({ status: 'errored', errors: { type: 'invalid_input', messages: ['could not download', 'HTTP 403'] } });
    expect(videoFieldsFromAsset(errored, urls, { observedAt: new Date() })).toMatchObject({
      status: 'errored',
      error: 'invalid_input: could not download; HTTP 403',
      readyAt: null,
    });
  });
});

describe('isMuxStatusAdvance', () => {
  it('moves forwards and allows the same status again', () => {
    expect(isMuxStatusAdvance(null, 'preparing')).toBe(true);
    expect(isMuxStatusAdvance('pending', 'preparing')).toBe(true);
    expect(isMuxStatusAdvance('preparing', 'ready')).toBe(true);
    expect(isMuxStatusAdvance('preparing', 'errored')).toBe(true);
    expect(isMuxStatusAdvance('ready', 'ready')).toBe(true);
  });

  it('never moves a ready or errored video backwards, nor between the two final states', () => {
    for (const final of ['ready', 'errored'] as const) {
      expect(isMuxStatusAdvance(final, 'preparing')).toBe(false);
      expect(isMuxStatusAdvance(final, 'pending')).toBe(false);
    }
    expect(isMuxStatusAdvance('ready', 'errored')).toBe(false);
    expect(isMuxStatusAdvance('errored', 'ready')).toBe(false);
  });
});
