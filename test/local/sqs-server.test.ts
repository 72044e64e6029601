/**
 * The local SQS's wire (local/s3/sqs-server.ts) as the unchanged @aws-sdk/client-sqs speaks it: SendMessage,
 * ReceiveMessage, DeleteMessage and ChangeMessageVisibility on the ingest queue's dead-letter queue, SendMessage on the
 * ingest queue, SQS's errors by name — and the dead-letter drain's own adapter (shared/queue/dead-letter-queue.ts)
 * receiving, redriving and deleting a message the bridge dead-lettered.
 */
import { createHash } from 'node:crypto';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqsBridge, type SqsBridge, type SqsHandler } from '../../local/s3/sqs-bridge.js';
import { startLocalSqsServer, type LocalSqsServer } from '../../local/s3/sqs-server.js';
import { redrivesAttribute, sqsDeadLetterQueue } from '../../shared/queue/dead-letter-queue.js';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

let bridge: SqsBridge;
let server: LocalSqsServer;
let client: SQSClient;
let handler: SqsHandler;
const delivered: SQSEvent['Records'] = [];

beforeEach(async () => {
  delivered.length = 0;
  handler = (event) => void delivered.push(...event.Records);
  // SQS seconds last 10 ms here (the DLQ's 30 s visibility timeout: 300 ms); one failed receive dead-letters.
  bridge = createSqsBridge({ handler: (event) => handler(event), visibilityTimeoutMs: 7_200, visibilityTimeoutSeconds: 720, maxReceiveCount: 1 });
  server = await startLocalSqsServer({ bridge });
  client = new SQSClient({ region: 'us-east-1', endpoint: server.endpoint, credentials, maxAttempts: 1 });
});
afterEach(async () => {
  client.destroy();
  bridge.close();
  await server.close();
});

const errorName = (promise: Promise<unknown>) => promise.then(() => 'ok', (error: Error) => error.name);
const receive = (input: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {}) =>
  client.send(new ReceiveMessageCommand({ QueueUrl: server.deadLetterQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, ...input }));

/** MD5OfMessageAttributes of one String attribute, written out as SQS's documentation lays the bytes out. */
function md5OfOneStringAttribute(name: string, dataType: string, value: string): string {
  const prefixed = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return [length, bytes];
  };
  return createHash('md5').update(Buffer.concat([...prefixed(name), ...prefixed(dataType), Buffer.from([1]), ...prefixed(value)])).digest('hex');
}

describe('local SQS on the SDK wire', () => {
  it('sends to the DLQ and receives the body, its system and message attributes, with SQS’s digests', async () => {
    const sent = await client.send(
      new SendMessageCommand({ QueueUrl: server.deadLetterQueueUrl, MessageBody: 'hello ✓', MessageAttributes: { 'reelay-redrives': { DataType: 'Number', StringValue: '2' } } }),
    );
    expect(sent.MD5OfMessageBody).toBe(createHash('md5').update('hello ✓').digest('hex'));
    expect(sent.MD5OfMessageAttributes).toBe(md5OfOneStringAttribute('reelay-redrives', 'Number', '2'));

    const { Messages: messages = [] } = await receive({ MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'] });
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message).toMatchObject({ MessageId: sent.MessageId, Body: 'hello ✓', MessageAttributes: { 'reelay-redrives': { DataType: 'Number', StringValue: '2' } } });
    expect(message?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(Number(message?.Attributes?.SentTimestamp)).toBeGreaterThan(0);
    expect(message?.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);

    // Invisible while in flight; a receive that names no attributes gets none.
    expect((await receive()).Messages).toBeUndefined();
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: server.deadLetterQueueUrl, ReceiptHandle: message?.ReceiptHandle, VisibilityTimeout: 0 }));
    const again = (await receive()).Messages ?? [];
    expect(again.map((each) => each.MessageId)).toEqual([sent.MessageId]);
    expect(again[0]?.MessageAttributes).toBeUndefined();
    expect(again[0]?.ReceiptHandle).not.toBe(message?.ReceiptHandle);

    // The first receive's handle is stale: accepted, nothing deleted. The latest one deletes.
    await client.send(new DeleteMessageCommand({ QueueUrl: server.deadLetterQueueUrl, ReceiptHandle: message?.ReceiptHandle }));
    expect(bridge.deadLetters).toHaveLength(1);
    await client.send(new DeleteMessageCommand({ QueueUrl: server.deadLetterQueueUrl, ReceiptHandle: again[0]?.ReceiptHandle }));
    expect(bridge.deadLetters).toEqual([]);
  });

  it('brings a received dead letter back once the DLQ’s visibility timeout (SQS’s default 30 s) ends', async () => {
    await client.send(new SendMessageCommand({ QueueUrl: server.deadLetterQueueUrl, MessageBody: 'kept' }));
    expect((await receive()).Messages).toHaveLength(1);
    expect((await receive()).Messages).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 350));
    const back = (await receive({ MessageSystemAttributeNames: ['All'] })).Messages ?? [];
    expect(back.map((each) => [each.Body, each.Attributes?.ApproximateReceiveCount])).toEqual([['kept', '2']]);
  });

  it('answers SQS’s errors by name', async () => {
    const other = `${server.endpoint}/000000000000/other`;
    expect(await errorName(receive({ QueueUrl: other }))).toBe('QueueDoesNotExist');
    expect(await errorName(receive({ MaxNumberOfMessages: 11 }))).toBe('InvalidParameterValue');
    expect(await errorName(receive({ WaitTimeSeconds: 21 }))).toBe('InvalidParameterValue');
    expect(await errorName(client.send(new DeleteMessageCommand({ QueueUrl: server.deadLetterQueueUrl, ReceiptHandle: 'bm9ib2R5' })))).toBe('ReceiptHandleIsInvalid');
    expect(await errorName(client.send(new SendMessageCommand({ QueueUrl: server.deadLetterQueueUrl, MessageBody: 'bell \u0007' })))).toBe('InvalidMessageContents');
    expect(await errorName(client.send(new SendMessageCommand({ QueueUrl: server.queueUrl, MessageBody: 'x', MessageAttributes: { 'AWS.reserved': { DataType: 'String', StringValue: 'x' } } })))).toBe(
      'InvalidParameterValue',
    );
    expect(await errorName(client.send(new SendMessageCommand({ QueueUrl: server.queueUrl, MessageBody: 'x', MessageAttributes: { n: { DataType: 'Number', StringValue: 'many' } } })))).toBe(
      'InvalidParameterValue',
    );
    // The ingest queue's consumer is the event source mapping: nothing else receives from it or deletes on it.
    expect(await errorName(receive({ QueueUrl: server.queueUrl }))).toBe('UnsupportedOperation');
    // A handle of the DLQ is not one of the ingest queue, and the other way round.
    await client.send(new SendMessageCommand({ QueueUrl: server.deadLetterQueueUrl, MessageBody: 'x' }));
    const handle = (await receive()).Messages?.[0]?.ReceiptHandle;
    expect(await errorName(client.send(new ChangeMessageVisibilityCommand({ QueueUrl: server.queueUrl, ReceiptHandle: handle, VisibilityTimeout: 1 })))).toBe('ReceiptHandleIsInvalid');
    expect(await errorName(client.send(new ChangeMessageVisibilityCommand({ QueueUrl: server.deadLetterQueueUrl, ReceiptHandle: handle, VisibilityTimeout: 43_201 })))).toBe(
      'InvalidParameterValue',
    );
  });

  it('serves the dead-letter drain’s adapter: a dead-lettered message is received, redriven with its count, and deleted', async () => {
    handler = (event) => ({ batchItemFailures: event.Records.filter((record) => record.body === 'poison').map((record) => ({ itemIdentifier: record.messageId })) });
    bridge.sendBody('poison');
    await bridge.drain();
    expect(bridge.deadLetters.map((letter) => [letter.body, letter.receiveCount])).toEqual([['poison', 1]]);

    const queue = sqsDeadLetterQueue({
      queueUrl: server.queueUrl,
      deadLetterQueueUrl: server.deadLetterQueueUrl,
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials,
      visibilityTimeoutSeconds: 720,
      maxReceiveCount: 1,
    });
    const [letter, ...rest] = await queue.receive(10);
    expect(rest).toEqual([]);
    expect(letter).toMatchObject({ body: 'poison', redrives: 0 });
    handler = (event) => void delivered.push(...event.Records);
    await queue.redrive(letter as NonNullable<typeof letter>, 1);
    await queue.delete(letter as NonNullable<typeof letter>);
    await bridge.drain();
    expect(bridge.deadLetters).toEqual([]);
    expect(delivered.map((record) => [record.body, record.attributes.ApproximateReceiveCount, record.messageAttributes[redrivesAttribute]?.stringValue])).toEqual([['poison', '1', '1']]);
    // A second drain finds the DLQ empty.
    expect(await queue.receive(10)).toEqual([]);
  });
});
