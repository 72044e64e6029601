/**
 * The schema the runtime code expects: reelay's tables and their columns, as PostgreSQL's catalog describes them once
 * every migration has run. This is the one column list of the runtime: capability detection, the health and status
 * reports, and the field mapping of `videos` (video-fields.ts) read it.
 *
 * Migrations (shared/migrations) are frozen SQL and never read this module: editing a column here can only change what
 * the code expects, never what an applied migration was. test/migrations/schema-model.test.ts runs every migration
 * and compares the live catalog with this model, so a model that drifts from the migrations fails `npm test`.
 */

/** A column as the catalog reports it. */
export interface ColumnModel {
  readonly name: string;
  /** `format_type(atttypid, atttypmod)`, e.g. `character varying(255)`. */
  readonly type: string;
  readonly notNull: boolean;
  /** `pg_get_expr(adbin, adrelid)` of the default, as PostgreSQL renders it; absent when there is none. */
  readonly default?: string;
}

/** A `videos` column of migration 0002: `seed` when the seed document lists it, `pipeline` when ingest or retries need it. */
export interface MuxColumnModel extends ColumnModel {
  readonly origin: 'seed' | 'pipeline';
}

/**
 * "Now" in UTC for the `timestamp` (without time zone) columns, which hold UTC by the driver contract: converted
 * explicitly so it never depends on the session's TimeZone.
 */
export const utcNow = `(now() AT TIME ZONE 'UTC')`;

const utcNowDefault = "(now() AT TIME ZONE 'UTC'::text)";
const text = 'text';
const timestamp = 'timestamp without time zone';
const varchar = (length: number) => `character varying(${length})`;

/** The columns every schema has (migration 0001, the legacy table). */
export const basicVideoColumns = [
  { name: 'id', type: 'uuid', notNull: true, default: 'gen_random_uuid()' },
  { name: 'owner_id', type: text, notNull: true },
  { name: 'title', type: text, notNull: true },
  { name: 'description', type: text, notNull: false },
  { name: 'original_filename', type: text, notNull: true },
  { name: 'content_type', type: text, notNull: true },
  { name: 'size_bytes', type: 'bigint', notNull: true },
  { name: 's3_key', type: text, notNull: true },
  { name: 's3_upload_id', type: text, notNull: false },
  { name: 'status', type: text, notNull: true, default: "'awaiting_upload'::text" },
  { name: 'created_at', type: timestamp, notNull: true, default: utcNowDefault },
  { name: 'updated_at', type: timestamp, notNull: true, default: utcNowDefault },
] as const satisfies readonly ColumnModel[];

/** The Mux columns (migration 0002), which a schema that is behind may lack: the data layer defers their fields then. */
export const muxColumns = [
  { name: 'mux_asset_id', type: varchar(255), notNull: false, origin: 'seed' },
  { name: 'mux_playback_id', type: varchar(255), notNull: false, origin: 'seed' },
  { name: 'mux_upload_id', type: varchar(255), notNull: false, origin: 'seed' },
  { name: 'mux_status', type: varchar(50), notNull: false, default: "'pending'::character varying", origin: 'seed' },
  { name: 'mux_thumbnail_url', type: text, notNull: false, origin: 'seed' },
  { name: 'mux_streaming_url', type: text, notNull: false, origin: 'seed' },
  { name: 'mux_mp4_url', type: text, notNull: false, origin: 'seed' },
  { name: 'mux_duration_seconds', type: 'integer', notNull: false, origin: 'seed' },
  { name: 'mux_aspect_ratio', type: varchar(20), notNull: false, origin: 'seed' },
  { name: 'mux_created_at', type: timestamp, notNull: false, origin: 'seed' },
  { name: 'mux_ready_at', type: timestamp, notNull: false, origin: 'seed' },
  { name: 'audio_enhanced', type: 'boolean', notNull: false, default: 'false', origin: 'seed' },
  { name: 'audio_enhancement_job_id', type: varchar(255), notNull: false, origin: 'seed' },
  { name: 'transcription_job_id', type: varchar(255), notNull: false, origin: 'seed' },
  { name: 'captions_webvtt_url', type: text, notNull: false, origin: 'seed' },
  { name: 'captions_srt_url', type: text, notNull: false, origin: 'seed' },
  { name: 'transcript_text', type: text, notNull: false, origin: 'seed' },
  { name: 'transcript_confidence', type: 'numeric(3,2)', notNull: false, origin: 'seed' },
  /** The last error Mux reported for the asset or upload, for the console and retries. */
  { name: 'mux_error', type: text, notNull: false, origin: 'pipeline' },
  /** The generated caption track, whose .vtt/.txt URLs are built from it. */
  { name: 'mux_text_track_id', type: varchar(255), notNull: false, origin: 'pipeline' },
  /** The ingest options the uploader asked for (captions, mp4, audio normalisation), replayed on retry. */
  { name: 'mux_options', type: 'jsonb', notNull: false, origin: 'pipeline' },
  /** How many times ingest has tried to create the Mux asset. */
  { name: 'ingest_attempts', type: 'integer', notNull: true, default: '0', origin: 'pipeline' },
] as const satisfies readonly MuxColumnModel[];

export type BasicVideoColumn = (typeof basicVideoColumns)[number]['name'];
export type MuxColumn = (typeof muxColumns)[number]['name'];
export type VideoColumn = BasicVideoColumn | MuxColumn;

/** The Mux columns' names, in the order the catalog lists them. */
export const muxColumnNames: readonly MuxColumn[] = muxColumns.map((column) => column.name);

/** Processed Mux webhook events (Mux redelivers, even after a 2xx): the event id is the idempotency key. */
export const webhookEventColumns = [
  { name: 'event_id', type: text, notNull: true },
  { name: 'type', type: text, notNull: true },
  { name: 'object_id', type: text, notNull: false },
  { name: 'received_at', type: timestamp, notNull: true, default: utcNowDefault },
  { name: 'processed_at', type: timestamp, notNull: false },
] as const satisfies readonly ColumnModel[];

/** Mux data written while the Mux columns were missing, kept until reconcile restores it. */
export const deferredDataColumns = [
  { name: 'video_id', type: 'uuid', notNull: true },
  { name: 'payload', type: 'jsonb', notNull: true },
  { name: 'created_at', type: timestamp, notNull: true, default: utcNowDefault },
  { name: 'reconciled_at', type: timestamp, notNull: false },
] as const satisfies readonly ColumnModel[];

/** The events outbox (0006): each lifecycle event, kept until reconcile prunes it long after it was published. */
export const videoEventColumns = [
  { name: 'event_id', type: 'uuid', notNull: true, default: 'gen_random_uuid()' },
  { name: 'video_id', type: 'uuid', notNull: true },
  { name: 'status', type: text, notNull: true },
  { name: 'video', type: 'jsonb', notNull: true },
  { name: 'occurred_at', type: timestamp, notNull: true, default: utcNowDefault },
  { name: 'published_at', type: timestamp, notNull: false },
  { name: 'publish_attempts', type: 'integer', notNull: true, default: '0' },
] as const satisfies readonly ColumnModel[];

export interface TableModel {
  readonly name: string;
  /** In catalog order (attnum). */
  readonly columns: readonly ColumnModel[];
}

/**
 * Every table of reelay's own data, once migrated. The migrations engine's ledger and lease tables
 * (`schema_migrations`, `schema_migrations_lock`) are not here: they belong to the engine and to the migration role.
 */
export const schemaTables = [
  { name: 'videos', columns: [...basicVideoColumns, ...muxColumns] },
  { name: 'mux_webhook_events', columns: webhookEventColumns },
  { name: 'deferred_mux_data', columns: deferredDataColumns },
  { name: 'video_events', columns: videoEventColumns },
] as const satisfies readonly TableModel[];

export type SchemaTable = (typeof schemaTables)[number]['name'];

/** The tables whose presence changes what the data layer does (capability detection reads their columns). */
export const schemaTableNames: readonly SchemaTable[] = schemaTables.map((table) => table.name);
