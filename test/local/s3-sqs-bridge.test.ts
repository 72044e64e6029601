import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { objectsCreated, parseS3SqsEvent } from '../../shared/storage/events.js';
import { createSqsBridge } from '../../local/s3/sqs-bridge.js';
import type { SqsBridge, SqsHandler } from '../../local/s3/sqs-bridge.js';
import { startTestS3 } from '../storage/local-s3.js';

const bridges: SqsBridge[] = [];
afterEach(() => {
  for (const bridge of bridges.splice(0)) bridge.close();
});

function bridgeFor(handler: SqsHandler, options: { maxReceiveCount?: number; batchSize?: number } = {}): SqsBridge {
  const bridge = createSqsBridge({ handler, visibilityTimeoutMs: 10, ...options });
  bridges.push(bridge);
  return bridge;
}

describe('local SQS bridge', () => {
  it('delivers SQS-shaped events that the ingest parser reads', async () => {
    const events: SQSEvent[] = [];
    const bridge = bridgeFor((event) => {
      events.push(event);
    });
    const messageId = bridge.sendBody(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' }));
    await bridge.drain();
    const record = events[0]?.Records[0];
    expect(record).toMatchObject({ messageId, eventSource: 'aws:sqs', attributes: { ApproximateReceiveCount: '1' } });
    expect(record?.eventSourceARN).toMatch(/^arn:aws:sqs:/);
    expect(record?.md5OfBody).toMatch(/^[0-9a-f]{32}$/);
    expect(parseS3SqsEvent(events[0])).toEqual([{ kind: 'ignored', messageId, reason: 'test_event' }]);
    expect(bridge.deadLetters).toEqual([]);
  });

  it('redelivers only the items reported in batchItemFailures, counting receives', async () => {
    const received: Array<[string, string]> = [];
    let failFirstTime = true;
    const bridge = bridgeFor((event): SQSBatchResponse => {
      for (const record of event.Records) received.push([record.body, record.attributes.ApproximateReceiveCount]);
      const flaky = event.Records.find((record) => record.body === 'flaky');
      const failures = failFirstTime && flaky !== undefined ? [{ itemIdentifier: flaky.messageId }] : [];
      if (flaky !== undefined) failFirstTime = false;
      return { batchItemFailures: failures };
    });
    bridge.sendBody('steady');
    bridge.sendBody('flaky');
    await bridge.drain();
    expect(received.filter(([body]) => body === 'steady')).toEqual([['steady', '1']]);
    expect(received.filter(([body]) => body === 'flaky')).toEqual([['flaky', '1'], ['flaky', '2']]);
    expect(bridge.deadLetters).toEqual([]);
  });

  it('moves a message that keeps failing to the dead-letter list after maxReceiveCount receives', async () => {
    const counts: string[] = [];
    const bridge = bridgeFor((event) => {
      counts.push(...event.Records.map((record) => record.attributes.ApproximateReceiveCount));
      return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
    }, { maxReceiveCount: 3 });
    const messageId = bridge.sendBody('poison');
    await bridge.drain();
    expect(counts).toEqual(['1', '2', '3']);
    expect(bridge.deadLetters).toEqual([{ messageId, body: 'poison', receiveCount: 3, lastError: 'reported in batchItemFailures' }]);
  });

  it('treats a thrown error, or a failure id not in the batch, as a failure of the whole batch', async () => {
    let calls = 0;
    const throwing = bridgeFor(() => {
      calls += 1;
      if (calls === 1) throw new Error('database down');
    });
    throwing.sendBody('a');
    throwing.sendBody('b');
    await throwing.drain();
    expect(throwing.invocations).toBe(2);

    const seen: string[] = [];
    const confused = bridgeFor((event) => {
      seen.push(...event.Records.map((record) => `${record.body}#${record.attributes.ApproximateReceiveCount}`));
      return { batchItemFailures: [{ itemIdentifier: 'no-such-message' }] };
    }, { maxReceiveCount: 2 });
    confused.sendBody('x');
    confused.sendBody('y');
    await confused.drain();
    expect(seen.sort()).toEqual(['x#1', 'x#2', 'y#1', 'y#2']);
    expect(confused.deadLetters.map((letter) => letter.body).sort()).toEqual(['x', 'y']);
    expect(confused.deadLetters[0]?.lastError).toMatch(/not in the batch/);
  });

  it('delivers at most batchSize messages per invocation', async () => {
    const sizes: number[] = [];
    const bridge = bridgeFor((event) => {
      sizes.push(event.Records.length);
    }, { batchSize: 4 });
    for (let index = 0; index < 10; index += 1) bridge.sendBody(String(index));
    await bridge.drain();
    expect(sizes).toEqual([4, 4, 2]);
  });

  it('carries a local S3 upload to the handler as AWS would: S3 notification in an SQS body', async () => {
    const keys: string[] = [];
    const bridge = bridgeFor((event) => {
      keys.push(...objectsCreated(parseS3SqsEvent(event)).map((object) => object.key));
    });
    const s3 = await startTestS3({ notificationPrefix: 'uploads/', onObjectCreated: (record) => bridge.sendS3Record(record) });
    try {
      await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'uploads/über clip+1/source.mp4', Body: 'video' }));
      for (let attempt = 0; attempt < 100 && keys.length === 0; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await bridge.drain();
      }
      expect(keys).toEqual(['uploads/über clip+1/source.mp4']);
    } finally {
      await s3.dispose();
    }
  });
});
