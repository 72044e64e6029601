/**
 * Issue N: the ingest DLQ drains itself. Dead letters of handled videos are deleted, those ingest still has work for
 * are sent back to the ingest queue (and then ingested), poison is left for an operator.
 */
import { randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger, silentLogger } from '../../shared/log.js';
import { sqsDeadLetterQueue } from '../../shared/queue/dead-letter-queue.js';
import { functionDeadLetterDrain } from '../../shared/runtime/dead-letter-drain.js';
import { storageFromEnv } from '../../shared/runtime/storage.js';
import { drainDeadLetters, type DeadLetterMessage, type DeadLetterQueue } from '../../shared/videos/dead-letters.js';
import { backends } from '../support/databases.js';
import { assetsFor, s3Record, sqsEvent, startPipeline, type Pipeline } from './ingest-support.js';

/** A DLQ in memory; `sent` is what reached the ingest queue. */
function memoryQueue(bodies: ReadonlyArray<{ body: string; redrives?: number }>) {
  const waiting: DeadLetterMessage[] = bodies.map(({ body, redrives }) => ({ messageId: randomUUID(), receiptHandle: randomUUID(), body, redrives: redrives ?? 0 }));
  const received: DeadLetterMessage[] = [];
  const sent: Array<{ body: string; redrives: number }> = [];
  const deleted: string[] = [];
  const queue: DeadLetterQueue = {
    receive: async (max) => {
      const batch = waiting.splice(0, max);
      received.push(...batch);
      return batch;
    },
    delete: async (message) => void deleted.push(message.body),
    redrive: async (message, redrives) => void sent.push({ body: message.body, redrives }),
  };
  return { queue, sent, deleted, waiting };
}

describe.each(backends)('dead-letter drain on %s', (backend) => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline(backend);
  });
  afterAll(async () => {
    await pipeline.close();
  });
  const drain = (queue: DeadLetterQueue, options: { maxMessages?: number } = {}) =>
    drainDeadLetters({ queue, videos: pipeline.videos, storage: async () => storageFromEnv(pipeline.env).storage, ...options });
  const bodyOf = (record: ReturnType<typeof s3Record>) => JSON.stringify({ Records: [record] });

  it('deletes the dead letters of videos past ingest, and redrives those ingest still has work for, which then ingest', async () => {
    const done = await pipeline.upload();
    expect((await pipeline.ingest(sqsEvent([done]))).batchItemFailures).toEqual([]);
    const stranded = await pipeline.upload();
    const { queue, sent, deleted } = memoryQueue([{ body: bodyOf(done.record) }, { body: bodyOf(stranded.record) }]);

    expect(await drain(queue)).toEqual({ received: 2, deleted: 1, redriven: 1, kept: 0, more: false });

    expect(deleted.sort()).toEqual([bodyOf(done.record), bodyOf(stranded.record)].sort());
    expect(sent).toEqual([{ body: bodyOf(stranded.record), redrives: 1 }]);
    // The redriven body is what the ingest queue delivers next: the stranded video gets its one asset.
    const redelivered = sqsEvent([stranded]);
    expect((await pipeline.ingest(redelivered)).batchItemFailures).toEqual([]);
    expect(assetsFor(pipeline, stranded.video.id)).toHaveLength(1);
  });

  it('deletes bodies ingest can do nothing with, and keeps a body redriven too often', async () => {
    const stranded = await pipeline.upload();
    const stray = s3Record(pipeline.s3.bucket, 'uploads/not-a-video.txt', 3);
    const { queue, sent, deleted, waiting } = memoryQueue([{ body: 'not json' }, { body: bodyOf(stray) }, { body: bodyOf(stranded.record), redrives: 3 }]);

    expect(await drain(queue)).toMatchObject({ received: 3, deleted: 2, redriven: 0, kept: 1 });
    expect(deleted).toEqual(['not json', bodyOf(stray)]);
    expect(sent).toEqual([]);
    expect(waiting).toEqual([]);
  });

  it('stops at maxMessages and says there is more', async () => {
    const { queue, waiting } = memoryQueue(Array.from({ length: 15 }, () => ({ body: 'not json' })));
    expect(await drain(queue, { maxMessages: 12 })).toMatchObject({ received: 12, deleted: 12, more: true });
    expect(waiting).toHaveLength(3);
  });
});

describe('sqsDeadLetterQueue', () => {
  it('receives from the DLQ without waiting, deletes there, and redrives to the ingest queue with the count', async () => {
    const commands: Array<{ name: string; input: unknown }> = [];
    const client = {
      send: async (command: { constructor: { name: string }; input: unknown }) => {
        commands.push({ name: command.constructor.name, input: command.input });
        return command.constructor.name === 'ReceiveMessageCommand'
          ? { Messages: [{ MessageId: 'm1', ReceiptHandle: 'h1', Body: '{}', MessageAttributes: { 'reelay-redrives': { DataType: 'Number', StringValue: '2' } } }] }
          : {};
      },
    } as unknown as Pick<SQSClient, 'send'>;
    const dlq = sqsDeadLetterQueue({ queueUrl: 'https://sqs/ingest', deadLetterQueueUrl: 'https://sqs/dlq', region: 'us-east-1', visibilityTimeoutSeconds: 720, maxReceiveCount: 5 }, { client });

    const [message] = await dlq.receive(10);
    expect(message).toEqual({ messageId: 'm1', receiptHandle: 'h1', body: '{}', redrives: 2 });
    if (!message) throw new Error('no message');
    await dlq.redrive(message, 3);
    await dlq.delete(message);
    expect(commands).toEqual([
      { name: 'ReceiveMessageCommand', input: { QueueUrl: 'https://sqs/dlq', MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['reelay-redrives'] } },
      { name: 'SendMessageCommand', input: { QueueUrl: 'https://sqs/ingest', MessageBody: '{}', MessageAttributes: { 'reelay-redrives': { DataType: 'Number', StringValue: '3' } } } },
      { name: 'DeleteMessageCommand', input: { QueueUrl: 'https://sqs/dlq', ReceiptHandle: 'h1' } },
    ]);
  });
});

describe('functionDeadLetterDrain', () => {
  const storage = async () => ({ bucket: 'b', videoIdFromKey: () => undefined });
  const videos = { findByS3Key: async () => null };
  it('is null without the DLQ settings (older stacks, local runs)', () => {
    expect(functionDeadLetterDrain(undefined, { videos, storage, logger: silentLogger })).toBeNull();
  });
  it('reports a failed drain as null instead of throwing, and logs it', async () => {
    const logger = memoryLogger('debug');
    const queue: DeadLetterQueue = { receive: () => Promise.reject(new Error('AccessDenied')), delete: async () => undefined, redrive: async () => undefined };
    const drain = functionDeadLetterDrain(undefined, { videos, storage, logger, queue });
    expect(await drain?.()).toBeNull();
    expect(logger.lines.map((line) => line.event)).toContain('reconcile.dead_letters_failed');
  });
});
