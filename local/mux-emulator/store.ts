/**
 * The emulator's state: its assets (by id, newest first, by playback id), the input bytes kept to serve back, what
 * it recorded (webhook deliveries, API requests), the faults queued for the next calls, and the work in flight that
 * `whenIdle()` and `close()` wait for.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../../shared/log.js';
import { errorMessage, MuxHttpError } from './http.js';
import type { AssetFile } from './persistence.js';
import type { ApiRequestRecord, AssetJson, CreateFault, EmulatedAsset, MuxEmulatorFaults, WebhookDelivery } from './types.js';

export class EmulatorStore {
  readonly assets = new Map<string, EmulatedAsset>();
  /** Newest first, deleted ones included (the list cursor names a position in it). */
  readonly ordered: EmulatedAsset[] = [];
  readonly byPlaybackId = new Map<string, EmulatedAsset>();
  readonly retainedInput = new Map<string, Buffer>();
  readonly deliveries: WebhookDelivery[] = [];
  readonly requests: ApiRequestRecord[] = [];
  /** Responses the hang fault never answers; destroyed on close. */
  readonly hanging = new Set<ServerResponse>();
  /** Aborts downloads and deliveries in flight when the emulator closes. */
  readonly shutdown = new AbortController();
  readonly #pending = new Set<Promise<void>>();

  readonly createFaults: CreateFault[] = [];
  /** Statuses the next asset deletes answer with. */
  readonly deleteFaults: number[] = [];
  duplicateEvents = 0;
  reorderAssets = 0;
  /** Until when (ms since the epoch, by the emulator's clock) every API call is throttled; 0: not throttled. */
  throttledUntil = 0;
  /** Until when the API is down, and how it fails meanwhile (a status, or a dropped connection). */
  outage: { until: number; status: number; reset: boolean } = { until: 0, status: 503, reset: false };
  /** The emulator's clock, set by the server (throttleFor counts from it). */
  clock: () => number = Date.now;

  readonly faults: MuxEmulatorFaults = {
    rateLimitNextCreates: (count, retryAfterSeconds = 1) => {
      for (let index = 0; index < count; index += 1) this.createFaults.push({ kind: 'status', status: 429, retryAfterSeconds });
    },
    throttleFor: (ms) => {
      this.throttledUntil = this.clock() + ms;
    },
    outageFor: (ms, { status = 503, connection } = {}) => {
      this.outage = { until: this.clock() + ms, status, reset: connection === 'reset' };
    },
    failNextCreates: (count, status = 500) => {
      for (let index = 0; index < count; index += 1) this.createFaults.push({ kind: 'status', status });
    },
    hangNextCreates: (count, { createAsset = false } = {}) => {
      for (let index = 0; index < count; index += 1) this.createFaults.push({ kind: 'hang', createAsset });
    },
    delayNextCreates: (count, ms) => {
      for (let index = 0; index < count; index += 1) this.createFaults.push({ kind: 'delay', ms });
    },
    failNextDeletes: (count, status = 500) => {
      for (let index = 0; index < count; index += 1) this.deleteFaults.push(status);
    },
    duplicateNextEvents: (count) => {
      this.duplicateEvents += count;
    },
    reorderNextAssets: (count) => {
      this.reorderAssets += count;
    },
    reset: () => {
      this.createFaults.length = 0;
      this.throttledUntil = 0;
      this.outage = { until: 0, status: 503, reset: false };
      this.deleteFaults.length = 0;
      this.duplicateEvents = 0;
      this.reorderAssets = 0;
    },
  };

  constructor(
    private readonly logger: Logger,
    /** Where the assets are kept across restarts (persistence.ts); none: memory only. */
    readonly file: AssetFile | null = null,
  ) {}

  /** Writes the assets to the state file, if there is one: called after every change, before it is answered. */
  persist(): void {
    if (this.file === null || this.shutdown.signal.aborted) return;
    this.file.save(this.ordered);
  }

  /** A signal that fires after `ms` or when the emulator closes. */
  until(ms: number): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(ms), this.shutdown.signal]);
  }

  /** Keeps background work (a lifecycle, a delivery) for `whenIdle()`; its failure is logged, never thrown. */
  track(work: Promise<unknown>): void {
    const tracked = work.then(() => undefined).catch((error: unknown) => this.logger.error('mux_emulator.lifecycle.failed', { error: errorMessage(error) }));
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
  }

  async whenIdle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  add(asset: EmulatedAsset): void {
    this.assets.set(asset.id, asset);
    this.ordered.unshift(asset);
    for (const playbackId of asset.json.playback_ids) this.byPlaybackId.set(playbackId.id, asset);
    this.persist();
  }

  /** The assets of the last run (newest first), put back without writing the file again. */
  restore(assets: readonly EmulatedAsset[]): void {
    for (const asset of [...assets].reverse()) {
      this.assets.set(asset.id, asset);
      this.ordered.unshift(asset);
      for (const playbackId of asset.json.playback_ids) this.byPlaybackId.set(playbackId.id, asset);
    }
  }

  liveAsset(id: string): EmulatedAsset {
    const asset = this.assets.get(id);
    if (!asset || asset.deleted) throw new MuxHttpError(404, 'not_found', ["The requested resource either doesn't exist or you don't have access to it."]);
    return asset;
  }

  listAssets(url: URL): { data: AssetJson[]; next_cursor: string | null } {
    const limitText = url.searchParams.get('limit');
    const limit = limitText === null ? 25 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new MuxHttpError(400, 'invalid_parameters', ['limit must be an integer between 1 and 100']);
    const cursor = url.searchParams.get('cursor');
    let start = 0;
    if (cursor) {
      // The cursor names the last asset of the previous page; assets created since do not shift the pages.
      const lastId = Buffer.from(cursor, 'base64url').toString('utf8');
      const index = this.ordered.findIndex((asset) => asset.id === lastId);
      if (index < 0) throw new MuxHttpError(400, 'invalid_parameters', ['cursor is invalid']);
      start = index + 1;
    }
    const live = this.ordered.slice(start).filter((asset) => !asset.deleted);
    const page = live.slice(0, limit);
    const last = page[page.length - 1];
    const more = live.length > limit && last !== undefined;
    return { data: page.map((asset) => asset.json), next_cursor: more ? Buffer.from(last.id).toString('base64url') : null };
  }
}

export function snapshot(asset: EmulatedAsset): AssetJson {
  return structuredClone(asset.json);
}

/** Each input as it was given at creation (`settings`), with what the download found (`file`). */
export function inputInfo(asset: EmulatedAsset): unknown[] {
  const inputs = (Array.isArray(asset.request.inputs ?? asset.request.input) ? (asset.request.inputs ?? asset.request.input) : []) as unknown[];
  return inputs.map((settings, index) => ({
    settings: structuredClone(settings),
    ...(index === 0 && asset.input.container !== null ? { file: { container_format: asset.input.container } } : {}),
  }));
}
