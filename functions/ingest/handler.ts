/**
 * The ingest Lambda: S3 object-created notifications arrive through SQS (batch; ReportBatchItemFailures). Each
 * message is judged on its own: a message whose objects all ended (created, adopted, skipped, rejected for good) is
 * done; one that must be tried again (Mux unavailable, another delivery holding the claim, an unexpected error, a
 * body that is not an S3 notification) is listed in `batchItemFailures`, so SQS redelivers only it and, after the
 * queue's maxReceiveCount, moves it to the DLQ. A message retried because Mux throttled or failed is first made
 * visible again when Mux said (Retry-After) or after a backoff that grows with its receive count
 * (shared/videos/ingest-backoff.ts), with ChangeMessageVisibility on INGEST_QUEUE_URL; without that variable it waits
 * the queue's visibility timeout.
 */
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Env } from '../../shared/config/reader.js';
import { muxSettingsFromEnv, type MuxSettings } from '../../shared/mux/config.js';
import { functionConfigFromEnv, functionLogger, functionMetrics, type FunctionConfig } from '../../shared/runtime/config.js';
import { databaseConfigFromEnv, functionDatabase, functionPendingWork, type DatabaseConfig, type DatabaseFunctionOptions } from '../../shared/runtime/database.js';
import { lazyHandler, once } from '../../shared/runtime/lazy.js';
import { muxRuntime } from '../../shared/runtime/mux.js';
import { storageServices } from '../../shared/runtime/storage.js';
import { storageSettingsFromEnv, type StorageSettings } from '../../shared/storage/config.js';
import { objectsCreated, parseS3SqsEvent } from '../../shared/storage/events.js';
import { pendingWorkSettingsFromEnv, type PendingWorkSettings } from '../../shared/storage/pending-work.js';
import { IngestService, type IngestOutcome } from '../../shared/videos/ingest-service.js';
import { ingestSettingsFromEnv, type IngestSettings } from '../../shared/videos/ingest-settings.js';
import { eventBusSettingsFromEnv, type EventBusSettings } from '../../shared/events/config.js';
import { ingestQueueSettingsFromEnv, type IngestQueueSettings } from '../../shared/queue/config.js';
import { sqsMessageVisibility, type MessageVisibility } from '../../shared/queue/visibility.js';
import { MuxThrottleGate, retryDelaySeconds } from '../../shared/videos/ingest-backoff.js';
import { functionEventPublishing, type EventFunctionOptions } from '../../shared/runtime/events.js';

export type IngestHandlerOptions = DatabaseFunctionOptions &
  EventFunctionOptions & {
    /** Instead of SQS (tests): used only when INGEST_QUEUE_URL is set, as the SQS client would be. */
    readonly messageVisibility?: MessageVisibility;
    /** For the retry delays' jitter (tests). */
    readonly random?: () => number;
  };

/** Everything the ingest function reads from its environment, parsed once at cold start. */
export interface IngestConfig extends FunctionConfig {
  readonly database: DatabaseConfig;
  readonly mux: MuxSettings;
  readonly storage: StorageSettings;
  readonly ingest: IngestSettings;
  /** PENDING_WORK_BUCKET: where an ingest that must be retried (or a redelivery) notes work for reconcile. */
  readonly pendingWork: PendingWorkSettings | undefined;
  /** EVENT_BUS_NAME: where the lifecycle changes this function makes are announced (unset: recorded only). */
  readonly events: EventBusSettings | undefined;
  /** INGEST_QUEUE_URL and the queue's settings: where a retried message's visibility is changed (unset: it is not). */
  readonly queue: IngestQueueSettings | undefined;
}

export function ingestConfigFromEnv(env: Env): IngestConfig {
  return {
    ...functionConfigFromEnv(env),
    database: databaseConfigFromEnv(env),
    mux: muxSettingsFromEnv(env),
    storage: storageSettingsFromEnv(env),
    ingest: ingestSettingsFromEnv(env),
    pendingWork: pendingWorkSettingsFromEnv(env),
    events: eventBusSettingsFromEnv(env),
    queue: ingestQueueSettingsFromEnv(env),
  };
}

export type IngestHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

const retryOutcomes: ReadonlySet<IngestOutcome['result']> = new Set(['retry']);
/** Outcomes whose video the reconcile sweeps may still have to move (the retry, or a rejection to re-check). */
const leftForReconcile: ReadonlySet<IngestOutcome['result']> = new Set(['retry', 'rejected']);

export async function createHandler(env: Env, options: IngestHandlerOptions = {}): Promise<IngestHandler> {
  const config = ingestConfigFromEnv(env);
  const logger = functionLogger(config, 'ingest', options);
  const metrics = functionMetrics(logger, 'ingest', options);
  const pendingWork = functionPendingWork(config.pendingWork, logger, options);
  const events = functionEventPublishing(config.events, config.mux.playbackPolicy, logger, options);
  const { driver, videos, capabilities, events: outbox } = await functionDatabase(config.database, logger, options, { metrics, pendingWork, events });
  const mux = muxRuntime(config.mux);
  const storage = storageServices(config.storage).storage;
  // Only an upload that lost a race with DELETE needs it: the deletion's module is loaded then, not at cold start.
  const deletion = once(async () => {
    const { VideoDeletion } = await import('../../shared/videos/video-deletion.js');
    return new VideoDeletion({ executor: driver, storage: async () => storage, gateway: mux.gateway, binding: mux.binding, logger, capabilities, ...(outbox && { events: outbox }) });
  });
  // One per container: while Mux throttles, the other ingests of this container defer instead of calling it.
  const throttle = new MuxThrottleGate();
  const ingest = new IngestService({ videos, storage, gateway: mux.gateway, binding: mux.binding, logger, deletion, throttle, ...config.ingest });
  const queue = config.queue;
  const visibility = queue && (options.messageVisibility ?? sqsMessageVisibility(queue));

  /** Seconds the message should wait, when every object of it must be retried for Mux's sake; else undefined. */
  const delayFor = (settled: PromiseSettledResult<IngestOutcome>[], receiveCount: number): number | undefined => {
    if (queue === undefined) return undefined;
    let delay: number | undefined;
    for (const outcome of settled) {
      if (outcome.status === 'rejected') return undefined;
      const value = outcome.value;
      if (value.result !== 'retry') continue;
      // Another delivery holds the claim (creating now, or dead until the claim goes stale): the queue's timeout.
      if (value.reason === 'claimed_elsewhere') return undefined;
      const seconds = retryDelaySeconds(queue, { receiveCount, retryAfterMs: value.retryAfterMs, ...(options.random && { random: options.random }) });
      delay = Math.max(delay ?? 0, seconds);
    }
    return delay;
  };

  const changeVisibility = async (messageId: string, receiptHandle: string, seconds: number): Promise<void> => {
    if (visibility === undefined) return;
    try {
      await visibility.change(receiptHandle, seconds);
      logger.info('ingest.retry_scheduled', { messageId, visibleInSeconds: seconds });
    } catch (error) {
      // The message then waits the queue's visibility timeout: later than asked, never lost.
      logger.warn('ingest.visibility_change_failed', { messageId, visibleInSeconds: seconds, error });
    }
  };

  return async (event) => {
    const receiveCounts = new Map(event.Records.map((record) => [record.messageId, Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1]));
    const receiptHandles = new Map(event.Records.map((record) => [record.messageId, record.receiptHandle]));
    const messages = parseS3SqsEvent(event);
    const failures: SQSBatchItemFailure[] = [];
    // Ingests reconcile may have to finish (backfill, a stale claim, a retry): noted once per batch, whatever the
    // SQS redelivery then does. A redelivered message counts too: the delivery before it died without an answer.
    const unfinished: string[] = [];
    await Promise.all(
      messages.map(async (message) => {
        if (message.kind === 'ignored') return;
        if (message.kind === 'invalid') {
          logger.error('ingest.invalid_message', { messageId: message.messageId, error: message.error, details: message.error.details });
          failures.push({ itemIdentifier: message.messageId });
          return;
        }
        const receiveCount = receiveCounts.get(message.messageId) ?? 1;
        const settled = await Promise.allSettled(objectsCreated([message]).map((object) => ingest.ingestObject(object, { receiveCount })));
        const again = settled.filter((outcome) => outcome.status === 'rejected' || retryOutcomes.has(outcome.value.result));
        const leftOver = settled.filter((outcome) => outcome.status === 'rejected' || leftForReconcile.has(outcome.value.result));
        if (leftOver.length > 0 || receiveCount > 1) unfinished.push(message.messageId);
        for (const outcome of settled) {
          if (outcome.status === 'rejected') logger.error('ingest.failed', { messageId: message.messageId, error: outcome.reason });
          // `Outcome` is the service's closed set of results, or `error` for a throw: never an id.
          const result = outcome.status === 'rejected' ? 'error' : outcome.value.result;
          const videoId = outcome.status === 'rejected' ? null : outcome.value.videoId;
          metrics.count('IngestOutcomes', 1, { dimensions: { Outcome: result }, properties: { messageId: message.messageId, videoId, receiveCount } });
        }
        if (again.length === 0) return;
        const delay = delayFor(settled, receiveCount);
        const receiptHandle = receiptHandles.get(message.messageId);
        if (delay !== undefined && receiptHandle !== undefined) await changeVisibility(message.messageId, receiptHandle, delay);
        failures.push({ itemIdentifier: message.messageId });
      }),
    );
    if (unfinished.length > 0) await pendingWork.note('ingest', { messages: unfinished.length, first: unfinished[0] ?? null });
    logger.info('ingest.batch', { messages: messages.length, failed: failures.length });
    return { batchItemFailures: failures };
  };
}

export const handler = lazyHandler<SQSEvent, unknown, SQSBatchResponse>(() => createHandler(process.env));
