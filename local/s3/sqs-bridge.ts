/**
 * A local stand-in for the SQS queue between the bucket's object-created notifications and the ingest Lambda.
 *
 * Semantics copied from SQS + Lambda's event source mapping: messages are delivered in batches; the handler's
 * `batchItemFailures` (ReportBatchItemFailures) make only those messages visible again, after a visibility timeout;
 * a thrown error, or a failure id that is not in the batch, fails the whole batch; `ApproximateReceiveCount`
 * counts deliveries; after `maxReceiveCount` failed receives a message moves to the dead-letter list.
 * Delivery is at-least-once here as in AWS, so the handler must be idempotent.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { S3EventRecord, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { silentLogger } from '../../shared/log.js';
import type { Logger } from '../../shared/log.js';

export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | void> | SQSBatchResponse | void;

export interface SqsBridgeOptions {
  readonly handler: SqsHandler;
  /** Failed receives before a message goes to the dead-letter list (the redrive policy's maxReceiveCount). */
  readonly maxReceiveCount?: number;
  /** Messages per handler call (the event source mapping's BatchSize). */
  readonly batchSize?: number;
  /** How long a failed message stays invisible before redelivery. */
  readonly visibilityTimeoutMs?: number;
  readonly queueArn?: string;
  readonly region?: string;
  readonly logger?: Logger;
}

export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
  readonly lastError?: string;
}

export interface SqsBridge {
  /** Queues an S3 notification carrying `record`, the body S3 sends to SQS. Returns the message id. */
  sendS3Record(record: S3EventRecord): string;
  /** Queues any body (e.g. S3's `s3:TestEvent`). Returns the message id. */
  sendBody(body: string): string;
  /** Resolves once every message was either handled or dead-lettered. */
  drain(): Promise<void>;
  readonly deadLetters: readonly DeadLetter[];
  /** Handler invocations so far. */
  readonly invocations: number;
  close(): void;
}

interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly sentAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  visibleAt: number;
  lastError?: string;
}

export function createSqsBridge(options: SqsBridgeOptions): SqsBridge {
  const maxReceiveCount = options.maxReceiveCount ?? 3;
  const batchSize = options.batchSize ?? 10;
  const visibilityTimeoutMs = options.visibilityTimeoutMs ?? 200;
  const region = options.region ?? 'us-east-1';
  const queueArn = options.queueArn ?? `arn:aws:sqs:${region}:000000000000:reelay-local-ingest`;
  const logger = options.logger ?? silentLogger;

  const queue: QueuedMessage[] = [];
  const deadLetters: DeadLetter[] = [];
  let invocations = 0;
  let running = false;
  let closed = false;
  let wakeTimer: NodeJS.Timeout | undefined;
  let idleWaiters: Array<() => void> = [];

  const toRecord = (message: QueuedMessage): SQSRecord => ({
    messageId: message.messageId,
    receiptHandle: Buffer.from(`${message.messageId}:${message.receiveCount}`).toString('base64'),
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAt),
      SenderId: 'AROALOCALS3NOTIFICATIONS',
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(message.body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  });

  const settleIdle = (): void => {
    if (running || queue.length > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const fail = (message: QueuedMessage, reason: string): void => {
    message.lastError = reason;
    if (message.receiveCount >= maxReceiveCount) {
      deadLetters.push({ messageId: message.messageId, body: message.body, receiveCount: message.receiveCount, lastError: reason });
      logger.warn('local_sqs.dead_lettered', { messageId: message.messageId, receiveCount: message.receiveCount, reason });
      return;
    }
    message.visibleAt = Date.now() + visibilityTimeoutMs;
    queue.push(message);
    logger.info('local_sqs.redelivery_scheduled', { messageId: message.messageId, receiveCount: message.receiveCount, reason });
  };

  const deliver = async (batch: QueuedMessage[]): Promise<void> => {
    const now = Date.now();
    for (const message of batch) {
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
    }
    invocations += 1;
    let failedIds: Set<string>;
    let reason = 'reported in batchItemFailures';
    try {
      const result = await options.handler({ Records: batch.map(toRecord) });
      const reported = result?.batchItemFailures ?? [];
      const ids = new Set(batch.map((message) => message.messageId));
      if (reported.some((failure) => !ids.has(failure.itemIdentifier))) {
        // Lambda treats an empty or unknown itemIdentifier as a failure of the whole batch.
        failedIds = ids;
        reason = 'batchItemFailures named a message not in the batch';
      } else {
        failedIds = new Set(reported.map((failure) => failure.itemIdentifier));
      }
    } catch (error) {
      failedIds = new Set(batch.map((message) => message.messageId));
      reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      logger.warn('local_sqs.handler_threw', { messages: batch.length, error });
    }
    for (const message of batch) {
      if (failedIds.has(message.messageId)) fail(message, reason);
    }
  };

  const pump = async (): Promise<void> => {
    if (running || closed) return;
    running = true;
    try {
      for (;;) {
        const now = Date.now();
        const visible = queue.filter((message) => message.visibleAt <= now).slice(0, batchSize);
        if (visible.length === 0) break;
        for (const message of visible) queue.splice(queue.indexOf(message), 1);
        await deliver(visible);
        if (closed) return;
      }
    } finally {
      running = false;
    }
    const nextVisible = Math.min(...queue.map((message) => message.visibleAt));
    if (Number.isFinite(nextVisible)) {
      clearTimeout(wakeTimer);
      wakeTimer = setTimeout(() => void pump(), Math.max(0, nextVisible - Date.now()));
    }
    settleIdle();
  };

  const sendBody = (body: string): string => {
    if (closed) throw new Error('The local SQS bridge is closed');
    const messageId = randomUUID();
    const now = Date.now();
    queue.push({ messageId, body, sentAt: now, receiveCount: 0, visibleAt: now });
    setImmediate(() => void pump());
    return messageId;
  };

  return {
    sendBody,
    sendS3Record: (record) => sendBody(JSON.stringify({ Records: [record] })),
    drain: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        setImmediate(settleIdle);
      }),
    get deadLetters() {
      return deadLetters;
    },
    get invocations() {
      return invocations;
    },
    close() {
      closed = true;
      clearTimeout(wakeTimer);
      queue.length = 0;
      settleIdle();
    },
  };
}
