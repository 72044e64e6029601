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
import { utcNow } from '../migrations/0001_basic_videos.js';
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

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && typeof parsed[1] === 'string' &&
      /^\d{4}-\d{2}-\d{2}[ T][\d:.]+$/.test(parsed[0]) && /^[0-9a-f-]{36}$/i.test(parsed[1])) {
      return { createdAt: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through to the typed error
  }
  throw new ValidationError('cursor is not one this API returned', [{ path: ['cursor'], message: 'invalid cursor' }]);
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

  async findByS3Key(s3Key: string): Promise<VideoRecord | null> {
    const { rows } = await this.#executor.execute('SELECT * FROM videos WHERE s3_key = :s3Key', { s3Key });
    return rows[0] ? videoFromRow(rows[0]) : null;
  }

  /** Null when the schema has no `mux_asset_id` column yet or no video has the asset. */
  async findByMuxAssetId(assetId: string): Promise<VideoRecord | null> {
    return this.#capabilities.withCapabilities(async (capabilities) => {
      if (!hasColumn(capabilities, 'videos', 'mux_asset_id')) return null;
      const { rows } = await this.#executor.execute('SELECT * FROM videos WHERE mux_asset_id = :assetId', { assetId });
      return rows[0] ? videoFromRow(rows[0]) : null;
    });
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
      const sets = [`status = ${add(change.to)}`];
      if (change.set && 's3UploadId' in change.set) sets.push(`s3_upload_id = ${add(change.set.s3UploadId ?? null)}`);
      const allowed = change.from.map((status) => add(status)).join(', ');
      return { sets, guard: `status IN (${allowed})` };
    });
  }

  /**
   * Applies what Mux reported about an asset, never moving a video backwards: the update is refused when the stored
   * Mux status (or, on a legacy schema, the video status) ranks above the reported one, or when the video has since
   * moved on to another asset. A cancelled video is left alone.
   */
  async applyMuxProgress(id: string, report: { assetId: string; videoStatus?: VideoStatus; mux: Partial<MuxFields> }): Promise<UpdateResult> {
    return this.#update(id, report.mux, (capabilities, add) => {
      const sets: string[] = [];
      const guards = [`status <> 'cancelled'`];
      if (report.videoStatus !== undefined) {
        const next = add(report.videoStatus);
        sets.push(`status = CASE WHEN ${videoStatusRank('status')} <= ${videoStatusRank(next)} THEN ${next} ELSE status END`);
      }
      if (hasColumn(capabilities, 'videos', 'mux_asset_id')) {
        guards.push(`(mux_asset_id IS NULL OR mux_asset_id = ${add(report.assetId)})`);
      }
      if (report.mux.status != null && hasColumn(capabilities, 'videos', 'mux_status')) {
        guards.push(`${muxStatusRank('mux_status')} <= ${muxStatusRank(add(report.mux.status))}`);
      } else if (report.videoStatus !== undefined) {
        guards.push(`${videoStatusRank('status')} <= ${videoStatusRank(add(report.videoStatus))}`);
      }
      return { sets, guard: guards.join(' AND ') };
    });
  }

  /** Writes Mux fields unconditionally (operators' tools, reconciliation). Missing columns are deferred. */
  async updateMuxFields(id: string, fields: Partial<MuxFields>): Promise<UpdateResult> {
    return this.#update(id, fields, () => ({ sets: [], guard: 'TRUE' }));
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

  async #update(
    id: string,
    mux: Partial<MuxFields> | undefined,
    build: (capabilities: SchemaCapabilities, add: (value: ParamValue) => string) => { sets: string[]; guard: string },
  ): Promise<UpdateResult> {
    const given = muxFieldsOf(mux);
    const outcome = await this.#capabilities.withCapabilities(async (capabilities) => {
      const params: Record<string, ParamValue> = { id: sqlValue.uuid(id) };
      let counter = 0;
      const add = (value: ParamValue) => {
        counter += 1;
        params[`v${counter}`] = value;
        return `:v${counter}`;
      };
      const { sets, guard } = build(capabilities, add);
      const writable = given.filter((field) => hasColumn(capabilities, 'videos', muxFieldColumns[field].column));
      for (const field of writable) {
        sets.push(`${muxFieldColumns[field].column} = ${add(encodeColumn(muxFieldColumns[field], mux?.[field]))}`);
      }
      sets.push(`updated_at = ${utcNow}`);
      const { rows } = await this.#executor.execute(
        `UPDATE videos SET ${sets.join(', ')} WHERE id = :id AND ${guard} RETURNING *`,
        params as Params,
      );
      return { row: rows[0], capabilities, writable };
    });
    const deferredFields = given.filter((field) => !outcome.writable.includes(field));
    if (deferredFields.length > 0 && outcome.row) {
      await this.#defer(id, mux ?? {}, deferredFields, outcome.capabilities, 'videodb.update.deferred_mux_data');
    }
    return { video: outcome.row ? videoFromRow(outcome.row) : null, deferredFields };
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
