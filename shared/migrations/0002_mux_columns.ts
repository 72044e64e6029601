/**
 * 0002: the seed's 18 Mux columns (names and types exactly as the seed document lists them), the few more a real
 * pipeline needs, a table of processed webhook events (Mux redelivers, even after a 2xx) and a table for Mux data
 * that was written while the columns were missing, so it is never silently dropped.
 *
 * Every default is a constant, so ADD COLUMN is a catalog-only change (PostgreSQL 11+) and never rewrites `videos`.
 * All columns are added by ONE `ALTER TABLE` in one short transaction: the ACCESS EXCLUSIVE lock is requested once
 * (each request queues uploads behind it for up to lock_timeout), and the data layer's capability detection sees
 * either none or all of the columns, never a half-migrated table.
 */
import type { TypeHint } from '../db/driver.js';
import { transactionStep, type Migration } from './migration.js';
import { utcNow } from './0001_basic_videos.js';

export interface MuxColumn {
  readonly name: string;
  /** The type as declared, e.g. `VARCHAR(255)`. */
  readonly sqlType: string;
  /** What PostgreSQL's `format_type(atttypid, atttypmod)` reports for it, to compare against the live catalog. */
  readonly formatType: string;
  /** A constant SQL default, if any. */
  readonly defaultSql?: string;
  readonly notNull?: boolean;
  /** The parameter type hint a writer must use (see `sqlValue` in shared/db/driver.ts), when one is needed. */
  readonly typeHint?: TypeHint;
  /** `seed`: one of the 18 the seed document lists; `pipeline`: added for ingest, captions and retries. */
  readonly origin: 'seed' | 'pipeline';
}

const varchar = (length: number) => ({ sqlType: `VARCHAR(${length})`, formatType: `character varying(${length})` });
const text = { sqlType: 'TEXT', formatType: 'text' };
const integer = { sqlType: 'INTEGER', formatType: 'integer' };
const timestamp = { sqlType: 'TIMESTAMP', formatType: 'timestamp without time zone', typeHint: 'timestamp' } as const;
const boolean = { sqlType: 'BOOLEAN', formatType: 'boolean' };

export const seedMuxColumns: readonly MuxColumn[] = [
  // Core Mux fields
  { name: 'mux_asset_id', ...varchar(255), origin: 'seed' },
  { name: 'mux_playback_id', ...varchar(255), origin: 'seed' },
  { name: 'mux_upload_id', ...varchar(255), origin: 'seed' },
  { name: 'mux_status', ...varchar(50), defaultSql: `'pending'`, origin: 'seed' },
  { name: 'mux_thumbnail_url', ...text, origin: 'seed' },
  { name: 'mux_streaming_url', ...text, origin: 'seed' },
  { name: 'mux_mp4_url', ...text, origin: 'seed' },
  { name: 'mux_duration_seconds', ...integer, origin: 'seed' },
  { name: 'mux_aspect_ratio', ...varchar(20), origin: 'seed' },
  { name: 'mux_created_at', ...timestamp, origin: 'seed' },
  { name: 'mux_ready_at', ...timestamp, origin: 'seed' },
  // Audio enhancement fields
  { name: 'audio_enhanced', ...boolean, defaultSql: 'FALSE', origin: 'seed' },
  { name: 'audio_enhancement_job_id', ...varchar(255), origin: 'seed' },
  // Transcription fields
  { name: 'transcription_job_id', ...varchar(255), origin: 'seed' },
  { name: 'captions_webvtt_url', ...text, origin: 'seed' },
  { name: 'captions_srt_url', ...text, origin: 'seed' },
  { name: 'transcript_text', ...text, origin: 'seed' },
  { name: 'transcript_confidence', sqlType: 'DECIMAL(3,2)', formatType: 'numeric(3,2)', typeHint: 'decimal', origin: 'seed' },
];

export const pipelineMuxColumns: readonly MuxColumn[] = [
  /** The last error Mux reported for the asset or upload (errors.messages joined), for the console and retries. */
  { name: 'mux_error', ...text, origin: 'pipeline' },
  /** The generated caption track, whose .vtt/.txt URLs are built from it. */
  { name: 'mux_text_track_id', ...varchar(255), origin: 'pipeline' },
  /** The ingest options the uploader asked for (captions, mp4, audio normalisation), replayed on retry. */
  { name: 'mux_options', sqlType: 'JSONB', formatType: 'jsonb', typeHint: 'json', origin: 'pipeline' },
  /** How many times ingest has tried to create the Mux asset. */
  { name: 'ingest_attempts', ...integer, defaultSql: '0', notNull: true, origin: 'pipeline' },
];

/** Every column 0002 adds to `videos`, in order: the list capability detection compares the live schema against. */
export const muxColumns: readonly MuxColumn[] = [...seedMuxColumns, ...pipelineMuxColumns];

function columnDefinition(column: MuxColumn): string {
  const defaultClause = column.defaultSql === undefined ? '' : ` DEFAULT ${column.defaultSql}`;
  const notNull = column.notNull === true ? ' NOT NULL' : '';
  return `ADD COLUMN IF NOT EXISTS ${column.name} ${column.sqlType}${defaultClause}${notNull}`;
}

export const muxColumnsMigration: Migration = {
  version: 2,
  name: 'mux_columns',
  steps: [
    transactionStep(`
      CREATE TABLE IF NOT EXISTS mux_webhook_events (
        event_id     text PRIMARY KEY,
        type         text NOT NULL,
        object_id    text,
        received_at  timestamp NOT NULL DEFAULT ${utcNow},
        processed_at timestamp
      )`),
    // Created before the columns, so a runner interrupted between the two steps still leaves somewhere to defer to.
    transactionStep(`
      CREATE TABLE IF NOT EXISTS deferred_mux_data (
        video_id      uuid PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
        payload       jsonb NOT NULL,
        created_at    timestamp NOT NULL DEFAULT ${utcNow},
        reconciled_at timestamp
      )`),
    transactionStep(`ALTER TABLE videos\n  ${muxColumns.map(columnDefinition).join(',\n  ')}`),
  ],
};
