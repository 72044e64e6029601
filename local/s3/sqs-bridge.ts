/**
 * A local stand-in for the SQS queue between the bucket's object-created notifications and the ingest Lambda.
 *
 * Semantics copied from SQS + Lambda's event source mapping: messages are delivered in batches; the handler's
 * `batchItemFailures` (ReportBatchItemFailures) make only those messages visible again, after a visibility timeout
 * (or when ChangeMessageVisibility said, sqs-server.ts); a thrown error, or a failure id that is not in the batch,
 * fails the whole batch; `ApproximateReceiveCount` counts deliveries; after `maxReceiveCount` failed receives a message
 * moves to the dead-letter list. Delivery is at-least-once here as in AWS, so the handler must be idempotent.
 *
 * Time: the queue is told its visibility timeout in SQS seconds (`visibilityTimeoutSeconds`, the CDK app's 720 s) and
 * how long that lasts here (`visibilityTimeoutMs`); every SQS second the function asks for is scaled the same way, so
 * the ratios hold at any speed. With `stateFile`, the queue, its in-flight messages and the dead-letter list are
 * written there on every change (write and rename), so a restart — after a clean stop or a SIGKILL — loses nothing:
 * a message that was in flight comes back when its visibility timeout ends, as in SQS.
 *
 * The dead-letter list is a queue of its own (sqs-dead-letter-queue.ts): reconcile's dead-letter drain receives,
 * deletes and sends back over the SDK's wire (sqs-server.ts), as it does in AWS. A message sent with attributes (the
 * drain's `reelay-redrives`) carries them to the handler's event, as Lambda's SQS event does.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { S3EventRecord, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { silentLogger } from '../../shared/log.js';
import type { Logger } from '../../shared/log.js';
import { LocalDeadLetterQueue, type DeadLetter, type ReceivedMessage, type StoredDeadLetter } from './sqs-dead-letter-queue.js';
import { checkVisibilitySeconds, lambdaMessageAttributes, md5Hex, messageIdOfHandle, newReceiptHandle, SqsBridgeError, type MessageAttributes } from './sqs-messages.js';

export { SqsBridgeError, type DeadLetter, type ReceivedMessage };

export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | void> | SQSBatchResponse | void;

/** The CDK app's ingest queue (infra/constructs/upload-bucket.ts; test/local/s3-sqs-bridge.test.ts checks they agree). */
export const cdkQueue = { visibilityTimeoutSeconds: 720, maxReceiveCount: 5 } as const;
/** `npm start` runs SQS time 60× faster: the 720 s visibility timeout lasts 12 s. */
export const localVisibilityTimeoutMs = 12_000;

export interface SqsBridgeOptions {
  readonly handler: SqsHandler;
  /** Failed receives before a message goes to the dead-letter list (the redrive policy's maxReceiveCount). Default 5. */
  readonly maxReceiveCount?: number;
  /** Messages per handler call (the event source mapping's BatchSize). */
  readonly batchSize?: number;
  /** How long a failed message stays invisible before redelivery, here. Default 12 s. */
  readonly visibilityTimeoutMs?: number;
  /** The same timeout in SQS seconds, as the function is told it. Default 720. */
  readonly visibilityTimeoutSeconds?: number;
  /** Where the queue and dead-letter list are kept across restarts; none: memory only. */
  readonly stateFile?: string;
  readonly queueArn?: string;
  readonly region?: string;
  readonly logger?: Logger;
}

/** The two queues, by the names their URLs and receipt handles carry. */
export const localQueueNames = { ingest: 'reelay-local-ingest', deadLetters: 'reelay-local-ingest-dlq' } as const;
export type LocalQueue = keyof typeof localQueueNames;

/** A SendMessage's options: message attributes (checked by the caller) and DelaySeconds. */
export interface SendOptions {
  readonly messageAttributes?: MessageAttributes | undefined;
  readonly delaySeconds?: number;
}

export interface SqsBridge {
  /** Queues an S3 notification carrying `record`, the body S3 sends to SQS. Returns the message id. */
  sendS3Record(record: S3EventRecord): string;
  /** Queues any body (e.g. S3's `s3:TestEvent`) on the ingest queue. Returns the message id. */
  sendBody(body: string, options?: SendOptions): string;
  /** SendMessage to either queue. Returns the message id. */
  send(queue: LocalQueue, body: string, options?: SendOptions): string;
  /** ChangeMessageVisibility: the in-flight message of this receipt handle becomes visible `seconds` SQS seconds from now. */
  changeVisibility(receiptHandle: string, seconds: number, queue?: LocalQueue): void;
  /** ReceiveMessage on the dead-letter queue: up to `max` visible messages, invisible for `visibilitySeconds` (default the DLQ's 30). */
  receiveDeadLetters(max: number, visibilitySeconds?: number): ReceivedMessage[];
  /** DeleteMessage on the dead-letter queue. */
  deleteDeadLetter(receiptHandle: string): void;
  /** Resolves once every message was either handled or dead-lettered. */
  drain(): Promise<void>;
  readonly deadLetters: readonly DeadLetter[];
  /** Messages waiting or in flight. */
  readonly depth: number;
  /** Handler invocations so far. */
  readonly invocations: number;
  /** Milliseconds one SQS second lasts here. */
  readonly msPerSecond: number;
  close(): void;
}

interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly sentAt: number;
  readonly messageAttributes?: MessageAttributes;
  receiveCount: number;
  firstReceivedAt?: number;
  visibleAt: number;
  lastError?: string;
  /** This receive's handle while in flight. */
  receiptHandle?: string;
}

interface StoredState {
  readonly version: 1;
  readonly messages: QueuedMessage[];
  readonly deadLetters: StoredDeadLetter[];
}

function loadState(file: string | undefined): StoredState {
  if (file === undefined) return { version: 1, messages: [], deadLetters: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, messages: [], deadLetters: [] };
    throw error;
  }
  const state = JSON.parse(text) as StoredState;
  if (state.version !== 1 || !Array.isArray(state.messages) || !Array.isArray(state.deadLetters)) throw new Error(`${file} is not a local SQS state file`);
  return state;
}

export function createSqsBridge(options: SqsBridgeOptions): SqsBridge {
  const maxReceiveCount = options.maxReceiveCount ?? cdkQueue.maxReceiveCount;
  const batchSize = options.batchSize ?? 10;
  const visibilityTimeoutMs = options.visibilityTimeoutMs ?? localVisibilityTimeoutMs;
  const msPerSecond = visibilityTimeoutMs / (options.visibilityTimeoutSeconds ?? cdkQueue.visibilityTimeoutSeconds);
  const region = options.region ?? 'us-east-1';
  const queueArn = options.queueArn ?? `arn:aws:sqs:${region}:000000000000:reelay-local-ingest`;
  const logger = options.logger ?? silentLogger;
  const stateFile = options.stateFile;

  const restored = loadState(stateFile);
  const queue: QueuedMessage[] = restored.messages.map(({ receiptHandle: _inFlight, ...message }) => message);
  const inFlight = new Map<string, QueuedMessage>();
  const deadLetters = new LocalDeadLetterQueue(restored.deadLetters, { name: localQueueNames.deadLetters, msPerSecond, persist: () => persist() });
  let invocations = 0;
  let running = false;
  let closed = false;
  let wakeTimer: NodeJS.Timeout | undefined;
  let idleWaiters: Array<() => void> = [];
  if (queue.length > 0) logger.info('local_sqs.restored', { messages: queue.length, deadLetters: deadLetters.stored.length });

  const persist = (): void => {
    if (stateFile === undefined || closed) return;
    const state: StoredState = { version: 1, messages: [...queue, ...inFlight.values()], deadLetters: [...deadLetters.stored] };
    mkdirSync(dirname(stateFile), { recursive: true });
    const temporary = `${stateFile}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(state));
    renameSync(temporary, stateFile);
  };

  const toRecord = (message: QueuedMessage): SQSRecord => ({
    messageId: message.messageId,
    receiptHandle: message.receiptHandle ?? '',
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAt),
      SenderId: 'AROALOCALS3NOTIFICATIONS',
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
    },
    messageAttributes: lambdaMessageAttributes(message.messageAttributes),
    md5OfBody: md5Hex(message.body),
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
      deadLetters.add({
        messageId: message.messageId,
        body: message.body,
        receiveCount: message.receiveCount,
        lastError: reason,
        sentAt: message.sentAt,
        ...(message.firstReceivedAt !== undefined && { firstReceivedAt: message.firstReceivedAt }),
        ...(message.messageAttributes && { messageAttributes: message.messageAttributes }),
      });
      logger.warn('local_sqs.dead_lettered', { messageId: message.messageId, receiveCount: message.receiveCount, reason });
      return;
    }
    // visibleAt was set at receive (the visibility timeout), or since by ChangeMessageVisibility.
    queue.push(message);
    logger.info('local_sqs.redelivery_scheduled', { messageId: message.messageId, receiveCount: message.receiveCount, inMs: Math.max(0, message.visibleAt - Date.now()), reason });
  };

  const deliver = async (batch: QueuedMessage[]): Promise<void> => {
    const now = Date.now();
    for (const message of batch) {
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + visibilityTimeoutMs;
      message.receiptHandle = newReceiptHandle(localQueueNames.ingest, message.messageId, message.receiveCount);
      inFlight.set(message.receiptHandle, message);
    }
    persist();
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
    if (closed) return;
    for (const message of batch) {
      if (message.receiptHandle !== undefined) inFlight.delete(message.receiptHandle);
      delete message.receiptHandle;
      if (failedIds.has(message.messageId)) fail(message, reason);
    }
    persist();
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
    schedule();
    settleIdle();
  };

  const schedule = (): void => {
    const nextVisible = Math.min(...queue.map((message) => message.visibleAt));
    clearTimeout(wakeTimer);
    if (Number.isFinite(nextVisible) && !closed) wakeTimer = setTimeout(() => void pump(), Math.max(0, nextVisible - Date.now()));
  };

  const sendBody = (body: string, sendOptions: SendOptions = {}): string => {
    if (closed) throw new Error('The local SQS bridge is closed');
    const messageId = randomUUID();
    const now = Date.now();
    const delayMs = (sendOptions.delaySeconds ?? 0) * msPerSecond;
    queue.push({ messageId, body, sentAt: now, receiveCount: 0, visibleAt: now + delayMs, ...(sendOptions.messageAttributes && { messageAttributes: sendOptions.messageAttributes }) });
    persist();
    if (delayMs > 0) schedule();
    else setImmediate(() => void pump());
    return messageId;
  };

  // Restored messages are delivered once their visibility allows.
  if (queue.length > 0) setImmediate(() => void pump());

  return {
    sendBody,
    sendS3Record: (record) => sendBody(JSON.stringify({ Records: [record] })),
    send(target, body, sendOptions) {
      if (target === 'ingest') return sendBody(body, sendOptions);
      return deadLetters.send(body, sendOptions?.messageAttributes, sendOptions?.delaySeconds ?? 0);
    },
    changeVisibility(receiptHandle, seconds, target = 'ingest') {
      if (target === 'deadLetters') return deadLetters.changeVisibility(receiptHandle, seconds);
      checkVisibilitySeconds(seconds);
      const messageId = messageIdOfHandle(localQueueNames.ingest, receiptHandle);
      const message = inFlight.get(receiptHandle);
      if (message === undefined) {
        // A handle of a message this queue still holds (received again since, or waiting), or of one gone.
        if (queue.some((queued) => queued.messageId === messageId)) {
          throw new SqsBridgeError('MessageNotInflight', 'The message referred to is not in flight.');
        }
        throw new SqsBridgeError('ReceiptHandleIsInvalid', `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`);
      }
      message.visibleAt = Date.now() + seconds * msPerSecond;
      persist();
    },
    receiveDeadLetters: (max, visibilitySeconds) => deadLetters.receive(max, visibilitySeconds),
    deleteDeadLetter: (receiptHandle) => deadLetters.delete(receiptHandle),
    drain: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        setImmediate(settleIdle);
      }),
    get deadLetters() {
      return deadLetters.view;
    },
    get depth() {
      return queue.length + inFlight.size;
    },
    get invocations() {
      return invocations;
    },
    msPerSecond,
    close() {
      // The state file keeps what is queued and in flight: the next start delivers it.
      persist();
      closed = true;
      clearTimeout(wakeTimer);
      queue.length = 0;
      settleIdle();
    },
  };
}
