/**
 * VideoDB: every read and write of the `videos` table, aware of which Mux columns the schema has.
 *
 * Writes are built from the cached {@link SchemaCapabilities}: a field whose column exists is written, a field whose
 * column is missing is *deferred* — logged as a structured event and, when the `deferred_mux_data` table exists,
 * kept there — so nothing is silently dropped and the reconcile job can restore it after the migration. A warm
 * write is one statement: no catalog query, no try-then-retry.
 */
import type { Executor, Params, ParamValue, Row } from './driver.js';
import { sqlValue } from './driver.js';
import { CapabilityCache, hasColumn, hasTable, type SchemaCapabilities } from './capabilities.js';
import {
  basicColumns,
  encodeColumn,
  muxFieldColumns,
  muxFieldNames,
  muxStatuses,
  videoFromRow,
  videoStatuses,
  type MuxField,
  type MuxFields,
  type VideoRecord,
  type VideoStatus,
} from './video-fields.js';
import { ValidationError } from '../errors.js';
import { utcNow } from './schema.js';
import type { JsonValue } from './driver.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';

export interface NewVideo {
  id: string;
  ownerId: string;
  title: string;
  description?: string | null;
  originalFilename: string;
  contentType: string;
  sizeBytes: number;
  s3Key: string;
  s3UploadId?: string | null;
  status?: VideoStatus;
  mux?: Partial<MuxFields>;
}

export interface CreateResult {
  video: VideoRecord;
  /** True when the schema lacked Mux columns and the row was written with the basic columns only. */
  usedFallback: boolean;
  /** Mux columns the schema lacked at the time of the write. */
  missingColumns: string[];
  /** Mux fields the caller gave that could not be stored in columns (kept as deferred data instead). */
  deferredFields: MuxField[];
}

export interface UpdateResult {
  /** The row after the update, or null when the guard refused it (or the id does not exist). */
  video: VideoRecord | null;
  deferredFields: MuxField[];
}

/** A Mux webhook event as the `mux_webhook_events` table records it (the id is the idempotency key). */
export interface MuxEventKey {
  id: string;
  type: string;
  objectId: string | null;
}

/**
 * How an event's asset is tied to a video. `{ assetId }`: only through the asset id stored on a video.
 * `{ assetId, videoId, attempt }`: the asset's passthrough verified as reelay's for that video and ingest attempt
 * (shared/mux/binding.ts): the video is bound when it stores this asset id, or — between Mux's create and ingest's
 * write — when it stores none yet and has made that attempt. On a legacy schema (no asset id column) the verified
 * passthrough is all that can be checked.
 */
export type AssetBinding = { readonly assetId: string } | { readonly assetId: string; readonly videoId: string; readonly attempt: number };

/** What a Mux event does to its video; applied in the same statement that records the event. */
export type MuxEventChange =
  /** What Mux reported about an asset, applied without ever moving the video backwards (see progressClause). */
  | { kind: 'progress'; binding: AssetBinding; videoStatus?: VideoStatus; mux: Partial<MuxFields> }
  /** The video's asset is gone: playback fields cleared, video and Mux status `errored` with `error`. */
  | { kind: 'asset_deleted'; binding: AssetBinding; error: string }
  /** Recorded only (an event reelay acknowledges without applying). */
  | { kind: 'none' };

export interface MuxEventResult {
  /** The event id was recorded before: nothing was applied. */
  duplicate: boolean;
  /** False on a schema without `mux_webhook_events`: no deduplication is possible there, the guards still hold. */
  recorded: boolean;
  /** The row after the change; null when no video matched or a guard refused the change. */
  video: VideoRecord | null;
  /** A video is bound to the event's asset, whether or not its guards let the change through (false for `none`). */
  bound: boolean;
  deferredFields: MuxField[];
}

export interface ClaimIngestOptions {
  /** Statuses a video may be claimed from (a compare-and-set). */
  from: readonly VideoStatus[];
  /**
   * Also take over a `processing` video that has no asset id and was last claimed longer ago than this: its ingest
   * died between the claim and storing the asset (needs the Mux columns). Must exceed the ingest function's timeout.
   */
  staleClaimSeconds?: number;
  /** Only claim while `ingest_attempts` is below this (needs the Mux columns). */
  maxAttempts?: number;
  /**
   * A re-ingest: forget the previous asset (its id, playback fields, error, captions) in the same statement, so the
   * new asset's webhooks apply and the old asset's are ignored once the new one is attached.
   */
  resetAsset?: boolean;
}

export interface ListOptions {
  /** Only this owner's videos; omit for all (admins). */
  ownerId?: string;
  limit: number;
  cursor?: string;
}

export interface ListPage {
  videos: VideoRecord[];
  nextCursor: string | null;
}

export interface VideoDBOptions {
  executor: Executor;
  capabilities?: CapabilityCache;
  logger?: Logger;
}

/** Order in which a video moves; a monotonic update never moves it to a lower rank. */
const videoStatusRank = sqlRankExpression(['awaiting_upload', 'uploaded', 'processing', 'errored', 'ready']);
const muxStatusRank = sqlRankExpression(muxStatuses);

/** SQL for the position of `operand` in `order` (-1 when absent), e.g. to compare a stored status with a new one. */
function sqlRankExpression(order: readonly string[]): (operand: string) => string {
  const literal = `ARRAY[${order.map((value) => `'${value}'`).join(', ')}]::text[]`;
  return (operand) => `coalesce(array_position(${literal}, CAST(${operand} AS text)), -1)`;
}

/** Fields that describe one asset: cleared when a video moves to another asset. */
const perAssetFields: readonly MuxField[] = [
  'playbackId', 'uploadId', 'thumbnailUrl', 'streamingUrl', 'mp4Url', 'durationSeconds', 'aspectRatio', 'createdAt', 'readyAt',
  'error', 'textTrackId', 'captionsWebvttUrl', 'captionsSrtUrl', 'transcriptText', 'transcriptConfidence', 'transcriptionJobId',
];

/** Fields that keep their earliest value (a later event observing `ready` again must not move the time). */
const earliestFields: ReadonlySet<MuxField> = new Set(['readyAt']);

function muxFieldsOf(partial: Partial<MuxFields> | undefined): MuxField[] {
  return partial ? muxFieldNames.filter((field) => partial[field] !== undefined) : [];
}

/** Deferred payloads are JSON: timestamps come back as ISO strings and are turned into Dates again. */
function muxFieldsFromJson(payload: Partial<Record<MuxField, unknown>>): Partial<MuxFields> {
  const fields: Partial<Record<MuxField, unknown>> = { ...payload };
  for (const field of ['createdAt', 'readyAt'] as const) {
    const value = fields[field];
    if (typeof value === 'string') fields[field] = new Date(value);
  }
  return fields as Partial<MuxFields>;
}

function encodeCursor(createdAtText: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAtText, id])).toString('base64url');
}

const cursorTimestamp = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?$/;
const uuidText = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A timestamp PostgreSQL will cast: the shape alone lets through `2024-13-01` or `2024-02-30`, whose cast fails
 * (SQLSTATE 22008) and would turn a forged cursor into a 500 instead of a 400.
 */
function isCalendarTimestamp(text: string): boolean {
  const match = cursorTimestamp.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second);
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day &&
    date.getUTCHours() === hour && date.getUTCMinutes() === minute && date.getUTCSeconds() === second;
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && typeof parsed[1] === 'string' &&
      isCalendarTimestamp(parsed[0]) && uuidText.test(parsed[1])) {
      return { createdAt: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through to the typed error
  }
  throw new ValidationError('cursor is not one this API returned', [{ path: ['cursor'], message: 'invalid cursor' }]);
}

type AddParam = (value: ParamValue) => string;
type ClauseBuilder = (capabilities: SchemaCapabilities, add: AddParam) => { sets: string[]; guard: string };
/** The SQL assigned to a Mux field's column; `value` is the encoded parameter, to be added with `add`. */
type AssignColumn = (field: MuxField, column: string, value: ParamValue, add: AddParam) => string;

interface WriteSpec {
  /** The WHERE that finds the row (null: no video to change, the event is only recorded). */
  readonly locate: ((capabilities: SchemaCapabilities, add: AddParam) => string | null) | null;
  readonly mux?: Partial<MuxFields> | undefined;
  /** Null when there is nothing to update. */
  readonly build: (capabilities: SchemaCapabilities, add: AddParam) => { sets: string[]; guard: string } | null;
  readonly assign?: AssignColumn;
  readonly event?: MuxEventKey;
}

const byId = (id: string) => (_capabilities: SchemaCapabilities, add: AddParam) => `id = ${add(sqlValue.uuid(id))}`;

/** WHERE for the videos bound to an asset (see {@link AssetBinding}); null when the schema cannot locate any. */
function bindingClause(capabilities: SchemaCapabilities, binding: AssetBinding, add: AddParam): string | null {
  const storesAsset = hasColumn(capabilities, 'videos', 'mux_asset_id');
  if (!('videoId' in binding)) return storesAsset ? `mux_asset_id = ${add(binding.assetId)}` : null;
  const video = `id = ${add(sqlValue.uuid(binding.videoId))}`;
  if (!storesAsset) return video;
  const attempted = hasColumn(capabilities, 'videos', 'ingest_attempts') ? ` AND ingest_attempts >= ${add(binding.attempt)}` : '';
  return `${video} AND (mux_asset_id = ${add(binding.assetId)} OR (mux_asset_id IS NULL${attempted}))`;
}

/**
 * Mux reports on assets, and an asset only exists once the upload finished and ingest claimed the video: an event
 * never moves a video still waiting for its upload, nor one that was cancelled.
 */
const acceptsAssetEvents = `status NOT IN ('awaiting_upload', 'cancelled')`;

function transitionClause(add: AddParam, change: { from: readonly VideoStatus[]; to: VideoStatus }): { sets: string[]; guard: string } {
  const allowed = change.from.map((status) => add(status)).join(', ');
  return { sets: [`status = ${add(change.to)}`], guard: `status IN (${allowed})` };
}

/**
 * Mux progress never moves a video backwards: the update is refused when the stored Mux status (or, on a legacy
 * schema, the video status) ranks above the reported one. Which asset may report is the binding's business
 * ({@link bindingClause}); which videos may hear from Mux at all, {@link acceptsAssetEvents}.
 */
function progressClause(
  capabilities: SchemaCapabilities,
  add: AddParam,
  report: { videoStatus?: VideoStatus; mux: Partial<MuxFields> },
): { sets: string[]; guard: string } {
  const sets: string[] = [];
  const guards = [acceptsAssetEvents];
  if (report.videoStatus !== undefined) {
    const next = add(report.videoStatus);
    sets.push(`status = CASE WHEN ${videoStatusRank('status')} <= ${videoStatusRank(next)} THEN ${next} ELSE status END`);
  }
  if (report.mux.status != null && hasColumn(capabilities, 'videos', 'mux_status')) {
    guards.push(`${muxStatusRank('mux_status')} <= ${muxStatusRank(add(report.mux.status))}`);
  } else if (report.videoStatus !== undefined) {
    guards.push(`${videoStatusRank('status')} <= ${videoStatusRank(add(report.videoStatus))}`);
  }
  return { sets, guard: guards.join(' AND ') };
}

export class VideoDB {
  readonly #executor: Executor;
  readonly #capabilities: CapabilityCache;
  readonly #logger: Logger;

  constructor(options: VideoDBOptions) {
    this.#executor = options.executor;
    this.#capabilities = options.capabilities ?? new CapabilityCache(options.executor);
    this.#logger = options.logger ?? silentLogger;
  }

  get capabilities(): CapabilityCache {
    return this.#capabilities;
  }

  /** Writes every field the schema can hold; see {@link createWithFallback} for what was deferred. */
  async create(input: NewVideo): Promise<VideoRecord> {
    return (await this.createWithFallback(input)).video;
  }

  async createWithFallback(input: NewVideo): Promise<CreateResult> {
    const given = muxFieldsOf(input.mux);
    const result = await this.#capabilities.withCapabilities(async (capabilities) => {
      this.#logger.debug(capabilities.mux.exist ? 'videodb.create.attempt_full' : 'videodb.create.attempt_basic', { videoId: input.id });
      const writable = given.filter((field) => hasColumn(capabilities, 'videos', muxFieldColumns[field].column));
      const columns: string[] = [];
      const params: Record<string, ParamValue> = {};
      const add = (column: string, value: ParamValue) => {
        columns.push(column);
        params[`p${columns.length}`] = value;
      };
      for (const field of Object.keys(basicColumns) as (keyof typeof basicColumns)[]) {
        if (field === 'createdAt' || field === 'updatedAt') continue;
        const value = field === 'status' ? (input.status ?? 'awaiting_upload') : input[field];
        if (value !== undefined) add(basicColumns[field].column, encodeColumn(basicColumns[field], value));
      }
      for (const field of writable) add(muxFieldColumns[field].column, encodeColumn(muxFieldColumns[field], input.mux?.[field]));
      const placeholders = columns.map((_, index) => `:p${index + 1}`).join(', ');
      const { rows } = await this.#executor.execute(
        `INSERT INTO videos (${columns.join(', ')}) VALUES (${placeholders}) RETURNING *`,
        params,
      );
      return { row: rows[0] as Row, capabilities, writable };
    });
    const deferredFields = given.filter((field) => !result.writable.includes(field));
    const missingColumns = [...result.capabilities.mux.missing];
    const usedFallback = missingColumns.length > 0;
    this.#logger.info(usedFallback ? 'videodb.create.fallback_basic' : 'videodb.create.full_ok', {
      videoId: input.id,
      ...(usedFallback ? { missingColumns } : {}),
    });
    if (deferredFields.length > 0) await this.#defer(input.id, input.mux ?? {}, deferredFields, result.capabilities, 'videodb.create.deferred_mux_data');
    return { video: videoFromRow(result.row), usedFallback, missingColumns, deferredFields };
  }

  async findById(id: string): Promise<VideoRecord | null> {
    const { rows } = await this.#executor.execute('SELECT * FROM videos WHERE id = :id', { id: sqlValue.uuid(id) });
    return rows[0] ? videoFromRow(rows[0]) : null;
  }

  /** The video an asset is bound to (see {@link AssetBinding}), or null. */
  async findBound(binding: AssetBinding): Promise<VideoRecord | null> {
    const capabilities = await this.#capabilities.get();
    const params: Record<string, ParamValue> = {};
    const where = bindingClause(capabilities, binding, (value) => {
      const name = `b${Object.keys(params).length + 1}`;
      params[name] = value;
      return `:${name}`;
    });
    if (where === null) return null;
    const { rows } = await this.#executor.execute(`SELECT * FROM videos WHERE ${where} LIMIT 1`, params, { idempotent: true });
    return rows[0] ? videoFromRow(rows[0]) : null;
  }

  async findByS3Key(s3Key: string): Promise<VideoRecord | null> {
    const { rows } = await this.#executor.execute('SELECT * FROM videos WHERE s3_key = :s3Key', { s3Key });
    return rows[0] ? videoFromRow(rows[0]) : null;
  }

  /** Newest first, keyset-paginated on (created_at, id): page N costs what page 1 costs. */
  async list(options: ListOptions): Promise<ListPage> {
    const params: Record<string, ParamValue> = { limit: options.limit + 1 };
    const where: string[] = [];
    if (options.ownerId !== undefined) {
      where.push('owner_id = :ownerId');
      params.ownerId = options.ownerId;
    }
    if (options.cursor !== undefined) {
      const cursor = decodeCursor(options.cursor);
      // The cursor carries created_at as PostgreSQL printed it, so microseconds survive the round trip.
      where.push('(created_at, id) < (CAST(:cursorCreatedAt AS timestamp), CAST(:cursorId AS uuid))');
      params.cursorCreatedAt = cursor.createdAt;
      params.cursorId = cursor.id;
    }
    const { rows } = await this.#executor.execute(
      `SELECT *, CAST(created_at AS text) AS cursor_created_at FROM videos
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC LIMIT :limit`,
      params,
      { idempotent: true },
    );
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > options.limit && last ? encodeCursor(String(last.cursor_created_at), String(last.id)) : null;
    return { videos: page.map(videoFromRow), nextCursor };
  }

  /**
   * Moves a video between statuses only if it is in one of `from` (a compare-and-set: a redelivered message or a
   * racing request finds the row already moved and gets null). `set` writes further fields in the same statement.
   */
  async transition(
    id: string,
    change: { from: readonly VideoStatus[]; to: VideoStatus; set?: { s3UploadId?: string | null; mux?: Partial<MuxFields> } },
  ): Promise<UpdateResult> {
    return this.#update(id, change.set?.mux, (_capabilities, add) => {
      const clause = transitionClause(add, change);
      if (change.set && 's3UploadId' in change.set) clause.sets.push(`s3_upload_id = ${add(change.set.s3UploadId ?? null)}`);
      return clause;
    });
  }

  /** Writes Mux fields unconditionally (operators' tools, reconciliation). Missing columns are deferred. */
  async updateMuxFields(id: string, fields: Partial<MuxFields>): Promise<UpdateResult> {
    return this.#update(id, fields, () => ({ sets: [], guard: 'TRUE' }));
  }

  /** True when the webhook event was recorded as processed (always false without the events table). */
  async isMuxEventProcessed(eventId: string): Promise<boolean> {
    const capabilities = await this.#capabilities.get();
    if (!hasTable(capabilities, 'mux_webhook_events')) return false;
    const { rows } = await this.#executor.execute('SELECT 1 AS found FROM mux_webhook_events WHERE event_id = :eventId', { eventId });
    return rows.length > 0;
  }

  /**
   * Records a Mux webhook event and applies its change in ONE statement (a data-modifying CTE): the event id is
   * inserted ON CONFLICT DO NOTHING and the guarded update runs only if that insert happened. So a duplicate (even a
   * concurrent one, which waits on the primary key) changes nothing, a failure stores neither the change nor the
   * event (Mux retries), and an event the guards refuse (stale, out of order, for an older asset, for an asset bound
   * to no video) is still recorded as processed. Without the events table (legacy schema) the change is applied with
   * its guards, undeduplicated.
   */
  async applyMuxEvent(event: MuxEventKey, change: MuxEventChange): Promise<MuxEventResult> {
    if (change.kind === 'none') return this.#write({ locate: null, event, build: () => null });
    const base = { locate: (capabilities: SchemaCapabilities, add: AddParam) => bindingClause(capabilities, change.binding, add), event };
    switch (change.kind) {
      case 'progress':
        return this.#write({
          ...base,
          mux: change.mux,
          build: (capabilities, add) => progressClause(capabilities, add, change),
          assign: (field, column, value, add) => (earliestFields.has(field) ? `LEAST(${column}, ${add(value)})` : add(value)),
        });
      case 'asset_deleted':
        return this.#write({
          ...base,
          mux: {
            assetId: change.binding.assetId,
            status: 'errored',
            error: change.error,
            playbackId: null,
            thumbnailUrl: null,
            streamingUrl: null,
            mp4Url: null,
            captionsWebvttUrl: null,
          },
          build: () => ({ sets: [`status = 'errored'`], guard: acceptsAssetEvents }),
        });
    }
  }

  /**
   * Records a webhook that was correctly signed but could not be used (shared/mux/webhooks.ts, RejectedWebhook):
   * `processed_at` stays NULL, which is how a rejected event reads in `mux_webhook_events`. `duplicate` when the same
   * id was recorded before; nothing is recorded without the events table.
   */
  async recordRejectedMuxEvent(event: MuxEventKey): Promise<{ recorded: boolean; duplicate: boolean }> {
    const capabilities = await this.#capabilities.get();
    if (!hasTable(capabilities, 'mux_webhook_events')) return { recorded: false, duplicate: false };
    const { rowCount } = await this.#executor.execute(
      `INSERT INTO mux_webhook_events (event_id, type, object_id) VALUES (:id, :type, :objectId)
       ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
      { id: event.id, type: event.type, objectId: event.objectId },
    );
    return { recorded: rowCount > 0, duplicate: rowCount === 0 };
  }

  /**
   * Claims a video for ingest: moves it to `processing` and counts the attempt, as a compare-and-set, so of two
   * deliveries of the same S3 event only one gets the row (the other gets null and must not create an asset).
   */
  async claimIngest(id: string, options: ClaimIngestOptions): Promise<UpdateResult> {
    return this.#update(id, undefined, (capabilities, add) => {
      const counted = hasColumn(capabilities, 'videos', 'ingest_attempts');
      const sets = [`status = 'processing'`, ...(counted ? ['ingest_attempts = ingest_attempts + 1'] : [])];
      if (options.resetAsset === true) {
        for (const field of ['assetId', ...perAssetFields] as const) {
          const column = muxFieldColumns[field].column;
          if (hasColumn(capabilities, 'videos', column)) sets.push(`${column} = NULL`);
        }
        if (hasColumn(capabilities, 'videos', 'mux_status')) sets.push(`mux_status = 'pending'`);
      }
      const claimable = options.from.length > 0 ? [`status IN (${options.from.map((status) => add(status)).join(', ')})`] : ['FALSE'];
      if (options.staleClaimSeconds !== undefined && hasColumn(capabilities, 'videos', 'mux_asset_id')) {
        claimable.push(
          `(status = 'processing' AND mux_asset_id IS NULL AND updated_at < ${utcNow} - CAST(${add(options.staleClaimSeconds)} AS integer) * interval '1 second')`,
        );
      }
      const guards = [`(${claimable.join(' OR ')})`];
      if (options.maxAttempts !== undefined && counted) guards.push(`ingest_attempts < ${add(options.maxAttempts)}`);
      return { sets, guard: guards.join(' AND ') };
    });
  }

  /** Gives a claim back (`processing` → `uploaded`) when the ingest knows it created no asset, so a retry can claim. */
  async releaseIngestClaim(id: string): Promise<UpdateResult> {
    return this.#update(id, undefined, (capabilities) => ({
      sets: [`status = 'uploaded'`],
      guard: hasColumn(capabilities, 'videos', 'mux_asset_id') ? `status = 'processing' AND mux_asset_id IS NULL` : `status = 'processing'`,
    }));
  }

  /**
   * Stores the asset an ingest created or adopted (`mux.assetId`). Accepted when the video has no asset yet, when it
   * has `replaces` (a re-ingest: the previous asset's fields are cleared and an `errored` video is processing again),
   * when it already has this asset but Mux has not reported beyond `preparing` (a webhook that arrived first is never
   * overwritten), or — while `attempt` is still the video's current ingest attempt — when it has another asset: one
   * a webhook bound between Mux's create and this write, which is not the asset this attempt made (a copy of its
   * tagged passthrough, or an earlier attempt's), so this one replaces it. Null when refused: cancelled, moved on to
   * another attempt, or already further along.
   */
  async attachMuxAsset(
    id: string,
    attach: { replaces: string | null; attempt: number | null; mux: Partial<MuxFields> & { assetId: string } },
  ): Promise<UpdateResult> {
    const given = new Set(muxFieldsOf(attach.mux));
    return this.#update(id, attach.mux, (capabilities, add) => {
      if (!hasColumn(capabilities, 'videos', 'mux_asset_id')) return { sets: [], guard: `status <> 'cancelled'` };
      const own = add(attach.mux.assetId);
      const moving = `mux_asset_id IS DISTINCT FROM ${own}`;
      const sets = [`status = CASE WHEN ${moving} AND status IN ('errored', 'ready') THEN 'processing' ELSE status END`];
      for (const field of perAssetFields) {
        const column = muxFieldColumns[field].column;
        if (!given.has(field) && hasColumn(capabilities, 'videos', column)) sets.push(`${column} = CASE WHEN ${moving} THEN NULL ELSE ${column} END`);
      }
      const acceptable = ['mux_asset_id IS NULL', `(mux_asset_id = ${own} AND ${muxStatusRank('mux_status')} <= ${muxStatusRank(`'preparing'`)})`];
      if (attach.replaces !== null) acceptable.push(`mux_asset_id = ${add(attach.replaces)}`);
      if (attach.attempt !== null && hasColumn(capabilities, 'videos', 'ingest_attempts')) {
        acceptable.push(`(mux_asset_id <> ${own} AND ingest_attempts = ${add(attach.attempt)})`);
      }
      return { sets, guard: `status <> 'cancelled' AND (${acceptable.join(' OR ')})` };
    });
  }

  /**
   * Restores Mux data into columns that do not have it yet (deferred payloads, assets found by passthrough after a
   * migration): empty columns are filled, a Mux status only moves forward, `readyAt` keeps the earliest time, and
   * nothing is written if the video has moved on to another asset. `videoStatus` moves the video forward only.
   */
  async restoreMuxFields(id: string, fields: Partial<MuxFields>, videoStatus?: VideoStatus): Promise<UpdateResult> {
    return this.#update(
      id,
      fields,
      (capabilities, add) => {
        const sets: string[] = [];
        const guards = [`status <> 'cancelled'`];
        if (videoStatus !== undefined) {
          const next = add(videoStatus);
          sets.push(`status = CASE WHEN ${videoStatusRank('status')} < ${videoStatusRank(next)} THEN ${add(videoStatus)} ELSE status END`);
        }
        if (fields.assetId && hasColumn(capabilities, 'videos', 'mux_asset_id')) {
          guards.push(`(mux_asset_id IS NULL OR mux_asset_id = ${add(fields.assetId)})`);
        }
        return { sets, guard: guards.join(' AND ') };
      },
      (field, column, value, add) => {
        if (field === 'status') return `CASE WHEN ${muxStatusRank(column)} < ${muxStatusRank(add(value))} THEN ${add(value)} ELSE ${column} END`;
        if (field === 'audioEnhanced') return `(coalesce(${column}, FALSE) OR ${add(value)})`;
        if (field === 'ingestAttempts') return `GREATEST(${column}, ${add(value)})`;
        if (earliestFields.has(field)) return `LEAST(${column}, ${add(value)})`;
        return `coalesce(${column}, ${add(value)})`;
      },
    );
  }

  /** Videos that reached Mux (processing, ready or errored) without an asset id stored: written before 0002. */
  async listWithoutMuxAsset(limit: number): Promise<VideoRecord[]> {
    return this.#selectVideos(['mux_asset_id'], `status IN ('processing', 'ready', 'errored') AND mux_asset_id IS NULL`, {}, 'created_at', limit);
  }

  /**
   * Errored videos with an asset, tried fewer than `maxAttempts` times, that errored within the last
   * `withinSeconds`, newest first: errors nobody may retry any more age out instead of filling every page.
   */
  async listErroredForRetry(options: { maxAttempts: number; withinSeconds: number; limit: number }): Promise<VideoRecord[]> {
    return this.#selectVideos(
      ['mux_asset_id', 'ingest_attempts'],
      `status = 'errored' AND mux_asset_id IS NOT NULL AND ingest_attempts < :maxAttempts
         AND updated_at >= ${utcNow} - CAST(:withinSeconds AS integer) * interval '1 second'`,
      { maxAttempts: options.maxAttempts, withinSeconds: options.withinSeconds },
      'updated_at DESC',
      options.limit,
    );
  }

  /** Videos uploaded at least `olderThanSeconds` ago that no ingest has claimed (works on every schema). */
  async listAwaitingIngest(olderThanSeconds: number, limit: number): Promise<VideoRecord[]> {
    return this.#selectVideos(
      [],
      `status = 'uploaded' AND updated_at < ${utcNow} - CAST(:olderThanSeconds AS integer) * interval '1 second'`,
      { olderThanSeconds },
      'updated_at',
      limit,
    );
  }

  /** Ready videos with a caption track whose transcript or SRT is still missing. */
  async listMissingCaptions(limit: number): Promise<VideoRecord[]> {
    return this.#selectVideos(
      ['mux_text_track_id', 'transcript_text', 'captions_srt_url'],
      `status = 'ready' AND mux_text_track_id IS NOT NULL AND (transcript_text IS NULL OR captions_srt_url IS NULL)`,
      {},
      'updated_at',
      limit,
    );
  }

  /** Deferred Mux data not yet restored, oldest first (for the reconcile job). */
  async listDeferred(limit: number): Promise<{ videoId: string; fields: Partial<MuxFields> }[]> {
    const capabilities = await this.#capabilities.get();
    if (!hasTable(capabilities, 'deferred_mux_data')) return [];
    const { rows } = await this.#executor.execute<{ video_id: string; payload: Partial<MuxFields> }>(
      'SELECT video_id, payload FROM deferred_mux_data WHERE reconciled_at IS NULL ORDER BY created_at LIMIT :limit',
      { limit },
    );
    return rows.map((row) => ({ videoId: row.video_id, fields: muxFieldsFromJson(row.payload) }));
  }

  /** Marks deferred data as restored into the columns. */
  async markDeferredReconciled(videoId: string): Promise<void> {
    await this.#executor.execute(`UPDATE deferred_mux_data SET reconciled_at = ${utcNow} WHERE video_id = :videoId`, {
      videoId: sqlValue.uuid(videoId),
    });
  }

  /** Empty when the schema lacks one of `requiredColumns`. */
  async #selectVideos(requiredColumns: readonly string[], where: string, params: Params, orderBy: 'created_at' | 'updated_at' | 'updated_at DESC', limit: number): Promise<VideoRecord[]> {
    const capabilities = await this.#capabilities.get();
    if (!requiredColumns.every((column) => hasColumn(capabilities, 'videos', column))) return [];
    const { rows } = await this.#executor.execute(
      `SELECT * FROM videos WHERE ${where} ORDER BY ${orderBy}, id LIMIT :limit`,
      { ...params, limit },
      { idempotent: true },
    );
    return rows.map(videoFromRow);
  }

  async #update(id: string, mux: Partial<MuxFields> | undefined, build: ClauseBuilder, assign?: AssignColumn): Promise<UpdateResult> {
    const { video, deferredFields } = await this.#write({ locate: byId(id), mux, build, ...(assign ? { assign } : {}) });
    return { video, deferredFields };
  }

  /**
   * The one UPDATE builder: `build` gives the SET clauses and guard, every given Mux field whose column exists is
   * written (through `assign`, default `column = value`), the rest deferred. With `event`, the update is wrapped in
   * the statement that records the event (see {@link applyMuxEvent}).
   */
  async #write(spec: WriteSpec): Promise<MuxEventResult> {
    const given = muxFieldsOf(spec.mux);
    const outcome = await this.#capabilities.withCapabilities(async (capabilities) => {
      const params: Record<string, ParamValue> = {};
      let counter = 0;
      const add = (value: ParamValue) => {
        counter += 1;
        params[`v${counter}`] = value;
        return `:v${counter}`;
      };
      const target = spec.locate === null ? null : spec.locate(capabilities, add);
      const built = target === null ? null : spec.build(capabilities, add);
      const writable = built === null ? [] : given.filter((field) => hasColumn(capabilities, 'videos', muxFieldColumns[field].column));
      let update: string | null = null;
      if (built !== null) {
        const sets = [...built.sets];
        for (const field of writable) {
          const column = muxFieldColumns[field].column;
          const value = encodeColumn(muxFieldColumns[field], spec.mux?.[field]);
          sets.push(`${column} = ${spec.assign ? spec.assign(field, column, value, add) : add(value)}`);
        }
        sets.push(`updated_at = ${utcNow}`);
        update = `UPDATE videos SET ${sets.join(', ')} WHERE ${target} AND ${built.guard}`;
      }
      const done = (row: Row | undefined, recorded: boolean, duplicate: boolean, bound: boolean) => ({ row, capabilities, writable, recorded, duplicate, bound });
      if (spec.event === undefined) {
        if (update === null) return done(undefined, false, false, false);
        const { rows } = await this.#executor.execute(`${update} RETURNING *`, params as Params);
        return done(rows[0], false, false, rows.length > 0);
      }
      // Whether a video is bound to the event's asset, seen in the statement's snapshot (before its own update), so
      // an event for an asset that no video owns can be told from one a guard refused.
      const bound = `EXISTS (SELECT 1 FROM videos WHERE ${target ?? 'FALSE'})`;
      const single = (first: Row | undefined, recorded: boolean, duplicate: boolean) =>
        done(first?.id == null ? undefined : first, recorded, duplicate, first?.reelay_event_bound === true);
      if (!hasTable(capabilities, 'mux_webhook_events')) {
        if (update === null) return done(undefined, false, false, false);
        const { rows } = await this.#executor.execute(
          `WITH applied AS (${update} RETURNING videos.*)
           SELECT ${bound} AS reelay_event_bound, applied.* FROM (SELECT 1) AS single LEFT JOIN applied ON TRUE`,
          params as Params,
        );
        return single(rows[0], false, false);
      }
      const record = `INSERT INTO mux_webhook_events (event_id, type, object_id, processed_at)
        VALUES (${add(spec.event.id)}, ${add(spec.event.type)}, ${add(spec.event.objectId)}, ${utcNow})
        ON CONFLICT (event_id) DO NOTHING RETURNING event_id`;
      if (update === null) {
        const { rowCount } = await this.#executor.execute(record, params as Params);
        return done(undefined, rowCount > 0, rowCount === 0, false);
      }
      const { rows } = await this.#executor.execute(
        `WITH recorded AS (${record}),
              applied AS (${update} AND EXISTS (SELECT 1 FROM recorded) RETURNING videos.*)
         SELECT (SELECT count(*) FROM recorded)::int AS reelay_event_recorded, ${bound} AS reelay_event_bound, applied.*
           FROM (SELECT 1) AS single LEFT JOIN applied ON TRUE`,
        params as Params,
      );
      const recorded = Number(rows[0]?.reelay_event_recorded ?? 0) > 0;
      return single(rows[0], recorded, !recorded);
    });
    const deferredFields = given.filter((field) => !outcome.writable.includes(field));
    const video = outcome.row ? videoFromRow(outcome.row) : null;
    if (deferredFields.length > 0 && video) {
      await this.#defer(video.id, spec.mux ?? {}, deferredFields, outcome.capabilities, 'videodb.update.deferred_mux_data');
    }
    return { video, deferredFields, recorded: outcome.recorded, duplicate: outcome.duplicate, bound: outcome.bound };
  }

  /**
   * Keeps Mux data the schema cannot hold yet: always as a structured log event, and in `deferred_mux_data` when that
   * table exists (mid-migration). After the migration the reconcile job restores it from the table or from Mux.
   */
  async #defer(videoId: string, mux: Partial<MuxFields>, fields: MuxField[], capabilities: SchemaCapabilities, event: string): Promise<void> {
    const payload: Record<string, JsonValue> = {};
    for (const field of fields) {
      const value = mux[field];
      payload[field] = value instanceof Date ? value.toISOString() : ((value ?? null) as JsonValue);
    }
    this.#logger.warn(event, { videoId, fields, payload });
    if (!hasTable(capabilities, 'deferred_mux_data')) return;
    await this.#executor.execute(
      `INSERT INTO deferred_mux_data (video_id, payload) VALUES (:videoId, :payload)
       ON CONFLICT (video_id) DO UPDATE SET payload = deferred_mux_data.payload || EXCLUDED.payload, reconciled_at = NULL`,
      { videoId: sqlValue.uuid(videoId), payload: sqlValue.json(payload) },
    );
  }
}

export { videoStatuses, type VideoRecord, type VideoStatus, type MuxFields, type MuxField };
