/**
 * The listings of reconcile's sweeps that walk a set whose members do not leave it when looked at (shared/videos/
 * reconcile/): `awaiting_upload` videos whose object may be in S3, and `processing` videos whose asset may have moved
 * on at Mux. Most of them have nothing to do (an abandoned upload, an asset still preparing) and stay, so a run pages
 * through them by keyset on (updated_at, id), oldest first, instead of reading the same first page again; the cursor
 * carries updated_at as PostgreSQL printed it, so microseconds survive the round trip and no row is read twice.
 */
import type { Executor, Params } from './driver.js';
import { hasColumn, type CapabilityCache } from './capabilities.js';
import { utcNow } from './schema.js';
import { videoFromRow, type VideoRecord } from './video-fields.js';

/** Where the next page of a sweep's listing starts: after this row. */
export interface SweepCursor {
  readonly updatedAt: string;
  readonly id: string;
}

export interface SweepPage {
  readonly videos: VideoRecord[];
  /** After the last row of this page (null when it is empty). */
  readonly next: SweepCursor | null;
}

export interface VideoSweepDBOptions {
  readonly executor: Executor;
  readonly capabilities: Pick<CapabilityCache, 'get'>;
}

const olderThan = (name: string) => `updated_at < ${utcNow} - CAST(:${name} AS integer) * interval '1 second'`;

export class VideoSweepDB {
  readonly #executor: Executor;
  readonly #capabilities: Pick<CapabilityCache, 'get'>;

  constructor(options: VideoSweepDBOptions) {
    this.#executor = options.executor;
    this.#capabilities = options.capabilities;
  }

  /**
   * Videos still `awaiting_upload` last touched between `maxAgeSeconds` and `olderThanSeconds` ago: past that age
   * no upload URL signed for them is valid any more, so an abandoned upload stops being looked at (every schema).
   */
  async listAwaitingUpload(options: { olderThanSeconds: number; maxAgeSeconds: number; limit: number; after: SweepCursor | null }): Promise<SweepPage> {
    return this.#page(
      `status = 'awaiting_upload' AND ${olderThan('olderThanSeconds')} AND updated_at >= ${utcNow} - CAST(:maxAgeSeconds AS integer) * interval '1 second'`,
      { olderThanSeconds: options.olderThanSeconds, maxAgeSeconds: options.maxAgeSeconds },
      options,
    );
  }

  /**
   * Whether any video is `awaiting_upload` and last touched less than `youngerThanSeconds` ago: one whose object may
   * still arrive (its upload URL valid) or arrived too recently for the stranded sweep (every schema).
   */
  async hasRecentAwaitingUpload(youngerThanSeconds: number): Promise<boolean> {
    const { rows } = await this.#executor.execute(
      `SELECT 1 AS found FROM videos WHERE status = 'awaiting_upload' AND updated_at >= ${utcNow} - CAST(:youngerThanSeconds AS integer) * interval '1 second' LIMIT 1`,
      { youngerThanSeconds },
      { idempotent: true },
    );
    return rows.length > 0;
  }

  /** `processing` videos with an asset stored that nothing has changed for `olderThanSeconds` (empty before 0002). */
  async listStaleProcessing(options: { olderThanSeconds: number; limit: number; after: SweepCursor | null }): Promise<SweepPage> {
    if (!hasColumn(await this.#capabilities.get(), 'videos', 'mux_asset_id')) return { videos: [], next: null };
    return this.#page(`status = 'processing' AND mux_asset_id IS NOT NULL AND ${olderThan('olderThanSeconds')}`, { olderThanSeconds: options.olderThanSeconds }, options);
  }

  async #page(where: string, params: Params, page: { limit: number; after: SweepCursor | null }): Promise<SweepPage> {
    const after = page.after === null ? '' : ' AND (updated_at, id) > (CAST(:afterUpdatedAt AS timestamp), CAST(:afterId AS uuid))';
    const { rows } = await this.#executor.execute(
      `SELECT *, CAST(updated_at AS text) AS sweep_cursor_updated_at FROM videos WHERE ${where}${after} ORDER BY updated_at, id LIMIT :limit`,
      { ...params, limit: page.limit, ...(page.after === null ? {} : { afterUpdatedAt: page.after.updatedAt, afterId: page.after.id }) },
      { idempotent: true },
    );
    const last = rows.at(-1);
    return { videos: rows.map(videoFromRow), next: last === undefined ? null : { updatedAt: String(last.sweep_cursor_updated_at), id: String(last.id) } };
  }
}
