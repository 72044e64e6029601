/**
 * 0006: the events outbox. Every statement that changes a video's status also inserts its lifecycle event here, in
 * the same statement (shared/db/video-events-db.ts), so a change is never committed without its event. The function
 * that made the change puts the event on EventBridge and sets `published_at`; reconcile republishes what stayed
 * unpublished (a crash, a throttled PutEvents) and prunes what was published long ago.
 *
 * - `event_id` is the event's `detail.eventId`: the same on every delivery, so consumers deduplicate on it.
 * - `video_id` has no foreign key: a video's `Video Deleted` event outlives its row.
 * - `video` is the row as it was when the status changed (to_jsonb), so a republished event says what the first
 *   delivery said, even after the row has moved on or is gone.
 * - The partial index keeps the sweep's look-up (the unpublished, oldest first) small however many rows are kept.
 *
 * The application role may delete rows (the prune); the read role may only read them.
 *
 * Frozen: applied databases hold this file's checksum.
 */
import { transactionStep, type Migration } from './migration.js';

export const videoEventsMigration: Migration = {
  version: 6,
  name: 'video_events',
  steps: [
    transactionStep(
      `
      CREATE TABLE IF NOT EXISTS video_events (
        event_id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        video_id         uuid NOT NULL,
        status           text NOT NULL,
        video            jsonb NOT NULL,
        occurred_at      timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
        published_at     timestamp,
        publish_attempts integer NOT NULL DEFAULT 0
      )`,
      'CREATE INDEX IF NOT EXISTS video_events_unpublished_idx ON video_events (occurred_at) WHERE published_at IS NULL',
      'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE video_events TO reelay_app',
      'GRANT SELECT ON TABLE video_events TO reelay_read',
    ),
  ],
};
