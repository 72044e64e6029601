/**
 * PutEvents through @aws-sdk/client-eventbridge, imported on the first publish (a function that changes nothing
 * never loads it). Entries go in batches within EventBridge's limits (10 entries, 256 KiB a call); a throttled or
 * failed call, and the entries a partial failure names (`FailedEntryCount`), are retried with full jitter a few
 * times, then reported as failed: the outbox leaves them for the reconcile sweep. The SDK's own retries are off so
 * that one policy, with one bound, decides.
 */
import type { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { once } from '../runtime/lazy.js';
import { retry, type RetryClock, type RetryPolicy } from '../retry.js';
import { awsClientConfig } from '../storage/config.js';
import type { EventBusSettings } from './config.js';
import type { EventPublisher, PublishFailure, PublishOutcome } from './publisher.js';
import { eventSource, type VideoEvent } from './video-events.js';

/** https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html */
export const putEventsLimits = { entriesPerCall: 10, bytesPerCall: 256 * 1024 } as const;

/** Entry and call errors worth another try; anything else (a malformed entry, access denied) will not get better. */
const retryableCodes = new Set(['ThrottlingException', 'InternalFailure', 'InternalException', 'ServiceUnavailable', 'ServiceUnavailableException', 'RequestTimeout', 'TimeoutError']);

/** A request's publish waits at most about a second in all: what is left after that is the sweep's. */
export const defaultPublishRetry: RetryPolicy = { baseDelayMs: 50, maxDelayMs: 400, maxAttempts: 4, budgetMs: 1_500, limitMs: 1_500 };

export interface EventBridgePublisherOptions {
  readonly logger?: Logger;
  readonly retry?: RetryPolicy;
  readonly clock?: RetryClock;
  /** Instead of building a client from the settings (tests). */
  readonly client?: Pick<EventBridgeClient, 'send'>;
}

/** How PutEvents sizes an entry: Source, DetailType, Detail, Resources and Time (the quota page's rule). */
export function entrySize(entry: { Source: string; DetailType: string; Detail: string }): number {
  return Buffer.byteLength(entry.Source) + Buffer.byteLength(entry.DetailType) + Buffer.byteLength(entry.Detail) + 14;
}

interface PreparedEntry {
  readonly eventId: string;
  readonly entry: { Source: string; DetailType: string; Detail: string; EventBusName: string; Time: Date; Resources: string[] };
}

class EntriesFailed extends Error {
  constructor(readonly failures: readonly { index: number; code: string; message: string }[]) {
    super(`${failures.length} entries failed`);
  }
}

export class EventBridgePublisher implements EventPublisher {
  readonly enabled = true;
  readonly #settings: EventBusSettings;
  readonly #logger: Logger;
  readonly #policy: RetryPolicy;
  readonly #clock: RetryClock | undefined;
  readonly #client: () => Promise<{ client: Pick<EventBridgeClient, 'send'>; PutEventsCommand: typeof PutEventsCommand }>;

  constructor(settings: EventBusSettings, options: EventBridgePublisherOptions = {}) {
    this.#settings = settings;
    this.#logger = options.logger ?? silentLogger;
    this.#policy = options.retry ?? defaultPublishRetry;
    this.#clock = options.clock;
    this.#client = once(async () => {
      const sdk = await import('@aws-sdk/client-eventbridge');
      const client = options.client ?? new sdk.EventBridgeClient(awsClientConfig(settings, 1));
      return { client, PutEventsCommand: sdk.PutEventsCommand };
    });
  }

  async publish(events: readonly VideoEvent[]): Promise<PublishOutcome> {
    const published: string[] = [];
    const failed: PublishFailure[] = [];
    for (const batch of batches(events.map((event) => this.#entry(event)))) {
      const outcome = await this.#putBatch(batch);
      published.push(...outcome.published);
      failed.push(...outcome.failed);
    }
    return { published, failed };
  }

  #entry(event: VideoEvent): PreparedEntry {
    return {
      eventId: event.detail.eventId,
      entry: {
        Source: eventSource,
        DetailType: event.detailType,
        Detail: JSON.stringify(event.detail),
        EventBusName: this.#settings.busName,
        Time: new Date(event.detail.occurredAt),
        Resources: [],
      },
    };
  }

  async #putBatch(batch: readonly PreparedEntry[]): Promise<PublishOutcome> {
    let pending = [...batch];
    const published: string[] = [];
    // Entries EventBridge refused for a reason another try cannot fix (a malformed entry, access denied): not retried.
    const refused: PublishFailure[] = [];
    try {
      await retry(
        async () => {
          const { client, PutEventsCommand } = await this.#client();
          const answer = await client.send(new PutEventsCommand({ Entries: pending.map((item) => item.entry) }));
          const retryable: { item: PreparedEntry; code: string; message: string }[] = [];
          pending.forEach((item, index) => {
            const result = answer.Entries?.[index];
            if (result?.EventId !== undefined && result.ErrorCode === undefined) {
              published.push(item.eventId);
              return;
            }
            const failure = { item, code: result?.ErrorCode ?? 'MissingEntry', message: result?.ErrorMessage ?? 'no result for the entry' };
            if (retryableCodes.has(failure.code)) retryable.push(failure);
            else refused.push({ eventId: item.eventId, code: failure.code, message: failure.message });
          });
          pending = retryable.map((failure) => failure.item);
          if (retryable.length > 0) throw new EntriesFailed(retryable.map((failure, index) => ({ index, code: failure.code, message: failure.message })));
        },
        {
          policy: this.#policy,
          ...(this.#clock === undefined ? {} : { clock: this.#clock }),
          retryable: (error) => error instanceof EntriesFailed || isRetryableCall(error),
          onRetry: (error, info) => this.#logger.info('events.put_retry', { attempt: info.attempt, delayMs: info.delayMs, entries: pending.length, error }),
        },
      );
      if (refused.length > 0) this.#logger.warn('events.put_failed', { published: published.length, failed: refused.length, codes: [...new Set(refused.map((failure) => failure.code))] });
      return { published, failed: refused };
    } catch (error) {
      const unsent = error instanceof EntriesFailed
        ? error.failures.map((failure, index) => ({ eventId: pending[index]?.eventId ?? '', code: failure.code, message: failure.message }))
        : pending.map((item) => ({ eventId: item.eventId, code: errorName(error), message: error instanceof Error ? error.message : String(error) }));
      const failures = [...refused, ...unsent];
      this.#logger.warn('events.put_failed', { published: published.length, failed: failures.length, codes: [...new Set(failures.map((failure) => failure.code))], error });
      return { published, failed: failures };
    }
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

function isRetryableCall(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // No credentials: a configuration fault that no retry mends (the SDK's credential providers name it so).
  if (error.name === 'CredentialsProviderError') return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (retryableCodes.has(error.name)) return true;
  if (status !== undefined) return status >= 500 || status === 429;
  // No HTTP answer at all: a reset or refused connection, a timeout.
  return true;
}

/** Entries in calls of at most 10 and 256 KiB (an entry over the limit goes alone, and EventBridge says why). */
export function batches<T extends { entry: { Source: string; DetailType: string; Detail: string } }>(items: readonly T[]): T[][] {
  const calls: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = entrySize(item.entry);
    if (current.length > 0 && (current.length === putEventsLimits.entriesPerCall || bytes + size > putEventsLimits.bytesPerCall)) {
      calls.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}
