/**
 * 0002: the seed's 18 Mux columns (names and types exactly as the seed document lists them), the four more a real
 * pipeline needs (`mux_error`, `mux_text_track_id`, `mux_options`, `ingest_attempts`), a table of processed webhook
 * events (Mux redelivers, even after a 2xx) and a table for Mux data that was written while the columns were missing,
 * so it is never silently dropped.
 *
 * Every default is a constant, so ADD COLUMN is a catalog-only change (PostgreSQL 11+) and never rewrites `videos`.
 * All columns are added by ONE `ALTER TABLE` in one short transaction: the ACCESS EXCLUSIVE lock is requested once
 * (each request queues uploads behind it for up to lock_timeout), and the data layer's capability detection sees
 * either none or all of the columns, never a half-migrated table.
 *
 * Frozen: applied databases hold this file's checksum (README.md in this folder). The runtime's view of these
 * columns is shared/db/schema.ts, which a test compares with what this SQL creates.
 */
import { transactionStep, type Migration } from './migration.js';

export const muxColumnsMigration: Migration = {
  version: 2,
  name: 'mux_columns',
  steps: [
    transactionStep(`
      CREATE TABLE IF NOT EXISTS mux_webhook_events (
        event_id     text PRIMARY KEY,
        type         text NOT NULL,
        object_id    text,
        received_at  timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
        processed_at timestamp
      )`),
    // Created before the columns, so a runner interrupted between the two steps still leaves somewhere to defer to.
    transactionStep(`
      CREATE TABLE IF NOT EXISTS deferred_mux_data (
        video_id      uuid PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
        payload       jsonb NOT NULL,
        created_at    timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
        reconciled_at timestamp
      )`),
    transactionStep(`
      ALTER TABLE videos
        ADD COLUMN IF NOT EXISTS mux_asset_id VARCHAR(255),
        ADD COLUMN IF NOT EXISTS mux_playback_id VARCHAR(255),
        ADD COLUMN IF NOT EXISTS mux_upload_id VARCHAR(255),
        ADD COLUMN IF NOT EXISTS mux_status VARCHAR(50) DEFAULT 'pending',
        ADD COLUMN IF NOT EXISTS mux_thumbnail_url TEXT,
        ADD COLUMN IF NOT EXISTS mux_streaming_url TEXT,
        ADD COLUMN IF NOT EXISTS mux_mp4_url TEXT,
        ADD COLUMN IF NOT EXISTS mux_duration_seconds INTEGER,
        ADD COLUMN IF NOT EXISTS mux_aspect_ratio VARCHAR(20),
        ADD COLUMN IF NOT EXISTS mux_created_at TIMESTAMP,
        ADD COLUMN IF NOT EXISTS mux_ready_at TIMESTAMP,
        ADD COLUMN IF NOT EXISTS audio_enhanced BOOLEAN DEFAULT FALSE,
        ADD COLUMN IF NOT EXISTS audio_enhancement_job_id VARCHAR(255),
        ADD COLUMN IF NOT EXISTS transcription_job_id VARCHAR(255),
        ADD COLUMN IF NOT EXISTS captions_webvtt_url TEXT,
        ADD COLUMN IF NOT EXISTS captions_srt_url TEXT,
        ADD COLUMN IF NOT EXISTS transcript_text TEXT,
        ADD COLUMN IF NOT EXISTS transcript_confidence DECIMAL(3,2),
        ADD COLUMN IF NOT EXISTS mux_error TEXT,
        ADD COLUMN IF NOT EXISTS mux_text_track_id VARCHAR(255),
        ADD COLUMN IF NOT EXISTS mux_options JSONB,
        ADD COLUMN IF NOT EXISTS ingest_attempts INTEGER DEFAULT 0 NOT NULL`),
  ],
};
