/**
 * Whether a Mux asset is the one reelay created for a video: what adoption — ingest's look-up on a redelivery,
 * reconcile's recovery of assets whose id was never stored — must prove before it stores an asset on a video.
 * (Webhooks need less: see AssetBinding in shared/db/video-db.ts.)
 *
 * 1. The passthrough names the video: reelay's tag verifies for it with an attempt the video has made
 *    (shared/mux/binding.ts), or — for assets created before tags — it is the bare video id. Cheap: it filters the
 *    asset list without calling Mux.
 * 2. The asset's only input is the video's own source object (Mux's input info). Anyone who can read and write
 *    assets in the same Mux environment can copy a passthrough, tag included, onto another asset; the input they
 *    cannot fake: a copy either reads reelay's object — the same content, through a URL only reelay could sign — or
 *    something else, and is refused. Only origin and path are compared (signature and expiry differ between two
 *    presignings of the same object); an overlay or a trimmed range would change the content, so none is accepted.
 * 3. The asset has not errored. Its download may have failed, which says nothing about whose it was, and adopting it
 *    would turn the video `errored` for an asset reelay may never have made; a fresh ingest is the better answer.
 */
import type { VideoRecord } from '../db/video-fields.js';
import type { MuxAsset } from '../mux/assets.js';
import type { AssetBinder } from '../mux/binding.js';
import type { MuxGateway } from '../mux/client.js';
import type { UploadStorage } from '../storage/uploads.js';

export type AdoptionRefusal = 'not_this_video' | 'errored' | 'gone' | 'foreign_input';

export interface AssetOwnershipOptions {
  readonly binding: () => Promise<AssetBinder>;
  readonly gateway: () => Promise<Pick<MuxGateway, 'getInputs'>>;
  readonly storage: () => Promise<Pick<UploadStorage, 'presignGet'>>;
}

/** Input settings that change what an asset shows compared with its source file. */
const contentChangingSettings = ['overlay_settings', 'start_time', 'end_time'];

const location = (url: string): string | null => {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return null;
  }
};

export class AssetOwnership {
  readonly #binding: AssetOwnershipOptions['binding'];
  readonly #gateway: AssetOwnershipOptions['gateway'];
  readonly #storage: AssetOwnershipOptions['storage'];

  constructor(options: AssetOwnershipOptions) {
    this.#binding = options.binding;
    this.#gateway = options.gateway;
    this.#storage = options.storage;
  }

  /** Check 1 only, for filtering a page of assets. */
  async namesVideo(video: Pick<VideoRecord, 'id' | 'mux'>): Promise<(asset: MuxAsset) => boolean> {
    const binder = await this.#binding();
    const attempts = video.mux.ingestAttempts ?? 0;
    return (asset) => {
      if (asset.passthrough === video.id) return true;
      const check = binder.verify(asset.passthrough);
      return check.ok && check.videoId === video.id && check.attempt <= attempts;
    };
  }

  /** Checks 2 and 3, for an asset that passed check 1: null when it may be adopted, else why not. */
  async refusal(video: Pick<VideoRecord, 's3Key'>, asset: MuxAsset): Promise<AdoptionRefusal | null> {
    if (asset.status === 'errored') return 'errored';
    const inputs = await (await this.#gateway()).getInputs(asset.id);
    if (inputs === null) return 'gone';
    const [input, ...others] = inputs;
    if (input?.url == null || others.length > 0 || contentChangingSettings.some((name) => input.settings[name] != null)) return 'foreign_input';
    const expected = await (await this.#storage()).presignGet({ key: video.s3Key, ttlSeconds: 60 });
    const given = location(input.url);
    return given !== null && given === location(expected.url) ? null : 'foreign_input';
  }
}
