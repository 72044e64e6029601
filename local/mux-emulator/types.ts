/**
 * The emulator's public shape (what `startMuxEmulator` takes and returns, what it records) and the Mux Video API's
 * wire shapes it answers with (snake_case, as the API sends them).
 */
import type { Logger } from '../../shared/log.js';
import type { EmulatorSigningKey } from './playback.js';

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
  /**
   * Where the assets are kept across restarts (persistence.ts); assets whose lifecycle had not finished start it
   * again once there is a webhook URL. Default none: memory only.
   */
  readonly stateFile?: string;
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

export type CreateFault =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterSeconds?: number }
  | { readonly kind: 'hang'; readonly createAsset: boolean }
  | { readonly kind: 'delay'; readonly ms: number };

export interface MuxEmulatorFaults {
  /** The next `count` creates answer 429 with `retry-after`. */
  rateLimitNextCreates(count: number, retryAfterSeconds?: number): void;
  /**
   * For the next `ms`, every asset API call answers 429 with `retry-after`: the seconds left in the window, rounded up
   * (a sustained throttle, as Mux's rate limit of an environment).
   */
  throttleFor(ms: number): void;
  /**
   * For the next `ms`, Mux's API is down: every API call answers `status` (default 503) with a Mux error body and no
   * Retry-After, or — with `connection: 'reset'` — the connection is dropped before any answer (the client sees a
   * socket error). Playback and webhooks of assets already made go on.
   */
  outageFor(ms: number, options?: { status?: number; connection?: 'reset' }): void;
  /** The next `count` creates answer `status` (default 500) with a Mux error body. */
  failNextCreates(count: number, status?: number): void;
  /**
   * The next `count` creates never get an answer (the client times out). With `createAsset`, the asset is created
   * anyway, as when Mux did the work but the response was lost.
   */
  hangNextCreates(count: number, options?: { createAsset?: boolean }): void;
  /** The next `count` creates make their asset and answer only after `ms` (an ingest caught mid-create). */
  delayNextCreates(count: number, ms: number): void;
  /** The next `count` asset deletes answer `status` (default 500) with a Mux error body, deleting nothing. */
  failNextDeletes(count: number, status?: number): void;
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

export interface PlaybackIdJson {
  id: string;
  policy: string;
}

export interface TrackJson {
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

export interface RenditionJson {
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

export interface InputJson {
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
