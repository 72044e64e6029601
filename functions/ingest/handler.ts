/**
 * The ingest Lambda: S3 object-created notifications arrive through SQS (batch; ReportBatchItemFailures). Each
 * message is judged on its own: a message whose objects all ended (created, adopted, skipped, rejected for good) is
 * done; one that must be tried again (Mux unavailable, another delivery holding the claim, an unexpected error, a
 * body that is not an S3 notification) is listed in `batchItemFailures`, so SQS redelivers only it and, after the
 * queue's maxReceiveCount, moves it to the DLQ.
 */
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Driver } from '../../shared/db/driver.js';
import type { Logger } from '../../shared/log.js';
import { functionDatabase, functionLogger } from '../../shared/runtime/database.js';
import { lazyHandler, type Env } from '../../shared/runtime/lazy.js';
import { muxFromEnv } from '../../shared/runtime/mux.js';
import { storageFromEnv } from '../../shared/runtime/storage.js';
import { objectsCreated, parseS3SqsEvent } from '../../shared/storage/events.js';
import { IngestService, type IngestOutcome } from '../../shared/videos/ingest-service.js';
import { ingestSettingsFromEnv } from '../../shared/videos/ingest-settings.js';

export interface IngestHandlerOptions {
  readonly logger?: Logger;
  /** Use this driver instead of the one the environment describes (tests on an in-memory database). */
  readonly driver?: Driver;
}

export type IngestHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

const retryOutcomes: ReadonlySet<IngestOutcome['result']> = new Set(['retry']);

export async function createHandler(env: Env = process.env, options: IngestHandlerOptions = {}): Promise<IngestHandler> {
  const logger = functionLogger(env, 'ingest', options);
  const { videos } = await functionDatabase(env, logger, options);
  const mux = muxFromEnv(env);
  const ingest = new IngestService({ videos, storage: storageFromEnv(env).storage, gateway: mux.gateway, binding: mux.binding, logger, ...ingestSettingsFromEnv(env) });

  return async (event) => {
    const receiveCounts = new Map(event.Records.map((record) => [record.messageId, Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1]));
    const messages = parseS3SqsEvent(event);
    const failures: SQSBatchItemFailure[] = [];
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
        for (const outcome of settled) {
          if (outcome.status === 'rejected') logger.error('ingest.failed', { messageId: message.messageId, error: outcome.reason });
        }
        if (again.length > 0) failures.push({ itemIdentifier: message.messageId });
      }),
    );
    logger.info('ingest.batch', { messages: messages.length, failed: failures.length });
    return { batchItemFailures: failures };
  };
}

export const handler = lazyHandler<SQSEvent, unknown, SQSBatchResponse>(() => createHandler(process.env));
