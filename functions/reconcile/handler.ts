/**
 * The retry-and-reconcile Lambda. On its schedule (an EventBridge event) it runs every sweep — if there is work or
 * the database is awake anyway: first it lists the "work pending" markers in the bucket and asks CloudWatch whether
 * the writer has been up (shared/runtime/idle-gate.ts); with neither it returns at once, with zero Data API calls,
 * so a paused Aurora writer stays paused. Invoked directly (`aws lambda invoke --payload
 * '{"action":"backfill","limit":50}'`, or `{}` for every sweep) it always runs. Returns the summary
 * `{ restored, reconciled, refreshed, captions, retried, backfilled, stranded, deleted, republished, failed, more }`
 * (shared/videos/reconcile-service.ts); a scheduled run adds `gate` (why it ran or skipped) and, when it skipped,
 * `skipped: true`. Its thresholds, batch and time budget are the RECONCILE_* variables ({@link reconcileSweepSettingsFromEnv}).
 */
import * as z from '../../shared/zod.js';
import { readDuration, readInteger, type Env } from '../../shared/config/reader.js';
import { ValidationError } from '../../shared/errors.js';
import { muxSettingsFromEnv, type MuxSettings } from '../../shared/mux/config.js';
import { functionConfigFromEnv, functionLogger, functionMetrics, type FunctionConfig } from '../../shared/runtime/config.js';
import { databaseActivityProbe, databaseActivitySettingsFromEnv, type DatabaseActivityProbe, type DatabaseActivitySettings } from '../../shared/runtime/database-activity.js';
import { databaseConfigFromEnv, functionDatabase, type DatabaseConfig, type DatabaseFunctionOptions } from '../../shared/runtime/database.js';
import { decideScheduledRun, type GateReason } from '../../shared/runtime/idle-gate.js';
import { lazyHandler, once } from '../../shared/runtime/lazy.js';
import { muxRuntime } from '../../shared/runtime/mux.js';
import { storageOnDemand } from '../../shared/runtime/storage-on-demand.js';
import { functionDeadLetterDrain } from '../../shared/runtime/dead-letter-drain.js';
import { deadLetterQueueSettingsFromEnv, type DeadLetterQueueSettings } from '../../shared/queue/dead-letter-queue.js';
import type { DeadLetterDrainReport, DeadLetterQueue } from '../../shared/videos/dead-letters.js';
import { optionalStorageSettingsFromEnv, type StorageSettings } from '../../shared/storage/config.js';
import { pendingWorkSettingsFromEnv, type PendingWork, type PendingWorkSettings } from '../../shared/storage/pending-work.js';
import { pendingWorkFor } from '../../shared/storage/pending-work-sweep.js';
import { AssetOwnership } from '../../shared/videos/asset-ownership.js';
import { CaptionsService } from '../../shared/videos/captions-service.js';
import type { IngestService, IngestServiceOptions } from '../../shared/videos/ingest-service.js';
import { ingestSettingsFromEnv } from '../../shared/videos/ingest-settings.js';
import { emptySummary, reconcileActions, ReconcileService, type ReconcileServiceOptions, type ReconcileSummary } from '../../shared/videos/reconcile-service.js';
import { VideoSweepDB } from '../../shared/db/video-sweeps-db.js';
import { deletionSettingsFromEnv, VideoDeletion, type VideoDeletionOptions } from '../../shared/videos/video-deletion.js';
import { eventBusSettingsFromEnv, type EventBusSettings } from '../../shared/events/config.js';
import { functionEventPublishing, type EventFunctionOptions } from '../../shared/runtime/events.js';

export interface ReconcileHandlerOptions extends DatabaseFunctionOptions, EventFunctionOptions {
  /** Instead of the markers PENDING_WORK_BUCKET names (tests): reconcile lists and clears them too. */
  readonly pendingWork?: PendingWork;
  /** Instead of the probe DATABASE_CLUSTER_ID / DATABASE_ACTIVITY_URL name (tests). */
  readonly activityProbe?: DatabaseActivityProbe;
  /** Instead of the ingest DLQ INGEST_DLQ_URL names (tests). */
  readonly deadLetterQueue?: DeadLetterQueue;
  readonly now?: () => Date;
}

/** A scheduled run's summary: why it ran, or that it skipped (all counts zero); what the dead-letter drain did. */
export type ReconcileResult = ReconcileSummary & { readonly gate?: GateReason; readonly skipped?: true; readonly deadLetters?: DeadLetterDrainReport | null };

/** Everything the reconcile function reads from its environment, parsed once at cold start. */
export interface ReconcileConfig extends FunctionConfig {
  readonly database: DatabaseConfig;
  readonly mux: MuxSettings;
  /** The bucket is needed only by sweeps that ingest or write captions; undefined when UPLOAD_BUCKET is unset. */
  readonly storage: StorageSettings | undefined;
  /** INGEST_DLQ_URL and INGEST_QUEUE_URL: the ingest DLQ this run drains (unset: no drain, as before issue N). */
  readonly deadLetters: DeadLetterQueueSettings | undefined;
  readonly ingest: Pick<IngestServiceOptions, 'inputUrlTtlSeconds' | 'staleClaimSeconds'>;
  /** MAX_INGEST_ATTEMPTS: the service's default when unset. */
  readonly maxIngestAttempts: number | undefined;
  readonly deletion: Pick<VideoDeletionOptions, 'ingestGraceSeconds'>;
  /** PENDING_WORK_BUCKET: where the markers are; undefined: none, and every scheduled run sweeps. */
  readonly pendingWork: PendingWorkSettings | undefined;
  /** DATABASE_CLUSTER_ID or DATABASE_ACTIVITY_URL, the auto-pause delay and the probe's window. */
  readonly activity: DatabaseActivitySettings;
  /** EVENT_BUS_NAME: where the lifecycle changes this function makes are announced (unset: recorded only). */
  readonly events: EventBusSettings | undefined;
  /** EVENTS_SWEEP_AFTER_SECONDS: how old an unacknowledged event must be before the sweep republishes it (default 60). */
  readonly eventGraceSeconds: number | undefined;
  /** The RECONCILE_* thresholds, batch size and time budget; unset ones take the service's defaults. */
  readonly sweeps: ReconcileSweepSettings;
}

/** The sweeps' settings the environment may set (the service's defaults apply to the others). */
export type ReconcileSweepSettings = Pick<
  ReconcileServiceOptions,
  'batchSize' | 'timeBudgetSeconds' | 'backfillAfterSeconds' | 'strandedAfterSeconds' | 'strandedMaxAgeSeconds' | 'refreshAfterSeconds'
>;

/**
 * RECONCILE_BATCH_SIZE (items per round of each sweep, 1–1000, default 100), RECONCILE_TIME_BUDGET_SECONDS (how long
 * a run may go on with further rounds, 1–900, default 240; always cut to the Lambda's remaining time),
 * RECONCILE_BACKFILL_AFTER_SECONDS (`uploaded` for this long: backfilled; default 600), RECONCILE_STRANDED_AFTER_SECONDS
 * and RECONCILE_STRANDED_MAX_AGE_SECONDS (`awaiting_upload` between these ages: its object is looked for in S3; default
 * 600 and 7 days), RECONCILE_REFRESH_AFTER_SECONDS (`processing` with an asset unchanged this long: re-read from Mux;
 * default 3600). The stale-claim age is the ingest's INGEST_STALE_CLAIM_SECONDS.
 */
export function reconcileSweepSettingsFromEnv(env: Env): ReconcileSweepSettings {
  const entries = {
    batchSize: readInteger(env, 'RECONCILE_BATCH_SIZE', { min: 1, max: 1000 }),
    timeBudgetSeconds: readDuration(env, 'RECONCILE_TIME_BUDGET_SECONDS', 'seconds', { min: 1, max: 900 }),
    backfillAfterSeconds: readDuration(env, 'RECONCILE_BACKFILL_AFTER_SECONDS', 'seconds', { min: 0 }),
    strandedAfterSeconds: readDuration(env, 'RECONCILE_STRANDED_AFTER_SECONDS', 'seconds', { min: 0 }),
    strandedMaxAgeSeconds: readDuration(env, 'RECONCILE_STRANDED_MAX_AGE_SECONDS', 'seconds', { min: 1 }),
    refreshAfterSeconds: readDuration(env, 'RECONCILE_REFRESH_AFTER_SECONDS', 'seconds', { min: 0 }),
  };
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined));
}

export function reconcileConfigFromEnv(env: Env): ReconcileConfig {
  return {
    ...functionConfigFromEnv(env),
    database: databaseConfigFromEnv(env),
    mux: muxSettingsFromEnv(env),
    storage: optionalStorageSettingsFromEnv(env),
    deadLetters: deadLetterQueueSettingsFromEnv(env),
    ingest: ingestSettingsFromEnv(env),
    maxIngestAttempts: readInteger(env, 'MAX_INGEST_ATTEMPTS', { min: 1 }),
    deletion: deletionSettingsFromEnv(env),
    pendingWork: pendingWorkSettingsFromEnv(env),
    activity: databaseActivitySettingsFromEnv(env),
    events: eventBusSettingsFromEnv(env),
    eventGraceSeconds: readDuration(env, 'EVENTS_SWEEP_AFTER_SECONDS', 'seconds', { min: 0 }),
    sweeps: reconcileSweepSettingsFromEnv(env),
  };
}

/** EventBridge's scheduled event: the one invocation that may skip. Anything else is an operator's, and runs. */
function isScheduledEvent(event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const fields = event as Record<string, unknown>;
  return fields['detail-type'] === 'Scheduled Event' && fields.source === 'aws.events';
}

const invocation = z.strictObject({
  action: z.enum(reconcileActions),
  limit: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(1000))),
});

/** A direct invocation names an action; anything without one (the schedule's EventBridge event) runs them all. */
function parseRequest(event: unknown): { actions: readonly (typeof reconcileActions)[number][]; limit?: number } {
  if (typeof event !== 'object' || event === null || !('action' in event)) return { actions: reconcileActions };
  const parsed = invocation.safeParse(event);
  if (!parsed.success) {
    throw new ValidationError(`Invalid reconcile request: expected { "action": ${reconcileActions.map((action) => `"${action}"`).join(' | ')}, "limit"?: 1..1000 }`);
  }
  return { actions: [parsed.data.action], ...(parsed.data.limit === undefined ? {} : { limit: parsed.data.limit }) };
}

export async function createHandler(env: Env, options: ReconcileHandlerOptions = {}): Promise<(event: unknown) => Promise<ReconcileResult>> {
  const config = reconcileConfigFromEnv(env);
  const logger = functionLogger(config, 'reconcile', options);
  const metrics = functionMetrics(logger, 'reconcile', options);
  const now = options.now ?? (() => new Date());
  const pendingWork = options.pendingWork ?? pendingWorkFor(config.pendingWork, { logger, now });
  const activityProbe = options.activityProbe ?? databaseActivityProbe(config.activity);
  // Building the data layer makes no Data API call (the capability cache reads the catalog on first use), so a run
  // that skips has touched nothing but S3 and CloudWatch.
  const publishing = functionEventPublishing(config.events, config.mux.playbackPolicy, logger, options);
  const { driver, videos, capabilities, events } = await functionDatabase(config.database, logger, options, { metrics, pendingWork, events: publishing });
  const mux = muxRuntime(config.mux);
  const settings = config.ingest;
  // Most runs find nothing to ingest and no captions to write: the ingest service and the S3 client it brings are
  // loaded by the first sweep that needs them, not at cold start (the settings were checked with the rest).
  const storage = storageOnDemand(config.storage);
  // Receives first, without a database call: a run whose DLQ is empty touches nothing more (K's rule).
  const drainDeadLetters = functionDeadLetterDrain(config.deadLetters, { videos, storage, logger, ...(options.deadLetterQueue && { queue: options.deadLetterQueue }) });
  const deletion = new VideoDeletion({ executor: driver, storage, gateway: mux.gateway, binding: mux.binding, logger, capabilities, ...(events && { events }), ...config.deletion });
  const ingestService = once(async () => {
    const { IngestService } = await import('../../shared/videos/ingest-service.js');
    return new IngestService({ videos, storage: await storage(), gateway: mux.gateway, binding: mux.binding, logger, deletion: async () => deletion, ...settings });
  });
  const ingest: Pick<IngestService, 'ingestVideo'> = { ingestVideo: async (video, request) => (await ingestService()).ingestVideo(video, request) };
  const captions = new CaptionsService({ storage, urls: mux.urls, playbackPolicy: mux.config.playbackPolicy, signingKey: () => mux.config.loadSigningKey(), logger });
  const ownership = new AssetOwnership({ binding: mux.binding, gateway: mux.gateway, storage });
  const { maxIngestAttempts } = config;
  const reconcile = new ReconcileService({
    videos,
    ingest,
    captions,
    mux,
    ownership,
    deletion,
    ...(events && { events }),
    sweepDb: new VideoSweepDB({ executor: driver, capabilities }),
    storage,
    ...config.sweeps,
    ...(config.storage && { uploadUrlTtlSeconds: config.storage.config.uploadUrlTtlSeconds }),
    ...(config.eventGraceSeconds === undefined ? {} : { eventGraceSeconds: config.eventGraceSeconds }),
    logger,
    metrics,
    ...(maxIngestAttempts === undefined ? {} : { maxIngestAttempts }),
    ...(settings.staleClaimSeconds === undefined ? {} : { staleClaimSeconds: settings.staleClaimSeconds }),
  });
  // Every run counts every result, zeros too (a skipped one as well): a graph with a point per run shows that the
  // schedule runs. (`restored` is DeferredPayloadsRestored, counted by the service with the pending gauge.)
  const countResults = (summary: ReconcileSummary, properties: Record<string, unknown>) => {
    metrics.count('ReconcileRecovered', summary.reconciled, { properties });
    metrics.count('ReconcileRefreshed', summary.refreshed, { properties });
    metrics.count('ReconcileCaptions', summary.captions, { properties });
    metrics.count('ReconcileRetried', summary.retried, { properties });
    metrics.count('ReconcileBackfilled', summary.backfilled, { properties });
    metrics.count('ReconcileStranded', summary.stranded, { properties });
    metrics.count('ReconcileFailed', summary.failed, { properties });
  };
  return async (event) => {
    const request = parseRequest(event);
    const scheduled = isScheduledEvent(event);
    // One budget for the whole invocation: the sweeps', then the dead-letter drain's further batches.
    const deadline = reconcile.deadlineFromNow();
    const timeUp = () => Date.now() >= deadline; // the service's clock
    const decision = scheduled
      ? await decideScheduledRun({ pendingWork, probe: activityProbe, autoPauseSeconds: config.activity.autoPauseSeconds, slackSeconds: config.activity.slackSeconds, logger }, now())
      : null;
    const gateFields = decision && {
      gate: decision.reason,
      markers: decision.listing?.markers.length ?? null,
      lastSweepAt: decision.listing?.lastSweepAt?.toISOString() ?? null,
      lastActiveAt: decision.activity?.lastActiveAt?.toISOString() ?? null,
    };
    if (decision && !decision.run) {
      logger.info('reconcile.skipped_idle', { ...gateFields });
      const skipped = emptySummary();
      countResults(skipped, { actions: request.actions, skipped: decision.reason });
      // Dead letters are work even when nothing else is: the drain reads the database only for a message it holds.
      const deadLetters = drainDeadLetters ? await drainDeadLetters(timeUp) : null;
      return { ...skipped, gate: decision.reason, skipped: true, ...(drainDeadLetters && { deadLetters }) };
    }
    if (decision) logger.info('reconcile.gate', { ...gateFields });
    // Listed before the sweeps: a marker noted while they run is newer, not in this list, and kept for the next run.
    const listing = decision?.listing ?? (request.actions.length === reconcileActions.length ? await listOrNull(pendingWork, logger) : null);
    const summary = await reconcile.run(request.actions, request.limit, deadline);
    countResults(summary, { actions: request.actions, more: summary.more });
    await afterSweeps(pendingWork, listing, summary, request.actions.length === reconcileActions.length, logger);
    if (request.actions.includes('reconcile')) await awaitUploads(pendingWork, reconcile, logger);
    // After the sweeps, so a dead letter whose video they just moved on is deleted rather than redriven.
    const deadLetters = drainDeadLetters && request.actions.length === reconcileActions.length ? await drainDeadLetters(timeUp) : null;
    const drained = drainDeadLetters ? { deadLetters } : {};
    return decision ? { ...summary, gate: decision.reason, ...drained } : { ...summary, ...drained };
  };
}

async function listOrNull(pendingWork: PendingWork, logger: ReturnType<typeof functionLogger>) {
  if (!pendingWork.durable) return null;
  return pendingWork.list().catch((error: unknown) => {
    logger.warn('reconcile.gate_listing_failed', { error });
    return null;
  });
}

/**
 * An upload that may still strand (ReconcileService.uploadsMayStrand) leaves a marker for the next scheduled run,
 * written after the listed markers were cleared so that this run does not clear it. Each such run costs one query
 * more, and wakes a paused database once a period until the upload arrived or its window passed. A failure is
 * logged: the next run with traffic sweeps anyway.
 */
async function awaitUploads(pendingWork: PendingWork, reconcile: Pick<ReconcileService, 'uploadsMayStrand'>, logger: ReturnType<typeof functionLogger>): Promise<void> {
  if (!pendingWork.durable) return;
  try {
    if (await reconcile.uploadsMayStrand()) await pendingWork.note('upload', { reason: 'awaiting_upload' });
  } catch (error) {
    logger.warn('reconcile.awaited_uploads_failed', { error });
  }
}

/**
 * After the sweeps: the time they ran is stamped (the gate tells its own activity from traffic by it), and the
 * markers listed before them are cleared — only after a run of every sweep that had no failure and left no work
 * (`more`); otherwise they stay and the next scheduled run sweeps again. A failure here is logged: at worst the next
 * run sweeps once more.
 */
async function afterSweeps(
  pendingWork: PendingWork,
  listing: Awaited<ReturnType<PendingWork['list']>> | null,
  summary: ReconcileSummary,
  everySweep: boolean,
  logger: ReturnType<typeof functionLogger>,
): Promise<void> {
  if (!pendingWork.durable) return;
  try {
    await pendingWork.stampSweep(listing?.stampKeys ?? []);
    if (listing === null || !everySweep) return;
    if (summary.failed > 0 || summary.more) {
      logger.info('reconcile.markers_kept', { markers: listing.markers.length, failed: summary.failed, more: summary.more });
      return;
    }
    await pendingWork.clear(listing.markers.map((marker) => marker.key));
    if (listing.markers.length > 0) logger.info('reconcile.markers_cleared', { markers: listing.markers.length });
  } catch (error) {
    logger.warn('reconcile.markers_update_failed', { error });
  }
}

export const handler = lazyHandler<unknown, unknown, ReconcileResult>(() => createHandler(process.env));
