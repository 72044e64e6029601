/**
 * An asset's life after a create, as Mux lives it: it really downloads the input URL (counting the bytes, keeping
 * them to serve back), then sends `video.asset.created`, `video.asset.ready` (playback id, duration, aspect ratio) —
 * or `video.asset.errored` when the input cannot be downloaded — then `video.asset.static_rendition.ready` per MP4
 * asked for and `video.asset.track.created` / `.ready` for generated subtitles. Events of one asset go out in order,
 * one at a time; the reorder fault sends `created` after `ready`.
 */
import type { Logger } from '../../shared/log.js';
import { errorMessage, muxId, sleep } from './http.js';
import { mediaFacts } from './media.js';
import { snapshot, type EmulatorStore } from './store.js';
import type { AssetJson, CreateAssetBody, EmulatedAsset, TrackJson } from './types.js';
import { validateCreate, type AssetPlan } from './validation.js';
import { prepareEvent, type PreparedEvent, type WebhookSender } from './webhooks.js';

export interface LifecycleOptions {
  /** Pause between steps. */
  readonly delayMs: number;
  /** Input bytes kept in memory to serve back; larger inputs are fetched again from their URL. */
  readonly retainInputBytes: number;
  readonly inputFetchTimeoutMs: number;
  readonly now: () => number;
  readonly logger: Logger;
}

export class AssetLifecycle {
  constructor(
    private readonly store: EmulatorStore,
    private readonly webhooks: WebhookSender,
    private readonly options: LifecycleOptions,
  ) {}

  #event(type: string, asset: EmulatedAsset, data: unknown): PreparedEvent {
    return prepareEvent(type, asset, data, this.options.now);
  }

  /** Events of the running lifecycles that were not delivered, by asset id. */
  readonly #undelivered = new Map<string, number>();

  /** Sends an event of a step; the step's change is written to the state file first (store.persist). */
  async #send(event: PreparedEvent): Promise<void> {
    this.store.persist();
    if (!(await this.webhooks.deliver(event))) this.#undelivered.set(event.assetId, (this.#undelivered.get(event.assetId) ?? 0) + 1);
  }

  async #downloadInput(asset: EmulatedAsset): Promise<Buffer | null> {
    const input = asset.input;
    try {
      const response = await fetch(input.url, { signal: this.store.until(this.options.inputFetchTimeoutMs) });
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
        if (keptBytes + bytes.length <= this.options.retainInputBytes) {
          kept.push(bytes);
          keptBytes += bytes.length;
        }
      }
      input.bytes = total;
      const head = Buffer.concat(kept);
      if (total === keptBytes) this.store.retainedInput.set(asset.id, head);
      return head;
    } catch (error) {
      input.error = errorMessage(error);
      return null;
    }
  }

  /**
   * The lifecycle, then the asset marked settled in the state file — unless the emulator closed first, or one of its
   * events was not delivered (Mux retries a webhook for 24 hours; the emulator's few retries end with it, so the next
   * start sends the lifecycle's events again).
   */
  async #runAndSettle(asset: EmulatedAsset, plan: AssetPlan, reorder: boolean): Promise<void> {
    this.#undelivered.delete(asset.id);
    await this.#run(asset, plan, reorder);
    const undelivered = this.#undelivered.get(asset.id) ?? 0;
    this.#undelivered.delete(asset.id);
    if (this.store.shutdown.signal.aborted || undelivered > 0) return;
    this.store.file?.settled(asset);
    this.store.persist();
  }

  async #run(asset: EmulatedAsset, plan: AssetPlan, reorder: boolean): Promise<void> {
    await sleep(this.options.delayMs);
    const created = this.#event('video.asset.created', asset, snapshot(asset));
    if (!reorder) await this.#send(created);

    const head = await this.#downloadInput(asset);
    if (asset.deleted || this.store.shutdown.signal.aborted) return;
    this.options.logger.info('mux_emulator.input.downloaded', { assetId: asset.id, status: asset.input.status, bytes: asset.input.bytes, error: asset.input.error });
    await sleep(this.options.delayMs);

    if (head === null || asset.input.bytes === 0) {
      const reason = head === null ? asset.input.error : 'the file is empty';
      asset.json.status = 'errored';
      asset.json.progress = { state: 'errored', progress: -1 };
      asset.json.errors = { type: 'invalid_input', messages: [`The input file could not be downloaded or read (${reason}).`] };
      for (const file of asset.json.static_renditions?.files ?? []) file.status = 'errored';
      await this.#send(this.#event('video.asset.errored', asset, snapshot(asset)));
      if (reorder) await this.#send(created);
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
    await this.#send(this.#event('video.asset.ready', asset, snapshot(asset)));
    if (reorder) await this.#send(created);

    for (const file of asset.json.static_renditions?.files ?? []) {
      await sleep(this.options.delayMs);
      if (asset.deleted || this.store.shutdown.signal.aborted) return;
      file.status = 'ready';
      await this.#send(this.#event('video.asset.static_rendition.ready', asset, { ...file, asset_id: asset.id }));
    }

    if (textTrack) {
      await this.#send(this.#event('video.asset.track.created', asset, { ...textTrack, asset_id: asset.id }));
      await sleep(this.options.delayMs);
      if (asset.deleted || this.store.shutdown.signal.aborted) return;
      textTrack.status = 'ready';
      await this.#send(this.#event('video.asset.track.ready', asset, { ...textTrack, asset_id: asset.id }));
    }
  }

  /** Creates the asset (status `preparing`) and starts its lifecycle in the background. */
  create(body: CreateAssetBody, plan: AssetPlan): EmulatedAsset {
    const policies = (body.playback_policies ?? body.playback_policy ?? []) as string[];
    const id = muxId();
    const json: AssetJson = {
      id,
      status: 'preparing',
      created_at: String(Math.floor(this.options.now() / 1000)),
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
    this.store.file?.started(asset);
    this.store.add(asset);
    const reorder = this.store.reorderAssets > 0;
    if (reorder) this.store.reorderAssets -= 1;
    this.options.logger.info('mux_emulator.asset.created', { assetId: id, passthrough: json.passthrough });
    this.store.track(this.#runAndSettle(asset, plan, reorder));
    return asset;
  }

  /** An asset of the last run whose lifecycle had not finished (persistence.ts): it runs again from the start. */
  resume(asset: EmulatedAsset): void {
    this.options.logger.info('mux_emulator.asset.resumed', { assetId: asset.id, passthrough: asset.json.passthrough });
    this.store.track(this.#runAndSettle(asset, validateCreate(asset.request), false));
  }
}
