/**
 * 0003: indexes for the webhook look-ups (asset, upload and playback id) and for the two listing orders (a user's
 * videos, newest first, keyset-paginated by (created_at, id); and everyone's, for admins).
 *
 * Built CONCURRENTLY so uploads keep writing while they build: each runs alone, outside any transaction, and is
 * polled until valid. The Mux id indexes are partial (most rows lack an id until Mux answers); an equality look-up
 * implies IS NOT NULL, so the planner still uses them.
 *
 * Frozen: applied databases hold this file's checksum (README.md in this folder).
 */
import { concurrentIndex, type Migration } from './migration.js';

export const indexesMigration: Migration = {
  version: 3,
  name: 'indexes',
  steps: [
    concurrentIndex('CREATE INDEX CONCURRENTLY IF NOT EXISTS videos_mux_asset_id_idx ON videos (mux_asset_id) WHERE mux_asset_id IS NOT NULL'),
    concurrentIndex('CREATE INDEX CONCURRENTLY IF NOT EXISTS videos_mux_upload_id_idx ON videos (mux_upload_id) WHERE mux_upload_id IS NOT NULL'),
    concurrentIndex('CREATE INDEX CONCURRENTLY IF NOT EXISTS videos_mux_playback_id_idx ON videos (mux_playback_id) WHERE mux_playback_id IS NOT NULL'),
    concurrentIndex('CREATE INDEX CONCURRENTLY IF NOT EXISTS videos_owner_listing_idx ON videos (owner_id, created_at DESC, id DESC)'),
    concurrentIndex('CREATE INDEX CONCURRENTLY IF NOT EXISTS videos_listing_idx ON videos (created_at DESC, id DESC)'),
  ],
};
