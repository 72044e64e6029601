/**
 * What `GET /api/debug/video-diagnostics` reports: videos per status, uploads and ingests that stopped moving, rows
 * written with the fallback whose Mux data has not been restored yet, recent Mux errors, and the configuration
 * (never a secret).
 *
 * Capability-aware like the rest of the data layer: it reads the catalog first (fresh, not the per-container cache:
 * an operator checking right after a migration must see it), and a section whose columns or tables the schema lacks
 * reports which migration it waits for instead of failing. The sections' statements run side by side; this is an
 * operator's page, so a handful of Data API calls per request is the price of one readable query per question.
 */
import type { Executor } from '../db/driver.js';
import { detectCapabilities, hasColumn, hasTable, type SchemaCapabilities } from '../db/capabilities.js';
import type { DriverConfig } from '../db/create-driver.js';
import { readInteger, readPositiveNumber, type Env } from '../config/reader.js';
import { muxColumnReport, type MuxColumnReport } from '../db/database-utils.js';
import { videoStatuses, type VideoStatus } from '../db/video-fields.js';
import { utcNow } from '../db/schema.js';
import { describeMuxConfig, type MuxConfig } from '../mux/config.js';

export interface DiagnosticsThresholds {
  /** An upload still `awaiting_upload` this long after the row was created is stuck. Env STUCK_UPLOAD_HOURS, default 24. */
  readonly stuckUploadHours: number;
  /** A video `uploaded` or `processing` this long after its last change is stuck. Env STUCK_INGEST_MINUTES, default 60. */
  readonly stuckIngestMinutes: number;
  /** Rows listed per section (counts are always complete). Env DIAGNOSTICS_SAMPLE_LIMIT, default 20. */
  readonly sampleLimit: number;
}

export const defaultDiagnosticsThresholds: DiagnosticsThresholds = { stuckUploadHours: 24, stuckIngestMinutes: 60, sampleLimit: 20 };

/** Reads the thresholds; a malformed value throws at cold start rather than skewing every report. */
export function diagnosticsThresholdsFromEnv(env: Env): DiagnosticsThresholds {
  return {
    stuckUploadHours: readPositiveNumber(env, 'STUCK_UPLOAD_HOURS') ?? defaultDiagnosticsThresholds.stuckUploadHours,
    stuckIngestMinutes: readPositiveNumber(env, 'STUCK_INGEST_MINUTES') ?? defaultDiagnosticsThresholds.stuckIngestMinutes,
    sampleLimit: readInteger(env, 'DIAGNOSTICS_SAMPLE_LIMIT', { min: 1 }) ?? defaultDiagnosticsThresholds.sampleLimit,
  };
}

/** A section the schema cannot answer yet. */
export interface UnavailableSection {
  readonly available: false;
  readonly reason: string;
}

export type Section<T> = ({ readonly available: true } & T) | UnavailableSection;

const untilMigration = (version: number): UnavailableSection => ({
  available: false,
  reason: `unavailable until migration ${String(version).padStart(4, '0')}`,
});

export interface StuckVideo {
  readonly id: string;
  readonly ownerId: string;
  readonly status: VideoStatus;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Minutes since the row was created (uploads) or last changed (ingests). */
  readonly ageMinutes: number;
}

/** How many rows match, and the first of them (at most the sample limit). */
export interface Sampled<T> {
  readonly count: number;
  readonly sample: readonly T[];
}

/** Rows carrying `total` (a `count(*) OVER ()` taken before LIMIT) as a {@link Sampled} list. */
function sampled<R extends { total: bigint }, T>(rows: readonly R[], present: (row: R) => T): Sampled<T> {
  return { count: Number(rows[0]?.total ?? 0), sample: rows.map(present) };
}

export interface DeferredVideo {
  readonly videoId: string;
  readonly status: VideoStatus;
  /** The Mux fields kept in `deferred_mux_data` waiting to be written to their columns. */
  readonly fields: readonly string[];
  readonly deferredAt: Date;
}

export interface MissingMuxVideo {
  readonly id: string;
  readonly status: VideoStatus;
  readonly updatedAt: Date;
}

export interface MuxErrorVideo {
  readonly id: string;
  readonly status: VideoStatus;
  readonly muxStatus: string | null;
  readonly error: string;
  readonly ingestAttempts: number | null;
  readonly updatedAt: Date;
}

export interface UnacknowledgedEvent {
  readonly eventId: string;
  readonly videoId: string;
  readonly status: string;
  readonly occurredAt: Date;
  /** Publish attempts so far (the sweep's failures count). */
  readonly attempts: number;
}

/** Events older than this and still unpublished are listed: younger ones are normally being published right now. */
const unacknowledgedAfterSeconds = 300;

export interface VideoDiagnostics {
  readonly generatedAt: Date;
  readonly thresholds: DiagnosticsThresholds;
  readonly schema: { readonly muxColumns: MuxColumnReport; readonly deferredTable: boolean };
  readonly counts: Section<{ readonly total: number; readonly byStatus: Readonly<Record<VideoStatus, number>> }>;
  /** Oldest first. */
  readonly stuck: Section<{
    readonly uploads: Sampled<StuckVideo>;
    readonly ingests: Sampled<StuckVideo>;
    /** Deletions still `deleting` after the ingest threshold: Mux or S3 keep refusing, or 0005 is not applied. */
    readonly deletions: Sampled<StuckVideo>;
  }>;
  /** Rows written while the schema lacked the Mux columns, whose Mux data is not in its columns yet. */
  readonly fallback: Section<{
    /** Deferred Mux data not yet reconciled into the columns, oldest first. */
    readonly deferred: Sampled<DeferredVideo>;
    /** Videos Mux has (processing or ready) with no asset id stored: reconcile them from Mux by passthrough. */
    readonly missingMuxData: Sampled<MissingMuxVideo>;
  }>;
  /** Newest first. */
  readonly muxErrors: Section<Sampled<MuxErrorVideo>>;
  /** Lifecycle events unpublished for over five minutes (PutEvents failing, no reconcile run yet), oldest first. */
  readonly unacknowledgedEvents: Section<Sampled<UnacknowledgedEvent>>;
}

async function countByStatus(executor: Executor): Promise<VideoDiagnostics['counts']> {
  const { rows } = await executor.execute<{ status: string; count: bigint }>('SELECT status, count(*) AS count FROM videos GROUP BY status');
  const byStatus = Object.fromEntries(videoStatuses.map((status) => [status, 0])) as Record<VideoStatus, number>;
  let total = 0;
  for (const row of rows) {
    const count = Number(row.count);
    total += count;
    // A status this code does not know still counts in the total; it is listed under its own name.
    (byStatus as Record<string, number>)[row.status] = count;
  }
  return { available: true, total, byStatus };
}

// Ages are measured on the database's clock, the one that wrote created_at and updated_at.
const stuckSql = `
  SELECT kind, id, owner_id, status, created_at, updated_at, age_minutes, total
    FROM (SELECT kind, id, owner_id, status, created_at, updated_at,
                 CAST(floor(extract(epoch FROM ${utcNow} - since) / 60) AS integer) AS age_minutes,
                 count(*) OVER (PARTITION BY kind) AS total,
                 row_number() OVER (PARTITION BY kind ORDER BY since, id) AS position
            FROM (SELECT CASE WHEN status = 'awaiting_upload' THEN 'upload' WHEN status = 'deleting' THEN 'deletion' ELSE 'ingest' END AS kind,
                         CASE WHEN status = 'awaiting_upload' THEN created_at ELSE updated_at END AS since,
                         id, owner_id, status, created_at, updated_at
                    FROM videos
                   WHERE (status = 'awaiting_upload' AND created_at < ${utcNow} - make_interval(secs => :uploadSeconds))
                      OR (status IN ('uploaded', 'processing', 'deleting') AND updated_at < ${utcNow} - make_interval(secs => :ingestSeconds))
                 ) candidates
         ) ranked
   WHERE position <= :limit
   ORDER BY kind, position`;

interface StuckRow {
  kind: 'upload' | 'ingest' | 'deletion';
  id: string;
  owner_id: string;
  status: VideoStatus;
  created_at: Date;
  updated_at: Date;
  age_minutes: number;
  total: bigint;
}

async function findStuck(executor: Executor, thresholds: DiagnosticsThresholds): Promise<VideoDiagnostics['stuck']> {
  const { rows } = await executor.execute<StuckRow>(stuckSql, {
    uploadSeconds: thresholds.stuckUploadHours * 3600,
    ingestSeconds: thresholds.stuckIngestMinutes * 60,
    limit: thresholds.sampleLimit,
  });
  const group = (kind: StuckRow['kind']): Sampled<StuckVideo> =>
    sampled(
      rows.filter((row) => row.kind === kind),
      (row) => ({
        id: row.id,
        ownerId: row.owner_id,
        status: row.status,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
        ageMinutes: row.age_minutes,
      }),
    );
  return { available: true, uploads: group('upload'), ingests: group('ingest'), deletions: group('deletion') };
}

async function findFallbackRows(executor: Executor, limit: number): Promise<VideoDiagnostics['fallback']> {
  const [deferred, missing] = await Promise.all([
    executor.execute<{ video_id: string; status: VideoStatus; fields: string[]; created_at: Date; total: bigint }>(
      `SELECT d.video_id, v.status, ARRAY(SELECT jsonb_object_keys(d.payload) ORDER BY 1) AS fields, d.created_at,
              count(*) OVER () AS total
         FROM deferred_mux_data d JOIN videos v ON v.id = d.video_id
        WHERE d.reconciled_at IS NULL
        ORDER BY d.created_at, d.video_id
        LIMIT :limit`,
      { limit },
    ),
    executor.execute<{ id: string; status: VideoStatus; updated_at: Date; total: bigint }>(
      `SELECT id, status, updated_at, count(*) OVER () AS total
         FROM videos
        WHERE status IN ('processing', 'ready') AND mux_asset_id IS NULL
        ORDER BY updated_at, id
        LIMIT :limit`,
      { limit },
    ),
  ]);
  return {
    available: true,
    deferred: sampled(deferred.rows, (row) => ({ videoId: row.video_id, status: row.status, fields: row.fields, deferredAt: row.created_at })),
    missingMuxData: sampled(missing.rows, (row) => ({ id: row.id, status: row.status, updatedAt: row.updated_at })),
  };
}

async function recentMuxErrors(executor: Executor, limit: number): Promise<VideoDiagnostics['muxErrors']> {
  const { rows } = await executor.execute<{
    id: string;
    status: VideoStatus;
    mux_status: string | null;
    mux_error: string;
    ingest_attempts: number | null;
    updated_at: Date;
    total: bigint;
  }>(
    `SELECT id, status, mux_status, mux_error, ingest_attempts, updated_at, count(*) OVER () AS total
       FROM videos
      WHERE mux_error IS NOT NULL
      ORDER BY updated_at DESC, id
      LIMIT :limit`,
    { limit },
  );
  return {
    available: true,
    ...sampled(rows, (row) => ({
      id: row.id,
      status: row.status,
      muxStatus: row.mux_status,
      error: row.mux_error,
      ingestAttempts: row.ingest_attempts,
      updatedAt: row.updated_at,
    })),
  };
}

async function unacknowledgedEvents(executor: Executor, limit: number): Promise<VideoDiagnostics['unacknowledgedEvents']> {
  const { rows } = await executor.execute<{ event_id: string; video_id: string; status: string; occurred_at: Date; publish_attempts: number; total: bigint }>(
    `SELECT event_id, video_id, status, occurred_at, publish_attempts, count(*) OVER () AS total
       FROM video_events
      WHERE published_at IS NULL AND occurred_at < ${utcNow} - CAST(:afterSeconds AS integer) * interval '1 second'
      ORDER BY occurred_at, event_id
      LIMIT :limit`,
    { afterSeconds: unacknowledgedAfterSeconds, limit },
  );
  return {
    available: true,
    ...sampled(rows, (row) => ({ eventId: row.event_id, videoId: row.video_id, status: row.status, occurredAt: row.occurred_at, attempts: row.publish_attempts })),
  };
}

function hasColumns(capabilities: SchemaCapabilities, columns: readonly string[]): boolean {
  return columns.every((column) => hasColumn(capabilities, 'videos', column));
}

/**
 * Collects every section. Costs one catalog read plus one statement per available section (at most six calls,
 * run concurrently).
 */
export async function collectVideoDiagnostics(
  executor: Executor,
  thresholds: DiagnosticsThresholds = defaultDiagnosticsThresholds,
  now: () => Date = () => new Date(),
): Promise<VideoDiagnostics> {
  const capabilities = await detectCapabilities(executor);
  const videosTable = hasTable(capabilities, 'videos');
  const fallbackReady = hasTable(capabilities, 'deferred_mux_data') && hasColumn(capabilities, 'videos', 'mux_asset_id');
  const errorsReady = hasColumns(capabilities, ['mux_error', 'mux_status', 'ingest_attempts']);
  const [counts, stuck, fallback, muxErrors, events] = await Promise.all([
    videosTable ? countByStatus(executor) : untilMigration(1),
    videosTable ? findStuck(executor, thresholds) : untilMigration(1),
    fallbackReady ? findFallbackRows(executor, thresholds.sampleLimit) : untilMigration(2),
    errorsReady ? recentMuxErrors(executor, thresholds.sampleLimit) : untilMigration(2),
    hasTable(capabilities, 'video_events') ? unacknowledgedEvents(executor, thresholds.sampleLimit) : untilMigration(6),
  ]);
  return {
    generatedAt: now(),
    thresholds,
    schema: {
      muxColumns: muxColumnReport(capabilities.columns.get('videos') ?? []),
      deferredTable: hasTable(capabilities, 'deferred_mux_data'),
    },
    counts,
    stuck,
    fallback,
    muxErrors,
    unacknowledgedEvents: events,
  };
}

/** The parsed configuration the diagnostics page describes. */
export interface DiagnosticsConfigurationInput {
  readonly stage: string | null;
  readonly region: string | null;
  readonly database: DriverConfig;
  readonly capabilityTtlMs: number;
  /** UPLOAD_BUCKET and UPLOAD_PREFIX as set (the admin function uses no storage, so nothing else is parsed). */
  readonly storage: { readonly bucket: string | null; readonly prefix: string | null };
  readonly thresholds: DiagnosticsThresholds;
  /** Mux's configuration, or why it could not be parsed. */
  readonly mux: MuxConfig | Error;
}

/**
 * What the function runs with, for the diagnostics page: names, sizes and switches only. No credentials, no
 * connection strings (DATABASE_URL may hold a password), no secret ARNs.
 */
export function diagnosticsConfiguration(input: DiagnosticsConfigurationInput): Record<string, unknown> {
  const { database } = input;
  // A malformed MUX_* value is exactly what an operator opens this page to find; the message names the variable.
  const mux = input.mux instanceof Error ? { configured: false, credentialSource: 'none', error: input.mux.message } : describeMuxConfig(input.mux);
  return {
    stage: input.stage,
    region: input.region,
    database: {
      driver: database.kind,
      ...(database.kind === 'data-api' && { name: database.database, localEndpoint: database.endpoint !== undefined }),
      ...(database.kind === 'pglite' && { persistent: database.dataDir !== undefined }),
    },
    storage: input.storage,
    thresholds: input.thresholds,
    mux,
    capabilityTtlMs: input.capabilityTtlMs,
  };
}
