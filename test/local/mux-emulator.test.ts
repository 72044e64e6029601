import { afterEach, describe, expect, it } from 'vitest';
import { vttToSrt } from '../../shared/mux/captions.js';
import { createMuxGateway, createMuxSdk, type MuxGateway } from '../../shared/mux/client.js';
import { muxUrls } from '../../shared/mux/urls.js';
import { verifyAndParseWebhook, videoFieldsFromAsset, WebhookSignatureError, type MuxEvent } from '../../shared/mux/webhooks.js';
import { generateSigningKey } from '../../local/mux-emulator/playback.js';
import { startMuxEmulator, type MuxEmulator, type MuxEmulatorOptions } from '../../local/mux-emulator/server.js';
import { parseSigningKey } from '../../shared/mux/config.js';
import { signPlaybackToken } from '../../shared/mux/playback-tokens.js';
import { fakeMp4, startFileServer, startWebhookReceiver, type LocalServer, type ReceivedWebhook } from '../mux/support/servers.js';

const credentials = { tokenId: 'emu-token-id', tokenSecret: 'emu-token-secret', webhookSecret: 'emu-webhook-secret' };
const video = fakeMp4(10_000, 1920, 1080, 200 * 1024);

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start<T extends LocalServer | MuxEmulator>(server: Promise<T>): Promise<T> {
  const started = await server;
  cleanups.push(() => started.close());
  return started;
}

async function setup(
  options: Partial<MuxEmulatorOptions> = {},
  respond?: Parameters<typeof startWebhookReceiver>[0],
): Promise<{ emulator: MuxEmulator; receiver: Awaited<ReturnType<typeof startWebhookReceiver>>; files: Awaited<ReturnType<typeof startFileServer>>; mux: MuxGateway }> {
  const files = await start(startFileServer(video));
  const receiver = await start(startWebhookReceiver(respond));
  const emulator = await start(
    startMuxEmulator({ ...credentials, webhookUrl: `${receiver.url}/api/webhooks/mux`, processingDelayMs: 1, webhookRetryDelaysMs: [5, 5], ...options }),
  );
  const mux = createMuxGateway(createMuxSdk(credentials, emulator.baseUrl, { maxRetries: 0 }));
  return { emulator, receiver, files, mux };
}

async function verified(webhook: ReceivedWebhook): Promise<MuxEvent> {
  const event = await verifyAndParseWebhook(webhook.body, webhook.headers as Record<string, string>, credentials.webhookSecret);
  if (event.kind === 'rejected') throw new Error(`the emulator sent an unusable event: ${JSON.stringify(event.issues)}`);
  return event;
}

const api = (emulator: MuxEmulator, path: string, init: RequestInit = {}) =>
  fetch(`${emulator.baseUrl}${path}`, {
    ...init,
    headers: { authorization: `Basic ${Buffer.from(`${credentials.tokenId}:${credentials.tokenSecret}`).toString('base64')}`, 'content-type': 'application/json', ...init.headers },
  });

describe('Mux emulator lifecycle', () => {
  it('downloads the input, then sends signed created, ready, static rendition and track events that verify', async () => {
    const { emulator, receiver, files, mux } = await setup();
    const created = await mux.createAsset({ inputUrl: `${files.url}/video.mp4?sig=1`, passthrough: 'video-1', captions: true, mp4: true });
    await emulator.whenIdle();

    expect(files.hits).toEqual(['/video.mp4?sig=1']);
    expect(emulator.assets.get(created.assetId)?.input).toMatchObject({ status: 200, bytes: video.length, container: 'mp4', error: null });
    expect(receiver.received.map((webhook) => webhook.type)).toEqual([
      'video.asset.created',
      'video.asset.ready',
      'video.asset.static_rendition.ready',
      'video.asset.track.created',
      'video.asset.track.ready',
    ]);
    const events = await Promise.all(receiver.received.map(verified));
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
    expect(events.every((event) => event.assetId === created.assetId)).toBe(true);

    const [createdEvent, readyEvent, renditionEvent, , trackReady] = events;
    expect(createdEvent).toMatchObject({ kind: 'asset', data: { status: 'preparing', passthrough: 'video-1' } });
    expect(readyEvent).toMatchObject({ kind: 'asset', data: { status: 'ready', duration: 10, aspectRatio: '16:9', passthrough: 'video-1' } });
    expect(readyEvent?.kind === 'asset' && readyEvent.data.playbackIds[0]?.id).toBe(created.asset.playbackIds[0]?.id);
    expect(renditionEvent).toMatchObject({ kind: 'static_rendition', data: { name: 'highest.mp4', status: 'ready' } });
    expect(trackReady).toMatchObject({ kind: 'track', data: { type: 'text', textSource: 'generated_vod', status: 'ready', languageCode: 'en' } });
  });

  it('serves the playback, thumbnail, MP4 and caption URLs that the video fields point at', async () => {
    const { emulator, files, mux } = await setup();
    const created = await mux.createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'video-2', captions: true, mp4: true });
    await emulator.whenIdle();
    const asset = await mux.getAsset(created.assetId);
    if (!asset) throw new Error('asset vanished');
    const fields = videoFieldsFromAsset(asset, muxUrls({ streamBaseUrl: emulator.baseUrl, imageBaseUrl: emulator.baseUrl }));
    expect(fields).toMatchObject({ status: 'ready', durationSeconds: 10, aspectRatio: '16:9' });

    const playlist = await fetch(fields.streamingUrl ?? '');
    expect(playlist.status).toBe(200);
    expect(await playlist.text()).toMatch(/^#EXTM3U/);
    const thumbnail = await fetch(fields.thumbnailUrl ?? '');
    expect(thumbnail.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await thumbnail.arrayBuffer()).subarray(0, 2).toString('hex')).toBe('ffd8');
    const mp4 = await fetch(fields.mp4Url ?? '');
    expect(Buffer.from(await mp4.arrayBuffer()).equals(video)).toBe(true);
    const vtt = await (await fetch(fields.captionsWebvttUrl ?? '')).text();
    expect(vtt).toMatch(/^WEBVTT/);
    expect(vttToSrt(vtt).split('\n\n')).toHaveLength(3);
  });

  it('errors the asset, as Mux does, when the input answers non-2xx or cannot be reached', async () => {
    const { emulator, receiver, files, mux } = await setup();
    const forbidden = await mux.createAsset({ inputUrl: `${files.url}/expired-url`, passthrough: 'video-403' });
    const unreachable = await mux.createAsset({ inputUrl: 'http://127.0.0.1:9/video.mp4', passthrough: 'video-down' });
    await emulator.whenIdle();

    for (const assetId of [forbidden.assetId, unreachable.assetId]) {
      const types = receiver.received.filter((webhook) => JSON.parse(webhook.body).object.id === assetId).map((webhook) => webhook.type);
      expect(types).toEqual(['video.asset.created', 'video.asset.errored']);
      const asset = await mux.getAsset(assetId);
      expect(asset?.status).toBe('errored');
      expect(asset?.errors).toMatchObject({ type: 'invalid_input', messages: [expect.stringContaining('could not be downloaded')] });
    }
    expect(emulator.assets.get(forbidden.assetId)?.input).toMatchObject({ status: 403, bytes: null });
    expect(emulator.assets.get(unreachable.assetId)?.input.error).toEqual(expect.any(String));
  });

  it('retries a delivery the receiver refuses, and records every attempt', async () => {
    const { emulator, receiver, files, mux } = await setup({}, ({ index }) => (index < 2 ? 503 : 200));
    await mux.createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'video-retry' });
    await emulator.whenIdle();

    const first = emulator.deliveries[0];
    expect(first?.type).toBe('video.asset.created');
    expect(first?.attempts.map((attempt) => attempt.status)).toEqual([503, 503, 200]);
    expect(first?.outcome).toBe('delivered');
    expect(receiver.received.slice(0, 3).map((webhook) => webhook.eventId)).toEqual(Array(3).fill(first?.eventId));
  });

  it('gives up after the bounded number of attempts', async () => {
    const { emulator, mux, files } = await setup({}, () => 500);
    await mux.createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'video-refused' });
    await emulator.whenIdle();
    expect(emulator.deliveries.map((delivery) => delivery.outcome)).toEqual(['failed', 'failed']);
    expect(emulator.deliveries[0]?.attempts).toHaveLength(3);
  });

  it('records events without sending them until a webhook URL is set', async () => {
    const files = await start(startFileServer(video));
    const receiver = await start(startWebhookReceiver());
    const emulator = await start(startMuxEmulator({ ...credentials, processingDelayMs: 1 }));
    const mux = createMuxGateway(createMuxSdk(credentials, emulator.baseUrl, { maxRetries: 0 }));
    await mux.createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'video-early' });
    await emulator.whenIdle();
    expect(emulator.deliveries.map((delivery) => delivery.outcome)).toEqual(['no_webhook_url', 'no_webhook_url']);

    emulator.setWebhookUrl(receiver.url);
    await mux.createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'video-late' });
    await emulator.whenIdle();
    expect(receiver.received.map((webhook) => webhook.type)).toEqual(['video.asset.created', 'video.asset.ready']);
  });

  it('sends a signature that a receiver with a skewed clock refuses as stale', async () => {
    const { emulator, receiver, files, mux } = await setup({ now: () => Date.now() - 10 * 60_000 });
    await mux.createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'video-stale' });
    await emulator.whenIdle();
    const error = await verified(receiver.received[0] as ReceivedWebhook).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WebhookSignatureError);
    expect((error as WebhookSignatureError).reason).toBe('stale');
  });
});

describe('Mux emulator faults', () => {
  it('delivers an event twice with the same id', async () => {
    const { emulator, receiver, files, mux } = await setup();
    emulator.faults.duplicateNextEvents(1);
    await mux.createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'video-dup' });
    await emulator.whenIdle();
    expect(receiver.received.map((webhook) => webhook.type)).toEqual(['video.asset.created', 'video.asset.created', 'video.asset.ready']);
    expect(receiver.received[0]?.eventId).toBe(receiver.received[1]?.eventId);
    expect(emulator.deliveries.map((delivery) => delivery.duplicate)).toEqual([false, true, false]);
  });

  it('delivers ready before created when asked, each with the asset as it was at that step', async () => {
    const { emulator, receiver, files, mux } = await setup();
    emulator.faults.reorderNextAssets(1);
    await mux.createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'video-reordered' });
    await emulator.whenIdle();
    const events = await Promise.all(receiver.received.map(verified));
    expect(events.map((event) => event.receivedType)).toEqual(['video.asset.ready', 'video.asset.created']);
    expect(events.map((event) => event.kind === 'asset' && event.data.status)).toEqual(['ready', 'preparing']);
  });
});

describe('Mux emulator API', () => {
  it('answers like Mux for missing credentials, bad JSON and invalid combinations', async () => {
    const { emulator, files } = await setup();
    const unauthenticated = await fetch(`${emulator.baseUrl}/video/v1/assets`);
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toEqual({ error: { type: 'unauthorized', messages: ['Unauthorized request'] } });

    const badJson = await api(emulator, '/video/v1/assets', { method: 'POST', body: '{not json' });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: { type: 'invalid_parameters' } });

    const combined = await api(emulator, '/video/v1/assets', {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ url: `${files.url}/video.mp4` }], mp4_support: 'standard', static_renditions: [{ resolution: 'highest' }] }),
    });
    expect(combined.status).toBe(400);
    expect(((await combined.json()) as { error: { messages: string[] } }).error.messages).toEqual([expect.stringContaining('mp4_support cannot be combined')]);

    const badLimit = await api(emulator, '/video/v1/assets?limit=500');
    expect(badLimit.status).toBe(400);
    expect(emulator.assets.size).toBe(0);
  });

  it('throttles every asset call for a window, with the seconds left as Retry-After, then serves again', async () => {
    let now = Date.parse('2026-12-03T12:00:00Z');
    const { emulator, files, mux } = await setup({ now: () => now });
    emulator.faults.throttleFor(2_500);
    const listed = await api(emulator, '/video/v1/assets');
    expect([listed.status, listed.headers.get('retry-after')]).toEqual([429, '3']);
    now += 1_000;
    await expect(mux.createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'video-throttled' })).rejects.toMatchObject({ status: 429, retryAfterMs: 2_000 });
    now += 1_500;
    expect((await api(emulator, '/video/v1/assets')).status).toBe(200);
    expect(emulator.requests.map((request) => request.status)).toEqual([429, 429, 200]);
  });

  it('is down for a window: every API call refused (a 5xx without Retry-After, or a dropped connection), then serves again', async () => {
    let now = Date.parse('2026-12-03T12:00:00Z');
    const { emulator, files, mux } = await setup({ now: () => now });
    emulator.faults.outageFor(2_000);
    const listed = await api(emulator, '/video/v1/assets');
    expect([listed.status, listed.headers.get('retry-after')]).toEqual([503, null]);
    await expect(mux.createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'video-outage' })).rejects.toMatchObject({ status: 503 });
    emulator.faults.outageFor(1_000, { connection: 'reset' });
    await expect(api(emulator, '/video/v1/assets')).rejects.toThrow();
    now += 1_000;
    expect((await api(emulator, '/video/v1/assets')).status).toBe(200);
    expect(emulator.assets.size).toBe(0);
    expect(emulator.requests.map((request) => request.status).filter((status) => status !== 503)).toEqual([null, 200]);
  });

  it('deletes an asset: 204, a deleted event, then 404 and gone from the list', async () => {
    const { emulator, receiver, files, mux } = await setup();
    const created = await mux.createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'video-delete' });
    await emulator.whenIdle();
    const deleted = await api(emulator, `/video/v1/assets/${created.assetId}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    await emulator.whenIdle();
    expect(receiver.received.at(-1)?.type).toBe('video.asset.deleted');
    expect(await mux.getAsset(created.assetId)).toBeNull();
    expect((await mux.listAssets()).assets).toEqual([]);
  });

  it('serves a public playback id with or without a token, and a signed one only with a valid token', async () => {
    const key = await generateSigningKey();
    const { emulator, files } = await setup({ signingKeys: [{ keyId: key.keyId, publicKey: key.publicKeyPem }] });
    const response = await api(emulator, '/video/v1/assets', {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ url: `${files.url}/video.mp4` }], playback_policies: ['public', 'signed'] }),
    });
    const { data } = (await response.json()) as { data: { playback_ids: Array<{ id: string; policy: string }> } };
    await emulator.whenIdle();
    const publicId = data.playback_ids.find((playbackId) => playbackId.policy === 'public')?.id as string;
    const signedId = data.playback_ids.find((playbackId) => playbackId.policy === 'signed')?.id as string;
    const status = async (path: string) => (await fetch(`${emulator.baseUrl}${path}`)).status;
    const signing = parseSigningKey(key.keyId, key.privateKeyBase64, 'the test');
    const token = (sub: string, aud: 'v' | 't') => signPlaybackToken(signing, { sub, aud, exp: Math.floor(Date.now() / 1000) + 60 });
    expect(await status(`/${publicId}.m3u8`)).toBe(200);
    expect(await status(`/${publicId}.m3u8?token=garbage`)).toBe(200);
    expect(await status(`/${signedId}.m3u8`)).toBe(403);
    expect(await status(`/${signedId}.m3u8?token=${token(signedId, 'v')}`)).toBe(200);
    expect(await status(`/${signedId}/thumbnail.jpg?token=${token(signedId, 't')}`)).toBe(200);
    expect(await status(`/${signedId}/thumbnail.jpg?token=${token(signedId, 'v')}`)).toBe(403);
    expect(await status(`/${signedId}.m3u8?token=${token(publicId, 'v')}`)).toBe(403);
    // Without a registered key nothing opens a signed id.
    const { emulator: keyless, files: keylessFiles } = await setup();
    const keylessAsset = await api(keyless, '/video/v1/assets', { method: 'POST', body: JSON.stringify({ inputs: [{ url: `${keylessFiles.url}/video.mp4` }], playback_policies: ['signed'] }) });
    const keylessId = ((await keylessAsset.json()) as { data: { playback_ids: Array<{ id: string }> } }).data.playback_ids[0]?.id as string;
    await keyless.whenIdle();
    expect((await fetch(`${keyless.baseUrl}/${keylessId}.m3u8?token=${token(keylessId, 'v')}`)).status).toBe(403);
  });

  it('answers 412 for media of an asset that is not ready and 404 for an unknown playback id', async () => {
    const { emulator, mux } = await setup({ processingDelayMs: 200 });
    const created = await mux.createAsset({ inputUrl: 'http://127.0.0.1:9/never', passthrough: 'video-slow' });
    const playbackId = created.asset.playbackIds[0]?.id;
    expect((await fetch(`${emulator.baseUrl}/${playbackId}.m3u8`)).status).toBe(412);
    expect((await fetch(`${emulator.baseUrl}/unknownplaybackid.m3u8`)).status).toBe(404);
  });

  it('keeps any passthrough of up to 255 characters, as given, in the asset, the list and every webhook, and refuses a longer one', async () => {
    const { emulator, receiver, files } = await setup();
    const start = `${'é'.repeat(100)} .:/?#\u0000 `;
    const passthrough = start + 'x'.repeat(255 - start.length);
    const create = (value: string) =>
      api(emulator, '/video/v1/assets', { method: 'POST', body: JSON.stringify({ inputs: [{ url: `${files.url}/video.mp4` }], playback_policies: ['public'], passthrough: value }) });
    const created = await create(passthrough);
    expect(created.status).toBe(201);
    expect(((await created.json()) as { data: { passthrough: string } }).data.passthrough).toBe(passthrough);
    await emulator.whenIdle();
    const listed = (await (await api(emulator, '/video/v1/assets')).json()) as { data: { passthrough: string }[] };
    expect(listed.data.map((asset) => asset.passthrough)).toEqual([passthrough]);
    expect(receiver.received.map((webhook) => webhook.type)).toEqual(['video.asset.created', 'video.asset.ready']);
    for (const webhook of receiver.received) expect((JSON.parse(webhook.body) as { data: { passthrough: string } }).data.passthrough).toBe(passthrough);

    expect((await create('x'.repeat(256))).status).toBe(400);
  });

  it('changes a passthrough on PATCH, as another user of the environment may, and sends video.asset.updated', async () => {
    const { emulator, receiver, files, mux } = await setup();
    const created = await mux.createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'video-original' });
    await emulator.whenIdle();
    const patched = await api(emulator, `/video/v1/assets/${created.assetId}`, { method: 'PATCH', body: JSON.stringify({ passthrough: 'someone-else' }) });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { data: { passthrough: string } }).data.passthrough).toBe('someone-else');
    await emulator.whenIdle();
    expect((await mux.getAsset(created.assetId))?.passthrough).toBe('someone-else');
    const updated = receiver.received.at(-1);
    expect(updated?.type).toBe('video.asset.updated');
    expect(await verified(updated!)).toMatchObject({ kind: 'asset', data: { passthrough: 'someone-else' } });
    const refused = await api(emulator, `/video/v1/assets/${created.assetId}`, { method: 'PATCH', body: JSON.stringify({ passthrough: 'y'.repeat(256) }) });
    expect(refused.status).toBe(400);
  });

  it('reports the inputs an asset was created from (input-info), with what the download found', async () => {
    const { emulator, files, mux } = await setup();
    const created = await mux.createAsset({ inputUrl: `${files.url}/video.mp4?X-Amz-Signature=abc`, passthrough: 'video-inputs' });
    await emulator.whenIdle();
    const info = await api(emulator, `/video/v1/assets/${created.assetId}/input-info`);
    expect(info.status).toBe(200);
    expect(await info.json()).toEqual({ data: [{ settings: { url: `${files.url}/video.mp4?X-Amz-Signature=abc` }, file: { container_format: 'mp4' } }] });
    expect((await api(emulator, '/video/v1/assets/unknown/input-info')).status).toBe(404);
  });
});
