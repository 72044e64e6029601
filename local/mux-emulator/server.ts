/**
 * A Mux emulator on loopback: the Video API paths the SDK calls, the asset lifecycle with signed webhooks, and the
 * stream/image URLs (the SDK and reelay point everything at one origin when MUX_BASE_URL is set). This file only
 * wires the parts together and serves them; each part is a module of its own:
 *
 * - `assets-routes.ts` — the API: /video/v1/assets[/{id}][/input-info], HTTP Basic auth, Mux-shaped errors;
 *   `validation.ts` — what a create may ask for, answered as Mux answers it.
 * - `lifecycle.ts` — an asset after its create: the input download, then the events Mux sends, in order.
 * - `webhooks.ts` — signed deliveries, retried on a non-2xx or timeout, every attempt recorded.
 * - `playback-routes.ts` — the stream/image paths (HLS, MP4, thumbnail, text tracks); `media.ts` — what they serve;
 *   `playback.ts` — the signed-playback gate (a valid `?token=` for a signed playback id).
 * - `store.ts` — the state: assets, recorded deliveries and requests, queued faults, work in flight;
 *   `persistence.ts` — the assets kept in a file across restarts (`stateFile`).
 * - `types.ts` — the public shape and the wire shapes; `http.ts` — response helpers and ids.
 */
import { createServer } from 'node:http';
import { listenOn } from '../listen.js';
import { silentLogger } from '../../shared/log.js';
import { handleAssetsApi } from './assets-routes.js';
import { errorMessage, MuxHttpError, sendJson } from './http.js';
import { AssetLifecycle } from './lifecycle.js';
import { createPlaybackGate } from './playback.js';
import { handlePlayback } from './playback-routes.js';
import { AssetFile } from './persistence.js';
import { EmulatorStore } from './store.js';
import type { ApiRequestRecord, MuxEmulator, MuxEmulatorOptions } from './types.js';
import { WebhookSender } from './webhooks.js';

export type * from './types.js';

export async function startMuxEmulator(options: MuxEmulatorOptions): Promise<MuxEmulator> {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const file = options.stateFile === undefined ? null : new AssetFile(options.stateFile);
  const restored = file?.load() ?? [];
  const store = new EmulatorStore(logger, file);
  store.clock = now;
  store.restore(restored.map(({ asset }) => asset));
  const playbackGate = createPlaybackGate(options.signingKeys ?? [], now);
  const webhooks = new WebhookSender(
    store,
    { secret: options.webhookSecret, retryDelaysMs: options.webhookRetryDelaysMs ?? [50, 200, 500], timeoutMs: options.webhookTimeoutMs ?? 5_000, now, logger },
    options.webhookUrl ?? null,
  );
  const lifecycle = new AssetLifecycle(store, webhooks, {
    delayMs: options.processingDelayMs ?? 50,
    retainInputBytes: options.retainInputBytes ?? 64 * 1024 * 1024,
    inputFetchTimeoutMs: options.inputFetchTimeoutMs ?? 60_000,
    now,
    logger,
  });
  const routes = {
    store,
    lifecycle,
    webhooks,
    now,
    expectedAuthorization: `Basic ${Buffer.from(`${options.tokenId}:${options.tokenSecret}`).toString('base64')}`,
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const isApi = url.pathname.startsWith('/video/');
    const record: ApiRequestRecord = { method: req.method ?? 'GET', path: `${url.pathname}${url.search}`, status: null };
    if (isApi) store.requests.push(record);
    const work = isApi ? handleAssetsApi(routes, req, res, url, record) : handlePlayback(store, playbackGate, res, url);
    work.catch((error: unknown) => {
      if (error instanceof MuxHttpError) {
        record.status = error.status;
        sendJson(res, error.status, { error: { type: error.type, messages: error.messages } });
        return;
      }
      logger.error('mux_emulator.request.failed', { path: url.pathname, error: errorMessage(error) });
      record.status = 500;
      if (!res.headersSent) sendJson(res, 500, { error: { type: 'internal_server_error', messages: ['Emulator failure'] } });
    });
  });

  const { origin: baseUrl } = await listenOn(server, options.port ?? 0, options.host ?? '127.0.0.1');
  logger.info('mux_emulator.started', { baseUrl, webhookUrl: webhooks.webhookUrl, restoredAssets: restored.length });
  // Unfinished lifecycles of the last run go on once their events have somewhere to go.
  let toResume = restored.filter(({ resume }) => resume).map(({ asset }) => asset);
  const resumeIfReady = () => {
    if (webhooks.webhookUrl === null) return;
    for (const asset of toResume) lifecycle.resume(asset);
    toResume = [];
  };
  resumeIfReady();

  return {
    baseUrl,
    faults: store.faults,
    assets: store.assets,
    deliveries: store.deliveries,
    requests: store.requests,
    setWebhookUrl(url) {
      webhooks.webhookUrl = url;
      resumeIfReady();
    },
    whenIdle: () => store.whenIdle(),
    async close() {
      store.shutdown.abort();
      for (const res of store.hanging) res.destroy();
      store.hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.whenIdle();
    },
  };
}
