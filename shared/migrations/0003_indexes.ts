/**
 * 0003: indexes for the webhook look-ups (asset, upload and playback id) and for the two listing orders (a user's
 * videos, newest first, keyset-paginated by (created_at, id); and everyone's, for admins).
 *
 * Built CONCURRENTLY so uploads keep writing while they build: each runs alone, outside any transaction, and is
 * polled until valid. The Mux id indexes are partial (most rows lack an id until Mux answers); an equality look-up
 * implies IS NOT NULL, so the planner still uses them.
 */
import { concurrentIndex, type Migration } from './migration.js';

export const indexesMigration: Migration = {
  version: 3,
  name: 'indexes',
  steps: [
    concurrentIndex({ name: 'videos_mux_asset_id_idx', table: 'videos', columns: 'mux_asset_id', where: 'mux_asset_id IS NOT NULL' }),
    concurrentIndex({ name: 'videos_mux_upload_id_idx', table: 'videos', columns: 'mux_upload_id', where: 'mux_upload_id IS NOT NULL' }),
    concurrentIndex({ name: 'videos_mux_playback_id_idx', table: 'videos', columns: 'mux_playback_id', where: 'mux_playback_id IS NOT NULL' }),
    concurrentIndex({ name: 'videos_owner_listing_idx', table: 'videos', columns: 'owner_id, created_at DESC, id DESC' }),
    concurrentIndex({ name: 'videos_listing_idx', table: 'videos', columns: 'created_at DESC, id DESC' }),
  ],
};
