/**
 * A Mux emulator on loopback: the Video API paths the SDK calls, the asset lifecycle with signed webhooks, and the
 * stream/image URLs (the SDK and reelay point everything at one origin when MUX_BASE_URL is set).
 *
 * - API: POST/GET/PATCH/DELETE /video/v1/assets[/{id}] and GET /video/v1/assets/{id}/input-info with HTTP Basic
 *   auth, JSON envelopes `{ data }` and Mux-shaped errors `{ error: { type, messages } }`; list is newest first with
 *   `next_cursor`. `passthrough` is kept as given (a string of at most 255 characters, anything in it), echoed in the
 *   asset and every webhook, and can be changed by PATCH (which sends `video.asset.updated`), as Mux does — so a test
 *   can make the "foreign" asset another user of the same Mux environment could make.
 * - Lifecycle: after a create it really downloads the input URL (counting the bytes), then sends
 *   `video.asset.created`, `video.asset.ready` (playback id, duration, aspect ratio) — or `video.asset.errored` when
 *   the input cannot be downloaded — then `video.asset.static_rendition.ready` when an MP4 was asked for and
 *   `video.asset.track.created` / `.ready` for generated subtitles. Events of one asset go out in order, one at a
 *   time; each is retried on a non-2xx or timeout like Mux does (bounded, with short delays).
 * - Media: `/{playbackId}.m3u8`, `/{playbackId}/highest.mp4`, `/{playbackId}/thumbnail.jpg`,
 *   `/{playbackId}/text/{trackId}.vtt|.txt`. It does not transcode (see media.ts). Signed playback ids need a valid
 *   `?token=` (playback.ts).
 * - Faults: 429/500/hanging creates, duplicate and out-of-order deliveries; every delivery attempt is recorded.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../../shared/log.js';
import {
  cannedCaptionsVtt,
  cannedTranscript,
  hlsMasterPlaylist,
  hlsMediaPlaylist,
  mediaFacts,
  placeholderThumbnail,
} from './media.js';
import { createPlaybackGate, type EmulatorSigningKey } from './playback.js';
import { muxSignatureHeader } from './signing.js';

export interface MuxEmulatorOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Where signed webhooks go; without one, events are recorded but not sent. */
  readonly webhookUrl?: string | null;
  readonly webhookSecret: string;
  readonly tokenId: string;
  readonly tokenSecret: string;
  /** Pause between lifecycle steps, ms. Default 50. */
  readonly processingDelayMs?: number;
  /** Delays before each webhook retry, ms; attempts = length + 1. Default [50, 200, 500]. */
  readonly webhookRetryDelaysMs?: readonly number[];
  /** Per delivery attempt, ms (Mux: 5 s). */
  readonly webhookTimeoutMs?: number;
  readonly inputFetchTimeoutMs?: number;
  /** Input bytes kept in memory to serve back as the MP4 (larger inputs are re-fetched from their URL). Default 64 MiB. */
  readonly retainInputBytes?: number;
  /** URL signing keys whose tokens open signed playback ids (playback.ts). Default none: signed ids answer 403. */
  readonly signingKeys?: readonly EmulatorSigningKey[];
  /** The clock that signs webhooks and checks playback tokens, ms. */
  readonly now?: () => number;
  readonly logger?: Logger;
}

export interface InputDownload {
  readonly url: string;
  status: number | null;
  /** Bytes actually received. */
  bytes: number | null;
  contentType: string | null;
  container: string | null;
  error: string | null;
}

export interface EmulatedAsset {
  readonly id: string;
  /** The asset as the API returns it (snake_case). */
  readonly json: AssetJson;
  /** The create request body as received. */
  readonly request: CreateAssetBody;
  readonly input: InputDownload;
  deleted: boolean;
}

export interface DeliveryAttempt {
  readonly at: Date;
  /** The receiver's HTTP status; null when it could not be reached or timed out. */
  readonly status: number | null;
  readonly error?: string;
  readonly signature: string;
}

export interface WebhookDelivery {
  readonly eventId: string;
  readonly type: string;
  readonly assetId: string;
  readonly body: string;
  /** A copy sent by the duplicate-delivery fault. */
  readonly duplicate: boolean;
  readonly attempts: DeliveryAttempt[];
  outcome: 'pending' | 'delivered' | 'failed' | 'no_webhook_url';
}

export interface ApiRequestRecord {
  readonly method: string;
  readonly path: string;
  /** Null for a request the hang fault never answered. */
  status: number | null;
}

export type CreateFault = { readonly kind: 'status'; readonly status: number; readonly retryAfterSeconds?: number } | { readonly kind: 'hang'; readonly createAsset: boolean };

export interface MuxEmulatorFaults {
  /** The next `count` creates answer 429 with `retry-after`. */
  rateLimitNextCreates(count: number, retryAfterSeconds?: number): void;
  /** The next `count` creates answer `status` (default 500) with a Mux error body. */
  failNextCreates(count: number, status?: number): void;
  /**
   * The next `count` creates never get an answer (the client times out). With `createAsset`, the asset is created
   * anyway, as when Mux did the work but the response was lost.
   */
  hangNextCreates(count: number, options?: { createAsset?: boolean }): void;
  /** Each of the next `count` events is delivered twice (same id). */
  duplicateNextEvents(count: number): void;
  /** For the next `count` assets, `video.asset.ready` (or `errored`) is delivered before `video.asset.created`. */
  reorderNextAssets(count: number): void;
  /** Clears every pending fault. */
  reset(): void;
}

export interface MuxEmulator {
  readonly baseUrl: string;
  readonly faults: MuxEmulatorFaults;
  /** Assets by id, deleted ones included. */
  readonly assets: ReadonlyMap<string, EmulatedAsset>;
  readonly deliveries: readonly WebhookDelivery[];
  readonly requests: readonly ApiRequestRecord[];
  setWebhookUrl(url: string | null): void;
  /** Resolves when every asset's lifecycle and every delivery so far has finished. */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Wire shapes

interface PlaybackIdJson {
  id: string;
  policy: string;
}

interface TrackJson {
  id: string;
  type: 'video' | 'audio' | 'text';
  status: 'preparing' | 'ready' | 'errored';
  duration?: number;
  max_width?: number;
  max_height?: number;
  max_frame_rate?: number;
  max_channels?: number;
  text_type?: 'subtitles';
  text_source?: 'generated_vod';
  language_code?: string;
  name?: string;
}

interface RenditionJson {
  id: string;
  name: string;
  ext: 'mp4' | 'm4a';
  resolution: string;
  status: 'preparing' | 'ready' | 'errored';
  type: 'standard';
}

export interface AssetJson {
  id: string;
  status: 'preparing' | 'ready' | 'errored';
  created_at: string;
  playback_ids: PlaybackIdJson[];
  passthrough?: string;
  mp4_support: string;
  master_access: 'none';
  encoding_tier: 'baseline' | 'smart';
  video_quality: string;
  normalize_audio?: boolean;
  max_resolution_tier: '1080p';
  ingest_type: 'on_demand_url';
  progress: { state: 'ingesting' | 'transcoding' | 'completed' | 'errored'; progress: number };
  tracks: TrackJson[];
  static_renditions?: { files: RenditionJson[] };
  duration?: number;
  aspect_ratio?: string;
  resolution_tier?: string;
  max_stored_resolution?: string;
  errors?: { type: string; messages: string[] };
  test: boolean;
}

interface InputJson {
  url?: unknown;
  generated_subtitles?: unknown;
}

export interface CreateAssetBody {
  inputs?: unknown;
  input?: unknown;
  playback_policies?: unknown;
  playback_policy?: unknown;
  passthrough?: unknown;
  normalize_audio?: unknown;
  video_quality?: unknown;
  static_renditions?: unknown;
  mp4_support?: unknown;
  test?: unknown;
}

interface AssetPlan {
  readonly inputUrl: string;
  readonly subtitles: { language_code: string; name: string } | null;
  readonly renditions: readonly string[];
}

class MuxHttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly messages: string[],
  ) {
    super(messages.join('; '));
  }
}

const staticResolutions = ['highest', 'audio-only', '2160p', '1440p', '1080p', '720p', '540p', '480p', '360p', '270p'];
const subtitleLanguages = ['en', 'es', 'it', 'pt', 'de', 'fr', 'pl', 'ru', 'nl', 'ca', 'tr', 'sv', 'uk', 'no', 'fi', 'sk', 'el', 'cs', 'hr', 'da', 'ro', 'bg', 'auto'];
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Mux ids are long base62 strings. */
function muxId(length = 44): string {
  let id = '';
  for (let index = 0; index < length; index += 1) id += alphabet[randomInt(alphabet.length)];
  return id;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

// ---------------------------------------------------------------------------------------------------------------
// Validation, as Mux answers it: 400 invalid_parameters with one message per problem

/** Mux: "Arbitrary user-supplied metadata set for the asset. Max 255 characters." */
const isPassthrough = (value: unknown): value is string => typeof value === 'string' && value.length <= 255;

function validateCreate(body: CreateAssetBody): AssetPlan {
  const problems: string[] = [];
  const inputs = body.inputs ?? body.input;
  let inputUrl = '';
  let subtitles: AssetPlan['subtitles'] = null;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    problems.push('inputs is required and must contain at least one input');
  } else {
    const first = inputs[0] as InputJson;
    if (typeof first?.url !== 'string' || !/^https?:\/\//i.test(first.url) || !URL.canParse(first.url)) {
      problems.push('inputs[0].url must be a valid http or https URL');
    } else {
      inputUrl = first.url;
    }
    if (first?.generated_subtitles !== undefined) {
      const requested = first.generated_subtitles;
      const valid =
        Array.isArray(requested) &&
        requested.every(
          (entry: unknown) =>
            typeof entry === 'object' && entry !== null && subtitleLanguages.includes(String((entry as { language_code?: unknown }).language_code ?? 'en')),
        );
      if (!valid) problems.push(`inputs[0].generated_subtitles[].language_code must be one of ${subtitleLanguages.join(', ')}`);
      else if (requested.length > 0) {
        const entry = requested[0] as { language_code?: string; name?: string };
        subtitles = { language_code: entry.language_code ?? 'en', name: entry.name ?? 'English CC' };
      }
    }
  }
  const policies = body.playback_policies ?? body.playback_policy ?? [];
  if (!Array.isArray(policies) || policies.some((policy) => !['public', 'signed', 'drm'].includes(String(policy)))) {
    problems.push('playback_policies must be an array of public, signed or drm');
  }
  if (body.passthrough !== undefined && !isPassthrough(body.passthrough)) {
    problems.push('passthrough must be a string of at most 255 characters');
  }
  if (body.normalize_audio !== undefined && typeof body.normalize_audio !== 'boolean') problems.push('normalize_audio must be a boolean');
  if (body.video_quality !== undefined && !['basic', 'plus', 'premium'].includes(String(body.video_quality))) {
    problems.push('video_quality must be one of basic, plus, premium');
  }
  const renditions: string[] = [];
  if (body.static_renditions !== undefined) {
    const requested = body.static_renditions;
    if (!Array.isArray(requested)) {
      problems.push('static_renditions must be an array');
    } else {
      for (const entry of requested as unknown[]) {
        const resolution = String((entry as { resolution?: unknown } | null)?.resolution);
        if (staticResolutions.includes(resolution)) renditions.push(resolution);
        else problems.push(`static_renditions[].resolution must be one of ${staticResolutions.join(', ')}`);
      }
    }
    if (body.mp4_support !== undefined && body.mp4_support !== 'none') {
      problems.push('mp4_support cannot be combined with static_renditions; use static_renditions only');
    }
  }
  if (problems.length > 0) throw new MuxHttpError(400, 'invalid_parameters', problems);
  return { inputUrl, subtitles, renditions };
}

// ---------------------------------------------------------------------------------------------------------------

export async function startMuxEmulator(options: MuxEmulatorOptions): Promise<MuxEmulator> {
  const logger = options.logger ?? silentLogger;
  const delayMs = options.processingDelayMs ?? 50;
  const retryDelays = options.webhookRetryDelaysMs ?? [50, 200, 500];
  const webhookTimeoutMs = options.webhookTimeoutMs ?? 5_000;
  const retainLimit = options.retainInputBytes ?? 64 * 1024 * 1024;
  const now = options.now ?? Date.now;
  const playbackGate = createPlaybackGate(options.signingKeys ?? [], now);
  const expectedAuthorization = `Basic ${Buffer.from(`${options.tokenId}:${options.tokenSecret}`).toString('base64')}`;

  let webhookUrl = options.webhookUrl ?? null;
  const assets = new Map<string, EmulatedAsset>();
  const ordered: EmulatedAsset[] = [];
  const byPlaybackId = new Map<string, EmulatedAsset>();
  const retainedInput = new Map<string, Buffer>();
  const deliveries: WebhookDelivery[] = [];
  const requests: ApiRequestRecord[] = [];
  const pending = new Set<Promise<void>>();
  const hanging = new Set<ServerResponse>();
  // Aborts downloads and deliveries in flight when the emulator closes.
  const shutdown = new AbortController();
  const until = (ms: number) => AbortSignal.any([AbortSignal.timeout(ms), shutdown.signal]);

  const createFaults: CreateFault[] = [];
  let duplicateEvents = 0;
  let reorderAssets = 0;

  const faults: MuxEmulatorFaults = {
    rateLimitNextCreates(count, retryAfterSeconds = 1) {
      for (let index = 0; index < count; index += 1) createFaults.push({ kind: 'status', status: 429, retryAfterSeconds });
    },
    failNextCreates(count, status = 500) {
      for (let index = 0; index < count; index += 1) createFaults.push({ kind: 'status', status });
    },
    hangNextCreates(count, { createAsset = false } = {}) {
      for (let index = 0; index < count; index += 1) createFaults.push({ kind: 'hang', createAsset });
    },
    duplicateNextEvents(count) {
      duplicateEvents += count;
    },
    reorderNextAssets(count) {
      reorderAssets += count;
    },
    reset() {
      createFaults.length = 0;
      duplicateEvents = 0;
      reorderAssets = 0;
    },
  };

  function track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => logger.error('mux_emulator.lifecycle.failed', { error: errorMessage(error) }));
    pending.add(tracked);
    void tracked.finally(() => pending.delete(tracked));
  }

  // -- webhooks ----------------------------------------------------------------------------------------------------

  interface PreparedEvent {
    readonly id: string;
    readonly type: string;
    readonly assetId: string;
    readonly body: string;
  }

  /** Builds the envelope now, so its data is the asset as it is at this step even if delivered later. */
  function prepareEvent(type: string, asset: EmulatedAsset, data: unknown): PreparedEvent {
    const id = randomUUID();
    const envelope = {
      type,
      object: { type: 'asset', id: asset.id },
      id,
      environment: { name: 'Emulator', id: 'emulator' },
      data,
      created_at: new Date(now()).toISOString(),
      attempts: [],
      accessor_source: null,
      accessor: null,
      request_id: null,
    };
    return { id, type, assetId: asset.id, body: JSON.stringify(envelope) };
  }

  async function deliverOnce(event: PreparedEvent, duplicate: boolean): Promise<void> {
    const record: WebhookDelivery = { eventId: event.id, type: event.type, assetId: event.assetId, body: event.body, duplicate, attempts: [], outcome: 'pending' };
    deliveries.push(record);
    for (let attempt = 0; attempt <= retryDelays.length; attempt += 1) {
      if (attempt > 0) await sleep(retryDelays[attempt - 1] ?? 0);
      if (shutdown.signal.aborted) break;
      const url = webhookUrl;
      if (!url) {
        record.outcome = 'no_webhook_url';
        return;
      }
      const signature = muxSignatureHeader(event.body, options.webhookSecret, Math.floor(now() / 1000));
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'mux-signature': signature, 'user-agent': 'Mux Webhooks (reelay emulator)' },
          body: event.body,
          signal: until(webhookTimeoutMs),
        });
        await response.arrayBuffer();
        record.attempts.push({ at: new Date(), status: response.status, signature });
        if (response.ok) {
          record.outcome = 'delivered';
          logger.debug('mux_emulator.webhook.delivered', { type: event.type, eventId: event.id, status: response.status, attempt: attempt + 1 });
          return;
        }
        logger.warn('mux_emulator.webhook.rejected', { type: event.type, eventId: event.id, status: response.status, attempt: attempt + 1 });
      } catch (error) {
        record.attempts.push({ at: new Date(), status: null, error: errorMessage(error), signature });
        logger.warn('mux_emulator.webhook.unreachable', { type: event.type, eventId: event.id, error: errorMessage(error), attempt: attempt + 1 });
      }
    }
    record.outcome = 'failed';
  }

  async function deliver(event: PreparedEvent): Promise<void> {
    const duplicate = duplicateEvents > 0;
    if (duplicate) duplicateEvents -= 1;
    await deliverOnce(event, false);
    if (duplicate) await deliverOnce(event, true);
  }

  // -- lifecycle ---------------------------------------------------------------------------------------------------

  async function downloadInput(asset: EmulatedAsset): Promise<Buffer | null> {
    const input = asset.input;
    try {
      const response = await fetch(input.url, { signal: until(options.inputFetchTimeoutMs ?? 60_000) });
      input.status = response.status;
      input.contentType = response.headers.get('content-type');
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        input.error = `HTTP ${response.status}`;
        return null;
      }
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let total = 0;
      // A reader rather than `for await`: the same code type-checks under Node's and the DOM's stream typings.
      const reader = response.body.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        const bytes = Buffer.from(read.value);
        total += bytes.length;
        if (keptBytes + bytes.length <= retainLimit) {
          kept.push(bytes);
          keptBytes += bytes.length;
        }
      }
      input.bytes = total;
      const head = Buffer.concat(kept);
      if (total === keptBytes) retainedInput.set(asset.id, head);
      return head;
    } catch (error) {
      input.error = errorMessage(error);
      return null;
    }
  }

  function snapshot(asset: EmulatedAsset): AssetJson {
    return structuredClone(asset.json);
  }

  /** Each input as it was given at creation (`settings`), with what the download found (`file`). */
  function inputInfo(asset: EmulatedAsset): unknown[] {
    const inputs = (Array.isArray(asset.request.inputs ?? asset.request.input) ? (asset.request.inputs ?? asset.request.input) : []) as unknown[];
    return inputs.map((settings, index) => ({
      settings: structuredClone(settings),
      ...(index === 0 && asset.input.container !== null ? { file: { container_format: asset.input.container } } : {}),
    }));
  }

  async function runLifecycle(asset: EmulatedAsset, plan: AssetPlan, reorder: boolean): Promise<void> {
    await sleep(delayMs);
    const created = prepareEvent('video.asset.created', asset, snapshot(asset));
    if (!reorder) await deliver(created);

    const head = await downloadInput(asset);
    if (asset.deleted || shutdown.signal.aborted) return;
    logger.info('mux_emulator.input.downloaded', { assetId: asset.id, status: asset.input.status, bytes: asset.input.bytes, error: asset.input.error });
    await sleep(delayMs);

    if (head === null || asset.input.bytes === 0) {
      const reason = head === null ? asset.input.error : 'the file is empty';
      asset.json.status = 'errored';
      asset.json.progress = { state: 'errored', progress: -1 };
      asset.json.errors = { type: 'invalid_input', messages: [`The input file could not be downloaded or read (${reason}).`] };
      for (const file of asset.json.static_renditions?.files ?? []) file.status = 'errored';
      await deliver(prepareEvent('video.asset.errored', asset, snapshot(asset)));
      if (reorder) await deliver(created);
      return;
    }

    const facts = mediaFacts(head);
    asset.input.container = facts.container;
    const [width, height] = facts.aspectRatio.split(':').map(Number) as [number, number];
    asset.json.status = 'ready';
    asset.json.progress = { state: 'completed', progress: 100 };
    asset.json.duration = facts.duration;
    asset.json.aspect_ratio = facts.aspectRatio;
    asset.json.resolution_tier = '1080p';
    asset.json.max_stored_resolution = 'HD';
    asset.json.tracks = [
      { id: muxId(), type: 'video', status: 'ready', duration: facts.duration, max_width: Math.round((1080 * width) / height), max_height: 1080, max_frame_rate: 30 },
      { id: muxId(), type: 'audio', status: 'ready', duration: facts.duration, max_channels: 2 },
    ];
    const textTrack: TrackJson | null = plan.subtitles
      ? { id: muxId(), type: 'text', text_type: 'subtitles', text_source: 'generated_vod', status: 'preparing', ...plan.subtitles }
      : null;
    if (textTrack) asset.json.tracks.push(textTrack);
    await deliver(prepareEvent('video.asset.ready', asset, snapshot(asset)));
    if (reorder) await deliver(created);

    for (const file of asset.json.static_renditions?.files ?? []) {
      await sleep(delayMs);
      if (asset.deleted || shutdown.signal.aborted) return;
      file.status = 'ready';
      await deliver(prepareEvent('video.asset.static_rendition.ready', asset, { ...file, asset_id: asset.id }));
    }

    if (textTrack) {
      await deliver(prepareEvent('video.asset.track.created', asset, { ...textTrack, asset_id: asset.id }));
      await sleep(delayMs);
      if (asset.deleted || shutdown.signal.aborted) return;
      textTrack.status = 'ready';
      await deliver(prepareEvent('video.asset.track.ready', asset, { ...textTrack, asset_id: asset.id }));
    }
  }

  function createAsset(body: CreateAssetBody, plan: AssetPlan): EmulatedAsset {
    const policies = (body.playback_policies ?? body.playback_policy ?? []) as string[];
    const id = muxId();
    const json: AssetJson = {
      id,
      status: 'preparing',
      created_at: String(Math.floor(now() / 1000)),
      playback_ids: policies.map((policy) => ({ id: muxId(), policy })),
      ...(typeof body.passthrough === 'string' ? { passthrough: body.passthrough } : {}),
      mp4_support: 'none',
      master_access: 'none',
      encoding_tier: body.video_quality === 'basic' ? 'baseline' : 'smart',
      video_quality: typeof body.video_quality === 'string' ? body.video_quality : 'basic',
      ...(body.normalize_audio === true ? { normalize_audio: true } : {}),
      max_resolution_tier: '1080p',
      ingest_type: 'on_demand_url',
      progress: { state: 'ingesting', progress: 0 },
      tracks: [],
      ...(plan.renditions.length > 0
        ? {
            static_renditions: {
              files: plan.renditions.map((resolution) => ({
                id: muxId(),
                name: resolution === 'audio-only' ? 'audio.m4a' : `${resolution}.mp4`,
                ext: resolution === 'audio-only' ? ('m4a' as const) : ('mp4' as const),
                resolution,
                status: 'preparing' as const,
                type: 'standard' as const,
              })),
            },
          }
        : {}),
      test: body.test === true,
    };
    const asset: EmulatedAsset = {
      id,
      json,
      request: body,
      input: { url: plan.inputUrl, status: null, bytes: null, contentType: null, container: null, error: null },
      deleted: false,
    };
    assets.set(id, asset);
    ordered.unshift(asset);
    for (const playbackId of json.playback_ids) byPlaybackId.set(playbackId.id, asset);
    const reorder = reorderAssets > 0;
    if (reorder) reorderAssets -= 1;
    logger.info('mux_emulator.asset.created', { assetId: id, passthrough: json.passthrough });
    track(runLifecycle(asset, plan, reorder));
    return asset;
  }

  // -- HTTP --------------------------------------------------------------------------------------------------------

  function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  function sendBody(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  async function readJson(req: IncomingMessage): Promise<CreateAssetBody> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 1024 * 1024) throw new MuxHttpError(413, 'invalid_parameters', ['The request body is too large']);
      chunks.push(chunk as Buffer);
    }
    try {
      const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      return parsed as CreateAssetBody;
    } catch {
      throw new MuxHttpError(400, 'invalid_parameters', ['The request body must be a JSON object']);
    }
  }

  function liveAsset(id: string): EmulatedAsset {
    const asset = assets.get(id);
    if (!asset || asset.deleted) throw new MuxHttpError(404, 'not_found', ["The requested resource either doesn't exist or you don't have access to it."]);
    return asset;
  }

  function listAssets(url: URL): { data: AssetJson[]; next_cursor: string | null } {
    const limitText = url.searchParams.get('limit');
    const limit = limitText === null ? 25 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new MuxHttpError(400, 'invalid_parameters', ['limit must be an integer between 1 and 100']);
    const cursor = url.searchParams.get('cursor');
    let start = 0;
    if (cursor) {
      // The cursor names the last asset of the previous page; assets created since do not shift the pages.
      const lastId = Buffer.from(cursor, 'base64url').toString('utf8');
      const index = ordered.findIndex((asset) => asset.id === lastId);
      if (index < 0) throw new MuxHttpError(400, 'invalid_parameters', ['cursor is invalid']);
      start = index + 1;
    }
    const live = ordered.slice(start).filter((asset) => !asset.deleted);
    const page = live.slice(0, limit);
    const last = page[page.length - 1];
    const more = live.length > limit && last !== undefined;
    return { data: page.map((asset) => asset.json), next_cursor: more ? Buffer.from(last.id).toString('base64url') : null };
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, record: ApiRequestRecord): Promise<void> {
    if (req.headers.authorization !== expectedAuthorization) throw new MuxHttpError(401, 'unauthorized', ['Unauthorized request']);
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '');
    const assetMatch = /^\/video\/v1\/assets\/([^/]+)$/.exec(path);
    const inputInfoMatch = /^\/video\/v1\/assets\/([^/]+)\/input-info$/.exec(path);

    if (path === '/video/v1/assets' && method === 'POST') {
      const fault = createFaults.shift();
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
        if (fault.createAsset) createAsset(body, plan);
        hanging.add(res);
        record.status = null;
        return;
      }
      const asset = createAsset(body, plan);
      sendJson(res, 201, { data: asset.json });
      record.status = 201;
      return;
    }
    if (path === '/video/v1/assets' && method === 'GET') {
      sendJson(res, 200, listAssets(url));
      record.status = 200;
      return;
    }
    if (assetMatch && method === 'GET') {
      sendJson(res, 200, { data: liveAsset(decodeURIComponent(assetMatch[1] ?? '')).json });
      record.status = 200;
      return;
    }
    if (inputInfoMatch && method === 'GET') {
      sendJson(res, 200, { data: inputInfo(liveAsset(decodeURIComponent(inputInfoMatch[1] ?? ''))) });
      record.status = 200;
      return;
    }
    if (assetMatch && method === 'PATCH') {
      const asset = liveAsset(decodeURIComponent(assetMatch[1] ?? ''));
      const body = await readJson(req);
      if (body.passthrough !== undefined) {
        if (!isPassthrough(body.passthrough)) throw new MuxHttpError(400, 'invalid_parameters', ['passthrough must be a string of at most 255 characters']);
        asset.json.passthrough = body.passthrough;
      }
      track(deliver(prepareEvent('video.asset.updated', asset, snapshot(asset))));
      sendJson(res, 200, { data: asset.json });
      record.status = 200;
      return;
    }
    if (assetMatch && method === 'DELETE') {
      const asset = liveAsset(decodeURIComponent(assetMatch[1] ?? ''));
      asset.deleted = true;
      track(deliver(prepareEvent('video.asset.deleted', asset, snapshot(asset))));
      res.writeHead(204).end();
      record.status = 204;
      return;
    }
    throw new MuxHttpError(404, 'not_found', [`No route for ${method} ${path}`]);
  }

  async function sourceBytes(asset: EmulatedAsset): Promise<Buffer | null> {
    const retained = retainedInput.get(asset.id);
    if (retained) return retained;
    // Too large to keep: fetch it again (works while the presigned URL is still valid).
    const response = await fetch(asset.input.url).catch(() => null);
    return response?.ok ? Buffer.from(await response.arrayBuffer()) : null;
  }

  /** stream.mux.com / image.mux.com paths. Mux answers 412 for an asset that is not ready yet. */
  async function handleMedia(res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const match = /^\/([A-Za-z0-9]+)(\.m3u8|\/.+)$/.exec(path);
    const asset = match ? byPlaybackId.get(match[1] ?? '') : undefined;
    if (!match || !asset || asset.deleted) {
      sendBody(res, 404, 'text/plain', 'Not found\n');
      return;
    }
    if (asset.json.status !== 'ready') {
      sendBody(res, 412, 'text/plain', 'The asset is not ready\n');
      return;
    }
    const playbackId = match[1] ?? '';
    const rest = match[2] ?? '';
    const policy = asset.json.playback_ids.find((candidate) => candidate.id === playbackId)?.policy ?? 'public';
    const token = policy === 'signed' ? url.searchParams.get('token') : null;
    const refusal = playbackGate.check(playbackId, policy, path, token);
    if (refusal !== null) return sendBody(res, 403, 'text/plain', `Forbidden: ${refusal}\n`);
    const duration = asset.json.duration ?? 0;
    const playlist = (body: string) => sendBody(res, 200, 'application/vnd.apple.mpegurl', playbackGate.tokenizePlaylist(body, token));
    if (rest === '.m3u8') return playlist(hlsMasterPlaylist(playbackId));
    if (rest === '/rendition.m3u8') return playlist(hlsMediaPlaylist(playbackId, duration));
    if (rest === '/thumbnail.jpg') return sendBody(res, 200, 'image/jpeg', placeholderThumbnail);

    const text = /^\/text\/([A-Za-z0-9]+)\.(vtt|txt)$/.exec(rest);
    if (text) {
      const textTrack = asset.json.tracks.find((candidate) => candidate.id === text[1] && candidate.type === 'text');
      if (!textTrack || textTrack.status !== 'ready') return sendBody(res, 404, 'text/plain', 'No such text track\n');
      return text[2] === 'vtt'
        ? sendBody(res, 200, 'text/vtt', cannedCaptionsVtt(duration))
        : sendBody(res, 200, 'text/plain; charset=utf-8', cannedTranscript());
    }

    const fileName = rest.slice(1);
    const rendition = asset.json.static_renditions?.files.find((file) => file.name === fileName);
    if (fileName === 'source' || rendition?.status === 'ready') {
      const bytes = await sourceBytes(asset);
      if (bytes) return sendBody(res, 200, asset.input.contentType ?? 'video/mp4', bytes);
    }
    sendBody(res, 404, 'text/plain', 'Not found\n');
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const isApi = url.pathname.startsWith('/video/');
    const record: ApiRequestRecord = { method: req.method ?? 'GET', path: `${url.pathname}${url.search}`, status: null };
    if (isApi) requests.push(record);
    const work = isApi ? handleApi(req, res, url, record) : handleMedia(res, url);
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

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const baseUrl = `http://${address.address}:${address.port}`;
  logger.info('mux_emulator.started', { baseUrl, webhookUrl });

  return {
    baseUrl,
    faults,
    assets,
    deliveries,
    requests,
    setWebhookUrl(url) {
      webhookUrl = url;
    },
    async whenIdle() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    async close() {
      shutdown.abort();
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
