import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { functionSizing } from '../../infra/constructs/functions.js';
import { objectsCreated, parseS3SqsEvent } from '../../shared/storage/events.js';
import { cdkQueue, createSqsBridge, localVisibilityTimeoutMs } from '../../local/s3/sqs-bridge.js';
import type { SqsBridge, SqsBridgeOptions, SqsHandler } from '../../local/s3/sqs-bridge.js';
import { startLocalSqsServer } from '../../local/s3/sqs-server.js';
import { sqsMessageVisibility } from '../../shared/queue/visibility.js';
import { startTestS3 } from '../storage/local-s3.js';

const bridges: SqsBridge[] = [];
afterEach(() => {
  for (const bridge of bridges.splice(0)) bridge.close();
});

function bridgeFor(handler: SqsHandler, options: Partial<SqsBridgeOptions> = {}): SqsBridge {
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

  it('uses the CDK app’s queue settings, scaled: 5 receives, 720 s of visibility lasting 12 s', () => {
    // infra/constructs/upload-bucket.ts: six times the SQS function's timeout (test/infra/stack.test.ts checks 720 and 5).
    expect(cdkQueue.visibilityTimeoutSeconds).toBe(functionSizing.sqs.timeout.toSeconds() * 6);
    expect(cdkQueue.maxReceiveCount).toBe(5);
    const bridge = bridgeFor(() => undefined, { visibilityTimeoutMs: undefined });
    expect(bridge.msPerSecond).toBe(localVisibilityTimeoutMs / 720);
    expect(localVisibilityTimeoutMs).toBe(12_000);
  });

  it('brings a failed message back when ChangeMessageVisibility said, sent by the SQS SDK on its wire', async () => {
    const seen: number[] = [];
    // 720 SQS seconds last 7.2 s here: 1 s lasts 10 ms.
    const server = { current: undefined as Awaited<ReturnType<typeof startLocalSqsServer>> | undefined };
    const bridge = bridgeFor(async (event) => {
      seen.push(Date.now());
      const record = event.Records[0];
      if (!record || seen.length > 1) return { batchItemFailures: [] };
      const settings = { queueUrl: server.current?.queueUrl ?? '', region: 'us-east-1', visibilityTimeoutSeconds: 720, maxReceiveCount: 5, endpoint: server.current?.endpoint ?? '', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
      await sqsMessageVisibility(settings).change(record.receiptHandle, 5);
      return { batchItemFailures: [{ itemIdentifier: record.messageId }] };
    }, { visibilityTimeoutMs: 7_200 });
    server.current = await startLocalSqsServer({ bridge });
    try {
      bridge.sendBody('throttled');
      await bridge.drain();
      expect(seen).toHaveLength(2);
      const waited = (seen[1] ?? 0) - (seen[0] ?? 0);
      // 5 s → 50 ms here: far sooner than the 7.2 s visibility timeout.
      expect(waited).toBeGreaterThanOrEqual(45);
      expect(waited).toBeLessThan(1_000);
    } finally {
      await server.current.close();
    }
  });

  it('answers SQS’s errors on the wire: a handle not in flight, an unknown queue, a timeout out of range', async () => {
    const bridge = bridgeFor(() => undefined);
    const server = await startLocalSqsServer({ bridge });
    const client = new SQSClient({ region: 'us-east-1', endpoint: server.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    const change = (input: { QueueUrl?: string; ReceiptHandle?: string; VisibilityTimeout?: number }) =>
      client.send(new ChangeMessageVisibilityCommand({ QueueUrl: server.queueUrl, ReceiptHandle: 'bm9ib2R5', VisibilityTimeout: 1, ...input })).then(
        () => 'ok',
        (error: Error) => error.name,
      );
    try {
      expect(await change({})).toBe('ReceiptHandleIsInvalid');
      expect(await change({ QueueUrl: `${server.endpoint}/000000000000/other` })).toBe('QueueDoesNotExist');
      expect(await change({ VisibilityTimeout: 43_201 })).toBe('InvalidParameterValue');
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('keeps its queue, in-flight messages and dead letters in its state file across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reelay-sqs-'));
    const stateFile = join(dir, 'ingest.json');
    try {
      let release: () => void = () => undefined;
      const first = createSqsBridge({
        stateFile,
        visibilityTimeoutMs: 20,
        maxReceiveCount: 1,
        handler: (event) =>
          event.Records[0]?.body === 'poison'
            ? { batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] }
            : new Promise<undefined>((resolve) => (release = () => resolve(undefined))),
      });
      first.sendBody('poison');
      await first.drain();
      first.sendBody('in flight when stopped');
      await new Promise((resolve) => setTimeout(resolve, 20));
      first.close();
      release();

      const received: string[] = [];
      const second = createSqsBridge({ stateFile, visibilityTimeoutMs: 20, handler: (event) => void received.push(...event.Records.map((record) => `${record.body}#${record.attributes.ApproximateReceiveCount}`)) });
      bridges.push(second);
      expect(second.deadLetters.map((letter) => letter.body)).toEqual(['poison']);
      await new Promise((resolve) => setTimeout(resolve, 60));
      await second.drain();
      expect(received).toEqual(['in flight when stopped#2']);
      expect(second.depth).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
