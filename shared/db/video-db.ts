/**
 * VideoDB: every read and write of the `videos` table, aware of which Mux columns the schema has.
 *
 * Writes are built from the cached {@link SchemaCapabilities}: a field whose column exists is written, a field whose
 * column is missing is *deferred* (deferred-mux-data.ts), so nothing is silently dropped and the reconcile job can
 * restore it after the migration. A warm write is one statement: no catalog query, no try-then-retry. The UPDATE
 * itself is built in video-write.ts; the order statuses move in is the video domain's (shared/videos/status-rules.ts).
 */
import { CapabilityCache, hasColumn, hasTable, type SchemaCapabilities } from './capabilities.js';
import { sqlValue, type Executor, type Params, type ParamValue } from './driver.js';
import { deferMuxFields, listDeferredMuxData, markDeferredReconciled } from './deferred-mux-data.js';
import { utcNow } from './schema.js';
import { decodeCursor, encodeCursor } from './video-cursor.js';
import { muxFieldColumns, videoFromRow, type MuxFields, type VideoRecord, type VideoStatus } from './video-fields.js';
import type {
  AssetBinding,
  ClaimIngestOptions,
  CreateResult,
  ListOptions,
  ListPage,
  MuxEventChange,
  MuxEventKey,
  MuxEventResult,
  NewVideo,
  UpdateResult,
  VideoDBOptions,
} from './video-types.js';
import { bindingClause, byId, progressGuard } from './video-clauses.js';
import { insertVideo } from './video-insert.js';
import { executeVideoWrite, givenMuxFields, SqlParams, type VideoWrite, type WriteOutcome, type WritePlan } from './video-write.js';
import { noLifecycleEvents, type LifecycleEventSink } from './video-events-db.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { noMetrics, type Metrics } from '../metrics.js';
import { acceptsAssetEvents, muxStatusRank, perAssetFields, stillLiving, videoStatusRank } from '../videos/status-rules.js';

export type * from './video-types.js';
export { videoStatuses, type MuxField, type MuxFields, type VideoRecord, type VideoStatus } from './video-fields.js';

export class VideoDB {
  readonly #executor: Executor;
  readonly #capabilities: CapabilityCache;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #onDeferred: VideoDBOptions['onDeferred'];
  readonly #events: LifecycleEventSink;

  constructor(options: VideoDBOptions) {
    this.#executor = options.executor;
    this.#capabilities = options.capabilities ?? new CapabilityCache(options.executor);
    this.#logger = options.logger ?? silentLogger;
    this.#metrics = options.metrics ?? noMetrics;
    this.#onDeferred = options.onDeferred;
    this.#events = options.events ?? noLifecycleEvents;
  }

  get capabilities(): CapabilityCache {
    return this.#capabilities;
  }

  /**
   * Writes every field the schema can hold; the result says what was deferred. While columns are believed missing,
   * the INSERT fits itself to the live schema (video-insert.ts), so the first create after a migration is complete.
   */
  async createWithFallback(input: NewVideo): Promise<CreateResult> {
    const given = givenMuxFields(input.mux);
    const result = await this.#capabilities.withCapabilities(async (capabilities) => {
      this.#logger.debug(capabilities.mux.exist ? 'videodb.create.attempt_full' : 'videodb.create.attempt_adaptive', { videoId: input.id });
      return { ...(await insertVideo(this.#executor, capabilities, input, given)), capabilities };
    });
    if (result.schemaChanged) {
      this.#capabilities.invalidate();
      this.#logger.info('videodb.create.schema_changed', { videoId: input.id, missingColumns: result.missingColumns });
    }
    const deferredFields = given.filter((field) => !result.writable.includes(field));
    const missingColumns = [...result.missingColumns];
    const usedFallback = missingColumns.length > 0;
    this.#logger.info(usedFallback ? 'videodb.create.fallback_basic' : 'videodb.create.full_ok', {
      videoId: input.id,
      ...(usedFallback ? { missingColumns } : {}),
    });
    if (usedFallback) this.#metrics.count('FallbackCreates', 1, { properties: { videoId: input.id, missingColumns } });
    await this.#announce(result);
    if (deferredFields.length > 0) {
      // Where to defer to is a question of the live schema too (a half-applied migration may have added the table).
      const capabilities = result.schemaChanged ? await this.#capabilities.get() : result.capabilities;
      await deferMuxFields(this.#executor, this.#logger, capabilities, { videoId: input.id, mux: input.mux ?? {}, fields: deferredFields, event: 'videodb.create.deferred_mux_data' }, this.#metrics, this.#onDeferred);
    }
    return { video: videoFromRow(result.row), usedFallback, missingColumns, deferredFields };
  }

  async findById(id: string): Promise<VideoRecord | null> {
    const { rows } = await this.#executor.execute('SELECT * FROM videos WHERE id = :id', { id: sqlValue.uuid(id) });
    return rows[0] ? videoFromRow(rows[0]) : null;
  }

  /** The video an asset is bound to (see {@link AssetBinding}), or null. */
  async findBound(binding: AssetBinding): Promise<VideoRecord | null> {
    const capabilities = await this.#capabilities.get();
    const params = new SqlParams('b');
    const where = bindingClause(capabilities, binding, params);
    if (where === null) return null;
    const { rows } = await this.#executor.execute(`SELECT * FROM videos WHERE ${where} LIMIT 1`, params.values as Params, { idempotent: true });
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
    return this.#update(id, change.set?.mux, 'overwrite', (_capabilities, params) => {
      const sets = [`status = ${params.add(change.to)}`];
      if (change.set && 's3UploadId' in change.set) sets.push(`s3_upload_id = ${params.add(change.set.s3UploadId ?? null)}`);
      return { sets, guard: `status IN (${change.from.map((status) => params.add(status)).join(', ')})` };
    });
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
    switch (change.kind) {
      case 'none':
        return this.#write({ plan: null, event });
      case 'progress':
        return this.#write({
          event,
          mux: change.mux,
          muxMode: 'progress',
          plan: (capabilities, params) => ({
            where: bindingClause(capabilities, change.binding, params),
            ...progressGuard(capabilities, params, change),
          }),
        });
      case 'asset_deleted':
        return this.#write({
          event,
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
          plan: (capabilities, params) => ({
            where: bindingClause(capabilities, change.binding, params),
            sets: [`status = 'errored'`],
            guard: acceptsAssetEvents,
          }),
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
    return this.#update(id, undefined, 'overwrite', (capabilities, params) => {
      const counted = hasColumn(capabilities, 'videos', 'ingest_attempts');
      const sets = [`status = 'processing'`, ...(counted ? ['ingest_attempts = ingest_attempts + 1'] : [])];
      if (options.resetAsset === true) {
        for (const field of ['assetId', ...perAssetFields] as const) {
          const column = muxFieldColumns[field].column;
          if (hasColumn(capabilities, 'videos', column)) sets.push(`${column} = NULL`);
        }
        if (hasColumn(capabilities, 'videos', 'mux_status')) sets.push(`mux_status = 'pending'`);
      }
      const claimable = options.from.length > 0 ? [`status IN (${options.from.map((status) => params.add(status)).join(', ')})`] : ['FALSE'];
      if (options.staleClaimSeconds !== undefined && hasColumn(capabilities, 'videos', 'mux_asset_id')) {
        claimable.push(
          `(status = 'processing' AND mux_asset_id IS NULL AND updated_at < ${utcNow} - CAST(${params.add(options.staleClaimSeconds)} AS integer) * interval '1 second')`,
        );
      }
      const guards = [`(${claimable.join(' OR ')})`];
      if (options.maxAttempts !== undefined && counted) guards.push(`ingest_attempts < ${params.add(options.maxAttempts)}`);
      return { sets, guard: guards.join(' AND ') };
    });
  }

  /** Gives a claim back (`processing` → `uploaded`) when the ingest knows it created no asset, so a retry can claim. */
  async releaseIngestClaim(id: string): Promise<UpdateResult> {
    return this.#update(id, undefined, 'overwrite', (capabilities) => ({
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
    const given = new Set(givenMuxFields(attach.mux));
    return this.#update(id, attach.mux, 'overwrite', (capabilities, params) => {
      if (!hasColumn(capabilities, 'videos', 'mux_asset_id')) return { sets: [], guard: stillLiving };
      const own = params.add(attach.mux.assetId);
      const moving = `mux_asset_id IS DISTINCT FROM ${own}`;
      const sets = [`status = CASE WHEN ${moving} AND status IN ('errored', 'ready') THEN 'processing' ELSE status END`];
      for (const field of perAssetFields) {
        const column = muxFieldColumns[field].column;
        if (!given.has(field) && hasColumn(capabilities, 'videos', column)) sets.push(`${column} = CASE WHEN ${moving} THEN NULL ELSE ${column} END`);
      }
      const acceptable = ['mux_asset_id IS NULL', `(mux_asset_id = ${own} AND ${muxStatusRank('mux_status')} <= ${muxStatusRank(`'preparing'`)})`];
      if (attach.replaces !== null) acceptable.push(`mux_asset_id = ${params.add(attach.replaces)}`);
      if (attach.attempt !== null && hasColumn(capabilities, 'videos', 'ingest_attempts')) {
        acceptable.push(`(mux_asset_id <> ${own} AND ingest_attempts = ${params.add(attach.attempt)})`);
      }
      return { sets, guard: `${stillLiving} AND (${acceptable.join(' OR ')})` };
    });
  }

  /**
   * Restores Mux data into columns that do not have it yet (deferred payloads, assets found by passthrough after a
   * migration): empty columns are filled, a Mux status only moves forward, `readyAt` keeps the earliest time, and
   * nothing is written if the video has moved on to another asset. `videoStatus` moves the video forward only.
   */
  async restoreMuxFields(id: string, fields: Partial<MuxFields>, videoStatus?: VideoStatus): Promise<UpdateResult> {
    return this.#update(id, fields, 'restore', (capabilities, params) => {
      const sets: string[] = [];
      const guards = [stillLiving];
      if (videoStatus !== undefined) {
        const next = params.add(videoStatus);
        sets.push(`status = CASE WHEN ${videoStatusRank('status')} < ${videoStatusRank(next)} THEN ${next} ELSE status END`);
      }
      if (fields.assetId && hasColumn(capabilities, 'videos', 'mux_asset_id')) {
        guards.push(`(mux_asset_id IS NULL OR mux_asset_id = ${params.add(fields.assetId)})`);
      }
      return { sets, guard: guards.join(' AND ') };
    });
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
    return listDeferredMuxData(this.#executor, await this.#capabilities.get(), limit);
  }

  /** Marks deferred data as restored into the columns. */
  async markDeferredReconciled(videoId: string): Promise<void> {
    await markDeferredReconciled(this.#executor, videoId);
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

  /** Hands a committed statement's lifecycle event to the sink (which publishes it; it never throws). */
  async #announce(outcome: Pick<WriteOutcome, 'event' | 'change'>): Promise<void> {
    if (outcome.event !== null) await this.#events.recorded([outcome.event]);
    else if (outcome.change !== null) await this.#events.unrecorded([outcome.change]);
  }

  /** An update of the one video `id`. */
  async #update(
    id: string,
    mux: Partial<MuxFields> | undefined,
    muxMode: VideoWrite['muxMode'],
    change: (capabilities: SchemaCapabilities, params: SqlParams) => Omit<WritePlan, 'where'>,
  ): Promise<UpdateResult> {
    const { video, deferredFields } = await this.#write({
      mux,
      ...(muxMode ? { muxMode } : {}),
      plan: (capabilities, params) => ({ where: byId(id, params), ...change(capabilities, params) }),
    });
    return { video, deferredFields };
  }

  /** Runs a write on the live schema (rebuilt once if the schema changed under it), then defers what it could not hold. */
  async #write(write: VideoWrite): Promise<MuxEventResult> {
    const given = givenMuxFields(write.mux);
    const { outcome, capabilities } = await this.#capabilities.withCapabilities(async (capabilities) => ({
      outcome: await executeVideoWrite(this.#executor, capabilities, write),
      capabilities,
    }));
    await this.#announce(outcome);
    const deferredFields = given.filter((field) => !outcome.writable.includes(field));
    const video = outcome.row ? videoFromRow(outcome.row) : null;
    if (deferredFields.length > 0 && video) {
      await deferMuxFields(this.#executor, this.#logger, capabilities, {
        videoId: video.id,
        mux: write.mux ?? {},
        fields: deferredFields,
        event: 'videodb.update.deferred_mux_data',
      }, this.#metrics, this.#onDeferred);
    }
    return { video, deferredFields, recorded: outcome.recorded, duplicate: outcome.duplicate, bound: outcome.bound };
  }
}
