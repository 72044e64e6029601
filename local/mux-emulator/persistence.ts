/**
 * The emulator's assets kept on disk, so a restart of `npm start` (a clean stop or a SIGKILL) forgets none: written
 * on every change (write, then rename: a kill leaves the old file or the new one, never half of one), read back at
 * start. An asset whose lifecycle had not finished (its download, its events) is kept as it was created and starts
 * its lifecycle again, so its webhooks are sent (again, as Mux may send an event more than once). What the emulator
 * only records for tests (deliveries, requests, faults) and the input bytes kept to serve back (re-fetched from the
 * input URL instead) are not kept.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AssetJson, CreateAssetBody, EmulatedAsset, InputDownload } from './types.js';

interface StoredAsset {
  readonly id: string;
  readonly json: AssetJson;
  /** The asset as created, before its lifecycle changed it: what an unfinished lifecycle starts again from. */
  readonly created: AssetJson;
  readonly request: CreateAssetBody;
  readonly input: InputDownload;
  readonly deleted: boolean;
  readonly settled: boolean;
}

interface StoredState {
  readonly version: 1;
  /** Newest first, as the store orders them. */
  readonly assets: StoredAsset[];
}

export interface RestoredAsset {
  readonly asset: EmulatedAsset;
  /** Its lifecycle must run again. */
  readonly resume: boolean;
}

export class AssetFile {
  /** The asset as created, by id, for assets whose lifecycle is running. */
  readonly #created = new Map<string, AssetJson>();

  constructor(private readonly file: string) {}

  /** The assets of the last run, newest first; none when there was no file. */
  load(): RestoredAsset[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const state = JSON.parse(text) as StoredState;
    if (state.version !== 1 || !Array.isArray(state.assets)) throw new Error(`${this.file} is not a Mux emulator state file`);
    return state.assets.map((stored) => {
      const resume = !stored.settled && !stored.deleted;
      // An unfinished lifecycle starts from the asset as created (a PATCHed passthrough stays as PATCHed).
      const json = resume ? { ...structuredClone(stored.created), ...(stored.json.passthrough === undefined ? {} : { passthrough: stored.json.passthrough }) } : stored.json;
      const input = resume ? { url: stored.input.url, status: null, bytes: null, contentType: null, container: null, error: null } : stored.input;
      if (resume) this.#created.set(stored.id, structuredClone(stored.created));
      return { asset: { id: stored.id, json, request: stored.request, input, deleted: stored.deleted }, resume };
    });
  }

  /** The asset's lifecycle starts: it is kept as created until `settled`. */
  started(asset: EmulatedAsset): void {
    this.#created.set(asset.id, structuredClone(asset.json));
  }

  settled(asset: EmulatedAsset): void {
    this.#created.delete(asset.id);
  }

  save(assets: readonly EmulatedAsset[]): void {
    const state: StoredState = {
      version: 1,
      assets: assets.map((asset) => {
        const created = this.#created.get(asset.id);
        return { id: asset.id, json: asset.json, created: created ?? asset.json, request: asset.request, input: asset.input, deleted: asset.deleted, settled: created === undefined };
      }),
    };
    mkdirSync(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(state));
    renameSync(temporary, this.file);
  }
}
