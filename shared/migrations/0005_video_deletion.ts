/**
 * 0005: the application role may delete videos. DELETE /api/videos/{id} removes the row once the Mux asset and the
 * S3 objects are gone (shared/videos/video-deletion.ts); `deferred_mux_data` rows of the video go with it through
 * their ON DELETE CASCADE (0002), which PostgreSQL runs with the table owner's rights, so no grant is needed there.
 * Webhook events stay: they name assets, not people, and are what deduplicates Mux's redeliveries.
 *
 * Before this migration a deletion still removes the asset and the objects and leaves the row `deleting`; the
 * reconcile job deletes it once the grant exists.
 *
 * Frozen: applied databases hold this file's checksum.
 */
import { transactionStep, type Migration } from './migration.js';

export const videoDeletionMigration: Migration = {
  version: 5,
  name: 'video_deletion',
  steps: [transactionStep('GRANT DELETE ON TABLE videos TO reelay_app')],
};
