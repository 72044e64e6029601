/**
 * The Video API's asset routes, behind HTTP Basic auth: POST/GET /video/v1/assets (create; list newest first with
 * `next_cursor`), GET/PATCH/DELETE /video/v1/assets/{id} and GET /video/v1/assets/{id}/input-info. `passthrough` is
 * kept as given and can be changed by PATCH (which sends `video.asset.updated`), as Mux does. Create faults (429,
 * 500, a hang, a delay) and delete faults are taken from the store here, and so are the windows in which every call
 * is throttled (429) or refused (an outage: a 5xx, or a dropped connection).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MuxHttpError, readJson, sendJson } from './http.js';
import type { AssetLifecycle } from './lifecycle.js';
import { inputInfo, snapshot, type EmulatorStore } from './store.js';
import type { ApiRequestRecord } from './types.js';
import { isPassthrough, validateCreate } from './validation.js';
import { prepareEvent, type WebhookSender } from './webhooks.js';

export interface AssetsRouteContext {
  readonly store: EmulatorStore;
  readonly lifecycle: AssetLifecycle;
  readonly webhooks: WebhookSender;
  readonly now: () => number;
  /** `Basic base64(tokenId:tokenSecret)`. */
  readonly expectedAuthorization: string;
}

export async function handleAssetsApi(
  context: AssetsRouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  record: ApiRequestRecord,
): Promise<void> {
  const { store, lifecycle, webhooks, now } = context;
  if (store.outage.until > now()) {
    record.status = store.outage.reset ? null : store.outage.status;
    if (store.outage.reset) {
      req.socket.destroy();
      return;
    }
    sendJson(res, store.outage.status, { error: { type: 'service_unavailable', messages: ['Emulated outage'] } });
    return;
  }
  if (req.headers.authorization !== context.expectedAuthorization) throw new MuxHttpError(401, 'unauthorized', ['Unauthorized request']);
  const method = req.method ?? 'GET';
  const path = url.pathname.replace(/\/+$/, '');
  const throttledMs = store.throttledUntil - now();
  if (throttledMs > 0) {
    sendJson(res, 429, { error: { type: 'too_many_requests', messages: ['Emulated throttle'] } }, { 'retry-after': String(Math.ceil(throttledMs / 1000)) });
    record.status = 429;
    return;
  }
  const assetMatch = /^\/video\/v1\/assets\/([^/]+)$/.exec(path);
  const inputInfoMatch = /^\/video\/v1\/assets\/([^/]+)\/input-info$/.exec(path);

  if (path === '/video/v1/assets' && method === 'POST') {
    const fault = store.createFaults.shift();
    if (fault?.kind === 'status') {
      const headers: Record<string, string> = fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      const type = fault.status === 429 ? 'too_many_requests' : 'internal_server_error';
      sendJson(res, fault.status, { error: { type, messages: [`Emulated fault: ${fault.status}`] } }, headers);
      record.status = fault.status;
      return;
    }
    const body = await readJson(req);
    const plan = validateCreate(body);
    if (fault?.kind === 'hang') {
      if (fault.createAsset) lifecycle.create(body, plan);
      store.hanging.add(res);
      record.status = null;
      return;
    }
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    const asset = lifecycle.create(body, plan);
    sendJson(res, 201, { data: asset.json });
    record.status = 201;
    return;
  }
  if (path === '/video/v1/assets' && method === 'GET') {
    sendJson(res, 200, store.listAssets(url));
    record.status = 200;
    return;
  }
  if (assetMatch && method === 'GET') {
    sendJson(res, 200, { data: store.liveAsset(decodeURIComponent(assetMatch[1] ?? '')).json });
    record.status = 200;
    return;
  }
  if (inputInfoMatch && method === 'GET') {
    sendJson(res, 200, { data: inputInfo(store.liveAsset(decodeURIComponent(inputInfoMatch[1] ?? ''))) });
    record.status = 200;
    return;
  }
  if (assetMatch && method === 'PATCH') {
    const asset = store.liveAsset(decodeURIComponent(assetMatch[1] ?? ''));
    const body = await readJson(req);
    if (body.passthrough !== undefined) {
      if (!isPassthrough(body.passthrough)) throw new MuxHttpError(400, 'invalid_parameters', ['passthrough must be a string of at most 255 characters']);
      asset.json.passthrough = body.passthrough;
      store.persist();
    }
    store.track(webhooks.deliver(prepareEvent('video.asset.updated', asset, snapshot(asset), now)));
    sendJson(res, 200, { data: asset.json });
    record.status = 200;
    return;
  }
  if (assetMatch && method === 'DELETE') {
    const failure = store.deleteFaults.shift();
    if (failure !== undefined) {
      sendJson(res, failure, { error: { type: failure === 429 ? 'too_many_requests' : 'internal_server_error', messages: [`Emulated fault: ${failure}`] } });
      record.status = failure;
      return;
    }
    const asset = store.liveAsset(decodeURIComponent(assetMatch[1] ?? ''));
    asset.deleted = true;
    store.persist();
    store.track(webhooks.deliver(prepareEvent('video.asset.deleted', asset, snapshot(asset), now)));
    res.writeHead(204).end();
    record.status = 204;
    return;
  }
  throw new MuxHttpError(404, 'not_found', [`No route for ${method} ${path}`]);
}
