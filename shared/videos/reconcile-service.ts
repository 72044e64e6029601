/**
 * Retry and reconcile: the sweeps that make sure nothing written during a legacy-schema period, a crash, a lost S3
 * event or a Mux outage stays lost (shared/videos/reconcile/, one module per family).
 *
 * - `reconcile`, in order: deferred Mux data restored (`restore`); assets found again for videos without an asset id,
 *   stale claims re-ingested (`recover`); `processing` videos whose asset has not changed for a while re-read from Mux
 *   (`refresh`); missing captions (`captions`); half-done deletions finished (`deletions`); `awaiting_upload` videos
 *   whose object is in S3 ingested (`stranded`); unpublished lifecycle events republished, last (`events`).
 * - `retry-errored`: errored videos whose error is transient (see {@link isTransientAssetError}) are re-ingested.
 * - `backfill`: videos left `uploaded` (their S3 event went to the DLQ, or they predate the pipeline) are ingested.
 *
 * Each sweep stands on its own: one that fails as a whole (Mux down, the database unreachable past its retries) is
 * logged (`reconcile.sweep_failed`) and counted in `failed`, and the next one runs. A sweep reads a batch at a time
 * and reads again while its batch was full and it made progress, until the run's time budget (cut to the Lambda's
 * remaining time) is spent; a run that stops with work left says `more: true`.
 */
import type { VideoSweepDB } from '../db/video-sweeps-db.js';
import type { EventOutbox } from '../events/outbox.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { noMetrics, type Metrics } from '../metrics.js';
import { invocationRemainingMs } from '../retry.js';
import type { UploadStorage } from '../storage/uploads.js';
import { deletionsSweep, eventsSweep } from './reconcile/cleanup-sweeps.js';
import type { SweepCollaborators, SweepContext } from './reconcile/context.js';
import { backfillSweep, retryErroredSweep, strandedSweep } from './reconcile/ingest-sweeps.js';
import { captionsSweep, recoverSweep, refreshSweep, restoreSweep } from './reconcile/mux-sweeps.js';
import { emptySummary, type ReconcileSummary } from './reconcile/outcomes.js';
import { runSweeps, sweepDeadline, type Sweep } from './reconcile/runner.js';
import type { VideoDeletion } from './video-deletion.js';

export { emptySummary, isTransientAssetError, type ReconcileItemOutcome, type ReconcileSummary } from './reconcile/outcomes.js';

export const reconcileActions = ['reconcile', 'retry-errored', 'backfill'] as const;
export type ReconcileAction = (typeof reconcileActions)[number];

/** Kept back from the invocation's remaining time: the items in flight, the markers and the answer. */
export const sweepSafetyMarginMs = 30_000;

export interface ReconcileServiceOptions extends SweepCollaborators {
  /** Finishes half-done deletions; without it they are left alone (and logged by nobody). */
  readonly deletion?: Pick<VideoDeletion, 'listUnfinished' | 'finish'>;
  /** Republishes unacknowledged events (shared/events/outbox.ts); without it they wait for a function that has one. */
  readonly events?: Pick<EventOutbox, 'sweep'>;
  /** The listings of the `refresh` and `stranded` sweeps; without it (and `storage` for `stranded`) they do not run. */
  readonly sweepDb?: Pick<VideoSweepDB, 'listAwaitingUpload' | 'listStaleProcessing' | 'hasRecentAwaitingUpload'>;
  /** Where `stranded` looks for the objects (a listing of the key); built on first use. */
  readonly storage?: () => Promise<Pick<UploadStorage, 'findObject'>>;
  /** Events younger than this are left to the function publishing them (default 60 s). */
  readonly eventGraceSeconds?: number;
  readonly logger?: Logger;
  /** Where restores and the pending deferred payloads are counted (the handler counts the rest of the summary). */
  readonly metrics?: Metrics;
  /** Attempts in total, the first ingest included (default 3). */
  readonly maxIngestAttempts?: number;
  /** Errors older than this are not retried automatically (default 24 h). */
  readonly retryWindowSeconds?: number;
  /** A video `uploaded` for longer than this is backfilled (default 600 s: its S3 event had time to be handled). */
  readonly backfillAfterSeconds?: number;
  /** As the ingest's (default 900 s): a `processing` video without an asset older than this is ingested again. */
  readonly staleClaimSeconds?: number;
  /** An `awaiting_upload` video untouched for longer than this has its object looked for (default 600 s). */
  readonly strandedAfterSeconds?: number;
  /** …and no longer once it is this old (default 7 days, the longest an upload URL is valid). */
  readonly strandedMaxAgeSeconds?: number;
  /** How long an upload URL is valid (UPLOAD_URL_TTL_SECONDS, default 3600): an object may arrive until then. */
  readonly uploadUrlTtlSeconds?: number;
  /** A `processing` video whose asset has not changed for longer than this is re-read from Mux (default 3600 s). */
  readonly refreshAfterSeconds?: number;
  /** Items each sweep reads per round (default 100); a direct invocation's `limit` replaces it. */
  readonly batchSize?: number;
  /** How long a run may go on reading further rounds (default 240 s), cut to the invocation's remaining time. */
  readonly timeBudgetSeconds?: number;
  /** The invocation's remaining time, ms (default: the current Lambda invocation's; undefined outside one). */
  readonly remainingTimeMs?: () => number | undefined;
  /** Pages of 100 assets read when matching by passthrough (default 20). */
  readonly assetPages?: number;
  /** Items handled at once. Default 4. */
  readonly concurrency?: number;
  readonly now?: () => Date;
}

export class ReconcileService {
  readonly #context: SweepContext;
  readonly #batchSize: number;
  readonly #timeBudgetMs: number;
  readonly #remainingTimeMs: () => number | undefined;

  constructor(options: ReconcileServiceOptions) {
    this.#context = {
      videos: options.videos,
      ingest: options.ingest,
      captions: options.captions,
      mux: options.mux,
      ownership: options.ownership,
      deletion: options.deletion,
      events: options.events,
      sweepDb: options.sweepDb,
      storage: options.storage,
      logger: options.logger ?? silentLogger,
      metrics: options.metrics ?? noMetrics,
      now: options.now ?? (() => new Date()),
      settings: {
        eventGraceSeconds: options.eventGraceSeconds ?? 60,
        maxIngestAttempts: options.maxIngestAttempts ?? 3,
        retryWindowSeconds: options.retryWindowSeconds ?? 24 * 3600,
        backfillAfterSeconds: options.backfillAfterSeconds ?? 600,
        staleClaimSeconds: options.staleClaimSeconds ?? 900,
        strandedAfterSeconds: options.strandedAfterSeconds ?? 600,
        strandedMaxAgeSeconds: options.strandedMaxAgeSeconds ?? 7 * 24 * 3600,
        uploadUrlTtlSeconds: options.uploadUrlTtlSeconds ?? 3600,
        refreshAfterSeconds: options.refreshAfterSeconds ?? 3600,
        assetPages: options.assetPages ?? 20,
        concurrency: options.concurrency ?? 4,
      },
    };
    this.#batchSize = options.batchSize ?? 100;
    this.#timeBudgetMs = (options.timeBudgetSeconds ?? 240) * 1000;
    this.#remainingTimeMs = options.remainingTimeMs ?? invocationRemainingMs;
  }

  /**
   * When a run starting now must stop starting work (ms on the service's clock): its time budget, cut to the
   * invocation's remaining time. The handler's dead-letter drain, after the sweeps, keeps to the same one.
   */
  deadlineFromNow(): number {
    return sweepDeadline(this.#context.now().getTime(), this.#timeBudgetMs, this.#remainingTimeMs(), sweepSafetyMarginMs);
  }

  /** Runs the given actions in order (all three by default), `limit` items per round of each sweep. */
  async run(actions: readonly ReconcileAction[] = reconcileActions, limit: number = this.#batchSize, deadline: number = this.deadlineFromNow()): Promise<ReconcileSummary> {
    const summary = emptySummary();
    const { now, logger } = this.#context;
    const sweeps = actions.flatMap((action) => this.#sweepsOf(action));
    await runSweeps(sweeps, { batch: limit, summary, timeUp: () => now().getTime() >= deadline, logger });
    logger.info('reconcile.summary', { actions, limit, ...summary });
    return summary;
  }

  /**
   * Whether an upload may still strand: a video `awaiting_upload` whose object may arrive (its URL is valid) or has
   * arrived too recently for the stranded sweep. Its S3 event alone would move it on, and nothing marks a lost one,
   * so while this holds the handler leaves a marker that makes the next scheduled run sweep even on an idle
   * database; once the window (URL lifetime + the sweep's age) has passed, the sweep has looked at every such upload
   * and the schedule may skip again.
   */
  async uploadsMayStrand(): Promise<boolean> {
    const { sweepDb, storage, settings } = this.#context;
    if (sweepDb === undefined || storage === undefined) return false;
    return sweepDb.hasRecentAwaitingUpload(settings.uploadUrlTtlSeconds + settings.strandedAfterSeconds);
  }

  /** Built per run: the sweeps that page through a listing keep their place in it for this run only. */
  #sweepsOf(action: ReconcileAction): Sweep[] {
    const context = this.#context;
    const sweeps: Record<ReconcileAction, (Sweep | null)[]> = {
      reconcile: [restoreSweep(context), recoverSweep(context), refreshSweep(context), captionsSweep(context), deletionsSweep(context), strandedSweep(context), eventsSweep(context)],
      'retry-errored': [retryErroredSweep(context)],
      backfill: [backfillSweep(context)],
    };
    return sweeps[action].filter((sweep): sweep is Sweep => sweep !== null);
  }
}
