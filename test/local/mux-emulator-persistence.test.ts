/**
 * The Mux emulator's state file (local/mux-emulator/persistence.ts): an emulator started again on the file of one
 * that stopped knows its assets — ready ones still play, deleted ones stay deleted — and an asset whose events were
 * not all delivered before the stop goes through its lifecycle again, so its webhooks reach the receiver.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMuxGateway, createMuxSdk } from '../../shared/mux/client.js';
import { startMuxEmulator, type MuxEmulator } from '../../local/mux-emulator/server.js';
import { fakeMp4, startFileServer, startWebhookReceiver } from '../mux/support/servers.js';

const credentials = { tokenId: 'emu-token-id', tokenSecret: 'emu-token-secret', webhookSecret: 'emu-webhook-secret' };
const video = fakeMp4(10_000, 1920, 1080, 16 * 1024);

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function stateFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'reelay-mux-state-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'mux', 'assets.json');
}

async function started(file: string, webhookUrl: string | null): Promise<MuxEmulator> {
  const emulator = await startMuxEmulator({ ...credentials, webhookUrl, processingDelayMs: 1, webhookRetryDelaysMs: [5], stateFile: file });
  const close = emulator.close.bind(emulator);
  let closed = false;
  const stop = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  cleanups.push(stop);
  return { ...emulator, close: stop };
}

const gateway = (emulator: MuxEmulator) => createMuxGateway(createMuxSdk(credentials, emulator.baseUrl, { maxRetries: 0 }));

describe('Mux emulator state file', () => {
  it('an emulator started again knows the assets of the last run: ready ones play, deleted ones stay deleted', async () => {
    const file = await stateFile();
    const files = await startFileServer(video);
    cleanups.push(() => files.close());
    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());
    const first = await started(file, `${receiver.url}/hook`);
    const kept = await gateway(first).createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'kept' });
    const gone = await gateway(first).createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'gone' });
    await first.whenIdle();
    await gateway(first).deleteAsset(gone.assetId);
    await first.whenIdle();
    const before = await gateway(first).getAsset(kept.assetId);
    await first.close();

    const second = await started(file, `${receiver.url}/hook`);
    const after = await gateway(second).getAsset(kept.assetId);
    expect(after).toEqual(before);
    expect(after?.status).toBe('ready');
    expect(await gateway(second).getAsset(gone.assetId)).toBeNull();
    const thumbnail = await fetch(`${second.baseUrl}/${after?.playbackIds[0]?.id}/thumbnail.jpg`);
    expect(thumbnail.status).toBe(200);
    // The source is fetched again from its input URL (the bytes kept in memory went with the first emulator).
    const source = await fetch(`${second.baseUrl}/${after?.playbackIds[0]?.id}/source`);
    expect(Buffer.from(await source.arrayBuffer()).equals(video)).toBe(true);
    expect((await gateway(second).listAssets({ limit: 10 })).assets.map((asset) => asset.id)).toEqual([kept.assetId]);
  });

  it('an asset whose events were not delivered before the stop goes through its lifecycle again, once a webhook URL is set', async () => {
    const file = await stateFile();
    const files = await startFileServer(video);
    cleanups.push(() => files.close());
    const down = await startWebhookReceiver(() => 503);
    cleanups.push(() => down.close());
    const first = await started(file, `${down.url}/hook`);
    const created = await gateway(first).createAsset({ inputUrl: `${files.url}/video.mp4`, passthrough: 'undelivered' });
    await first.whenIdle();
    expect(down.received.map((webhook) => webhook.status)).toContain(503);
    await first.close();

    const up = await startWebhookReceiver();
    cleanups.push(() => up.close());
    const second = await started(file, null);
    await second.whenIdle();
    expect(up.received).toEqual([]);
    second.setWebhookUrl(`${up.url}/hook`);
    await second.whenIdle();
    const types = up.received.filter((webhook) => JSON.parse(webhook.body).object.id === created.assetId).map((webhook) => webhook.type);
    expect(types).toEqual(['video.asset.created', 'video.asset.ready']);
    expect((await gateway(second).getAsset(created.assetId))?.status).toBe('ready');

    // Delivered this time: a third start sends nothing again.
    await second.close();
    const third = await started(file, `${up.url}/hook`);
    await third.whenIdle();
    expect(up.received).toHaveLength(2);
  });
});
