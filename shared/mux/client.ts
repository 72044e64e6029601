/**
 * The Mux operations reelay's domain needs, behind a narrow interface over an injected Mux SDK instance. Everything
 * leaving it is normalised (shared/mux/assets.ts) and every failure is a `MuxApiError` whose `retryable` says whether
 * trying again can help (408/409/429/5xx and network failures; the SDK has already retried `maxRetries` times).
 */
import Mux, { APIError, APIConnectionError } from '@mux/mux-node';
import type { AssetCreateParams } from '@mux/mux-node/resources/video/assets';
import { MuxApiError } from '../errors.js';
import { retryAfterFromHeaders } from './retry-after.js';
import { parseMuxAsset, type MuxAsset, type MuxAssetStatus, type MuxPlaybackPolicy } from './assets.js';
import type { MuxConfig, MuxCredentials, MuxVideoQuality } from './config.js';

export interface CreateAssetInput {
  /** Where Mux downloads the source from: a presigned S3 GET URL that outlives Mux's download. */
  readonly inputUrl: string;
  /** The video id: how webhooks and reconciliation find the video again (≤ 255 characters). */
  readonly passthrough: string;
  readonly normalizeAudio?: boolean;
  /** Ask Mux to generate English subtitles from speech. */
  readonly captions?: boolean;
  /** Ask for the `highest` MP4 static rendition. */
  readonly mp4?: boolean;
  readonly playbackPolicy?: MuxPlaybackPolicy;
  readonly videoQuality?: MuxVideoQuality | null;
}

export interface CreatedAsset {
  readonly assetId: string;
  readonly status: MuxAssetStatus;
  readonly asset: MuxAsset;
}

export interface AssetPage {
  readonly assets: readonly MuxAsset[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface MuxGateway {
  createAsset(input: CreateAssetInput): Promise<CreatedAsset>;
  /** Null when Mux does not know the asset (404: never existed or deleted). */
  getAsset(assetId: string): Promise<MuxAsset | null>;
  /** Newest first; assets whose fields reelay cannot store (shared/mux/assets.ts) are left out. */
  listAssets(options?: { limit?: number; cursor?: string | null }): Promise<AssetPage>;
  /**
   * The newest asset `match` accepts, or null. Pages through the asset list (newest first) up to `maxPages`, so a
   * redelivered or crashed ingest finds the asset it already created instead of making a second one. Mux has no
   * search by passthrough; `match` is asked about candidates one at a time, newest first.
   */
  findAsset(match: (asset: MuxAsset) => boolean | Promise<boolean>, options?: { maxPages?: number; pageSize?: number }): Promise<MuxAsset | null>;
  /**
   * The inputs the asset was created from, as Mux echoes them (`GET /video/v1/assets/{id}/input-info`): one entry per
   * input with its settings (`url`, `overlay_settings`, …). Null when Mux does not know the asset.
   */
  getInputs(assetId: string): Promise<readonly MuxAssetInput[] | null>;
  /** GET a text resource (a transcript `.txt` or a `.vtt` track). */
  fetchText(url: string): Promise<string>;
  /** `DELETE /video/v1/assets/{id}`; `not_found` when Mux does not know the asset (deleted before: done too). */
  deleteAsset(assetId: string): Promise<'deleted' | 'not_found'>;
}

export interface MuxAssetInput {
  /** The input URL as given at creation; null when the input had none (e.g. an asset made from another asset). */
  readonly url: string | null;
  /** Every setting Mux reports for the input, by name (`url` included). */
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface MuxSdkOptions {
  readonly maxRetries?: number;
  /** Per request, ms. */
  readonly timeout?: number;
}

/**
 * A Mux SDK instance for these credentials. Every option is passed explicitly so the SDK's own fallbacks to
 * MUX_* environment variables never apply behind reelay's back (secrets may come from Secrets Manager).
 */
export function createMuxSdk(credentials: MuxCredentials, baseUrl: string | null, options: MuxSdkOptions = {}): Mux {
  return new Mux({
    tokenId: credentials.tokenId,
    tokenSecret: credentials.tokenSecret,
    webhookSecret: credentials.webhookSecret,
    jwtSigningKey: null,
    jwtPrivateKey: null,
    authorizationToken: null,
    ...(baseUrl ? { baseURL: baseUrl } : {}),
    maxRetries: options.maxRetries ?? 2,
    timeout: options.timeout ?? 20_000,
    // The SDK logs retries at info through console; reelay logs its own JSON lines.
    logLevel: 'off',
  });
}

/** Builds the SDK from a config (reading credentials, possibly through the secrets extension) and wraps it. */
export async function muxGatewayFromConfig(config: MuxConfig, options: MuxSdkOptions & GatewayOptions = {}): Promise<MuxGateway> {
  const credentials = await config.loadCredentials();
  const sdk = createMuxSdk(credentials, config.baseUrl, options);
  return createMuxGateway(sdk, {
    playbackPolicy: config.playbackPolicy,
    videoQuality: config.videoQuality,
    ...options,
  });
}

export interface GatewayOptions {
  /** Default for `createAsset` when the input does not say. */
  readonly playbackPolicy?: MuxPlaybackPolicy;
  readonly videoQuality?: MuxVideoQuality | null;
  readonly fetch?: typeof fetch;
  /** Timeout for `fetchText`, ms. Default 10 s. */
  readonly textTimeoutMs?: number;
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Mux's error body: `{ "error": { "type": "invalid_parameters", "messages": ["…"] } }`. */
function describeMuxErrorBody(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || !('error' in body)) return null;
  const detail = (body as { error: unknown }).error;
  if (typeof detail !== 'object' || detail === null) return null;
  const { type, messages } = detail as { type?: unknown; messages?: unknown };
  const text = Array.isArray(messages) ? messages.filter((message) => typeof message === 'string').join('; ') : '';
  const kind = typeof type === 'string' ? type : 'error';
  return text ? `${kind}: ${text}` : kind;
}

/** Maps anything the SDK throws to a MuxApiError. */
export function toMuxApiError(error: unknown, operation: string): MuxApiError {
  if (error instanceof MuxApiError) return error;
  // APIConnectionError (and its timeout subclass) is an APIError without a status: check it first.
  if (error instanceof APIConnectionError) {
    return new MuxApiError(`Mux ${operation} failed: could not reach Mux (${error.message})`, undefined, true, { cause: error });
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    const detail = describeMuxErrorBody(error.error) ?? 'no error body';
    return new MuxApiError(`Mux ${operation} failed with ${error.status}: ${detail}`, error.status, isRetryableStatus(error.status), {
      cause: error,
      retryAfterMs: retryAfterFromHeaders(error.headers),
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  // Anything else (a fetch TypeError, a body that is not JSON) is a transport problem: worth another try.
  return new MuxApiError(`Mux ${operation} failed: ${message}`, undefined, true, { cause: error });
}

function requireAsset(raw: unknown, operation: string): MuxAsset {
  const asset = parseMuxAsset(raw);
  if (!asset) throw new MuxApiError(`Mux ${operation} returned something that is not an asset`, undefined, false);
  return asset;
}

export function createMuxGateway(mux: Mux, options: GatewayOptions = {}): MuxGateway {
  const doFetch = options.fetch ?? fetch;

  async function call<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw toMuxApiError(error, operation);
    }
  }

  const gateway: MuxGateway = {
    async createAsset(input) {
      const policy = input.playbackPolicy ?? options.playbackPolicy ?? 'public';
      const videoQuality = input.videoQuality === undefined ? options.videoQuality : input.videoQuality;
      const params: AssetCreateParams = {
        inputs: [
          {
            url: input.inputUrl,
            ...(input.captions ? { generated_subtitles: [{ language_code: 'en', name: 'English (generated)' }] } : {}),
          },
        ],
        playback_policies: [policy],
        passthrough: input.passthrough,
        ...(input.normalizeAudio ? { normalize_audio: true } : {}),
        // static_renditions replaces the deprecated mp4_support (the two may not be combined).
        ...(input.mp4 ? { static_renditions: [{ resolution: 'highest' }] } : {}),
        ...(videoQuality ? { video_quality: videoQuality } : {}),
      };
      const raw = await call('create asset', () => mux.video.assets.create(params));
      const asset = requireAsset(raw, 'create asset');
      return { assetId: asset.id, status: asset.status, asset };
    },

    async getAsset(assetId) {
      try {
        return requireAsset(await mux.video.assets.retrieve(assetId), 'get asset');
      } catch (error) {
        const mapped = toMuxApiError(error, 'get asset');
        if (mapped.status === 404) return null;
        throw mapped;
      }
    },

    async listAssets({ limit = 100, cursor = null } = {}) {
      const page = await call('list assets', () => mux.video.assets.list({ limit, ...(cursor ? { cursor } : {}) }));
      // Anyone in the environment can make assets: one that reelay cannot read is not reelay's, and must not stop the
      // listing (ingest's and reconcile's searches page through everything).
      const assets = page.data.flatMap((raw) => parseMuxAsset(raw) ?? []);
      return { assets, nextCursor: page.next_cursor || null };
    },

    async findAsset(match, { maxPages = 20, pageSize = 100 } = {}) {
      let cursor: string | null = null;
      for (let pageNumber = 0; pageNumber < maxPages; pageNumber += 1) {
        const page: AssetPage = await gateway.listAssets({ limit: pageSize, cursor });
        for (const asset of page.assets) if (await match(asset)) return asset;
        if (!page.nextCursor) return null;
        cursor = page.nextCursor;
      }
      return null;
    },

    async getInputs(assetId) {
      let raw: unknown;
      try {
        raw = await mux.video.assets.retrieveInputInfo(assetId);
      } catch (error) {
        const mapped = toMuxApiError(error, 'get asset input info');
        if (mapped.status === 404) return null;
        throw mapped;
      }
      if (!Array.isArray(raw)) throw new MuxApiError('Mux get asset input info returned something that is not a list', undefined, false);
      return raw.map((entry: unknown) => {
        const settings = typeof entry === 'object' && entry !== null && 'settings' in entry ? (entry as { settings: unknown }).settings : null;
        const record = typeof settings === 'object' && settings !== null ? (settings as Record<string, unknown>) : {};
        return { url: typeof record.url === 'string' ? record.url : null, settings: record };
      });
    },

    async deleteAsset(assetId) {
      try {
        await mux.video.assets.delete(assetId);
        return 'deleted';
      } catch (error) {
        const mapped = toMuxApiError(error, 'delete asset');
        if (mapped.status === 404) return 'not_found';
        throw mapped;
      }
    },

    async fetchText(url) {
      let response: Response;
      try {
        response = await doFetch(url, { signal: AbortSignal.timeout(options.textTimeoutMs ?? 10_000) });
      } catch (error) {
        throw new MuxApiError(`Mux text fetch failed: ${error instanceof Error ? error.message : String(error)}`, undefined, true, {
          cause: error,
        });
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new MuxApiError(`Mux text fetch failed with ${response.status}`, response.status, isRetryableStatus(response.status), {
          retryAfterMs: retryAfterFromHeaders(response.headers),
        });
      }
      return response.text();
    },
  };
  return gateway;
}
