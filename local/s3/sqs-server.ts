/**
 * The SQS operations the functions call, on the wire the unchanged @aws-sdk/client-sqs speaks (its endpoint overridden
 * by SQS_ENDPOINT): the AWS JSON 1.0 protocol — POST /, `X-Amz-Target: AmazonSQS.<Operation>`, `Content-Type:
 * application/x-amz-json-1.0` — answering JSON or an error body whose `__type` is `com.amazonaws.sqs#<Error>` with
 * the `x-amzn-query-error: <code>;Sender` header SQS adds for query-compatible clients (the code is the query API's,
 * e.g. `AWS.SimpleQueueService.NonExistentQueue` for QueueDoesNotExist). Sources: the SQS API reference
 * (ChangeMessageVisibility, ReceiveMessage, DeleteMessage, SendMessage; "Amazon SQS AWS JSON protocol FAQs").
 *
 * Served, on the two queues of sqs-bridge.ts:
 * - the ingest queue (INGEST_QUEUE_URL): ChangeMessageVisibility (ingest's, on a throttled message) and SendMessage
 *   (the dead-letter drain's redrive). ReceiveMessage and DeleteMessage are not: its one consumer is the event source
 *   mapping, which the bridge is, as in AWS where nothing else polls the queue.
 * - the dead-letter queue (INGEST_DLQ_URL): ReceiveMessage, DeleteMessage, ChangeMessageVisibility, SendMessage
 *   (reconcile's drain, and a test putting a dead letter in).
 * Not served: long polling (WaitTimeSeconds is checked, 0–20, and a receive answers at once), batch operations, queue
 * attributes and management; each answers UnsupportedOperation.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { silentLogger, type Logger } from '../../shared/log.js';
import { listenOn } from '../listen.js';
import { localQueueNames, type LocalQueue, type ReceivedMessage, type SqsBridge } from './sqs-bridge.js';
import { checkVisibilitySeconds, md5Hex, md5OfMessageAttributes, selectMessageAttributes, SqsBridgeError, validateBody, validateMessageAttributes, type SqsErrorType } from './sqs-messages.js';

export const sqsJsonContentType = 'application/x-amz-json-1.0';

export interface LocalSqsServer {
  /** `http://127.0.0.1:<port>`: SQS_ENDPOINT. */
  readonly endpoint: string;
  /** The ingest queue's URL (INGEST_QUEUE_URL). */
  readonly queueUrl: string;
  /** Its dead-letter queue's URL (INGEST_DLQ_URL). */
  readonly deadLetterQueueUrl: string;
  close(): Promise<void>;
}

/** The query API's code of each error, where it differs from the JSON protocol's name (the SDK's error models). */
const queryCodes: Partial<Record<SqsErrorType, string>> = {
  QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue',
  MessageNotInflight: 'AWS.SimpleQueueService.MessageNotInflight',
  UnsupportedOperation: 'AWS.SimpleQueueService.UnsupportedOperation',
};

class WireError extends Error {
  constructor(readonly status: number, readonly type: string, message: string) {
    super(message);
  }
}

type Body = Record<string, unknown>;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': sqsJsonContentType, 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}

const unsupported = (operation: string, where: string) => new SqsBridgeError('UnsupportedOperation', `The local SQS does not serve ${operation} on ${where}.`);

function required(body: Body, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw new SqsBridgeError('MissingParameter', `The request must contain the parameter ${name}.`);
  return value;
}

function integerIn(body: Body, name: string, min: number, max: number): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SqsBridgeError('InvalidParameterValue', `Value ${String(value)} for parameter ${name} is invalid. Reason: must be between ${min} and ${max}.`);
  }
  return value;
}

function stringList(body: Body, name: string): string[] | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((each) => typeof each === 'string')) throw new SqsBridgeError('InvalidParameterValue', `${name} must be a list of strings.`);
  return value as string[];
}

/** The system attributes a receive asked for (MessageSystemAttributeNames, or the older AttributeNames). */
function systemAttributes(message: ReceivedMessage, requested: readonly string[]): Record<string, string> | undefined {
  const all: Record<string, string> = {
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
    SentTimestamp: String(message.sentAt),
    SenderId: 'AROALOCALSQSSENDER',
  };
  const selected = requested.includes('All') ? all : Object.fromEntries(Object.entries(all).filter(([name]) => requested.includes(name)));
  return Object.keys(selected).length === 0 ? undefined : selected;
}

export async function startLocalSqsServer(options: { bridge: SqsBridge; account?: string; port?: number; logger?: Logger }): Promise<LocalSqsServer> {
  const logger = options.logger ?? silentLogger;
  const { bridge } = options;
  const account = options.account ?? '000000000000';
  const queuesByPath = new Map<string, LocalQueue>(Object.entries(localQueueNames).map(([queue, name]) => [`/${account}/${name}`, queue as LocalQueue]));

  const queueOf = (body: Body): LocalQueue => {
    const url = required(body, 'QueueUrl');
    let path: string;
    try {
      path = new URL(url, 'http://local').pathname;
    } catch {
      path = '';
    }
    const queue = queuesByPath.get(path);
    if (queue === undefined) throw new SqsBridgeError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  };

  const operations: Record<string, (body: Body) => unknown> = {
    ChangeMessageVisibility(body) {
      const queue = queueOf(body);
      const receiptHandle = required(body, 'ReceiptHandle');
      if (body.VisibilityTimeout === undefined) throw new SqsBridgeError('MissingParameter', 'The request must contain the parameter VisibilityTimeout.');
      const seconds = checkVisibilitySeconds(body.VisibilityTimeout);
      bridge.changeVisibility(receiptHandle, seconds, queue);
      logger.debug('local_sqs.visibility_changed', { queue, seconds });
      return {};
    },
    SendMessage(body) {
      const queue = queueOf(body);
      const messageBody = validateBody(body.MessageBody);
      const messageAttributes = validateMessageAttributes(body.MessageAttributes);
      const delaySeconds = integerIn(body, 'DelaySeconds', 0, 900) ?? 0;
      const messageId = bridge.send(queue, messageBody, { messageAttributes, delaySeconds });
      logger.debug('local_sqs.sent', { queue, messageId });
      const attributesMd5 = md5OfMessageAttributes(messageAttributes);
      return { MessageId: messageId, MD5OfMessageBody: md5Hex(messageBody), ...(attributesMd5 && { MD5OfMessageAttributes: attributesMd5 }) };
    },
    ReceiveMessage(body) {
      const queue = queueOf(body);
      if (queue !== 'deadLetters') throw unsupported('ReceiveMessage', 'the ingest queue (its consumer is the event source mapping)');
      const max = integerIn(body, 'MaxNumberOfMessages', 1, 10) ?? 1;
      integerIn(body, 'WaitTimeSeconds', 0, 20);
      const visibility = body.VisibilityTimeout === undefined || body.VisibilityTimeout === null ? undefined : checkVisibilitySeconds(body.VisibilityTimeout);
      const wantedSystem = [...(stringList(body, 'MessageSystemAttributeNames') ?? []), ...(stringList(body, 'AttributeNames') ?? [])];
      const wantedAttributes = stringList(body, 'MessageAttributeNames');
      const messages = bridge.receiveDeadLetters(max, visibility).map((message) => {
        const attributes = systemAttributes(message, wantedSystem);
        const messageAttributes = selectMessageAttributes(message.messageAttributes, wantedAttributes);
        const attributesMd5 = md5OfMessageAttributes(messageAttributes);
        return {
          MessageId: message.messageId,
          ReceiptHandle: message.receiptHandle,
          MD5OfBody: md5Hex(message.body),
          Body: message.body,
          ...(attributes && { Attributes: attributes }),
          ...(messageAttributes && { MessageAttributes: messageAttributes, MD5OfMessageAttributes: attributesMd5 }),
        };
      });
      if (messages.length > 0) logger.debug('local_sqs.received', { queue, messages: messages.length });
      return messages.length === 0 ? {} : { Messages: messages };
    },
    DeleteMessage(body) {
      const queue = queueOf(body);
      const receiptHandle = required(body, 'ReceiptHandle');
      if (queue !== 'deadLetters') throw unsupported('DeleteMessage', 'the ingest queue (the event source mapping deletes what its function handled)');
      bridge.deleteDeadLetter(receiptHandle);
      logger.debug('local_sqs.deleted', { queue });
      return {};
    },
  };

  const handle = async (request: IncomingMessage): Promise<unknown> => {
    if (request.method !== 'POST') throw new WireError(400, 'UnsupportedOperation', 'Only POST is served.');
    if (!request.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) throw new WireError(403, 'MissingAuthenticationToken', 'Missing Authentication Token');
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('AmazonSQS.') ? operations[target.slice('AmazonSQS.'.length)] : undefined;
    if (operation === undefined) {
      throw new WireError(400, 'UnsupportedOperation', `The local SQS serves ${Object.keys(operations).map((name) => `AmazonSQS.${name}`).join(', ')}, not ${JSON.stringify(target)}.`);
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(request));
    } catch {
      throw new WireError(400, 'InvalidParameterValue', 'The request body is not JSON.');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new WireError(400, 'InvalidParameterValue', 'The request body is not a JSON object.');
    try {
      return operation(body as Body);
    } catch (error) {
      if (error instanceof SqsBridgeError) throw new WireError(400, error.type, error.message);
      throw error;
    }
  };

  const server = createServer((request, response) => {
    handle(request).then(
      (answer) => send(response, 200, answer),
      (error: unknown) => {
        const wire = error instanceof WireError ? error : new WireError(500, 'InternalError', error instanceof Error ? error.message : String(error));
        if (wire.status === 500) logger.error('local_sqs.server_error', { error });
        const code = queryCodes[wire.type as SqsErrorType] ?? wire.type;
        send(response, wire.status, { __type: `com.amazonaws.sqs#${wire.type}`, message: wire.message }, { 'x-amzn-query-error': `${code};${wire.status >= 500 ? 'Receiver' : 'Sender'}` });
      },
    );
  });
  const { origin: endpoint } = await listenOn(server, options.port ?? 0, '127.0.0.1');
  return {
    endpoint,
    queueUrl: `${endpoint}/${account}/${localQueueNames.ingest}`,
    deadLetterQueueUrl: `${endpoint}/${account}/${localQueueNames.deadLetters}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
