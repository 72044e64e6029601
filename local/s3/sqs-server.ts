/**
 * The SQS operations the functions call, on the wire the unchanged @aws-sdk/client-sqs speaks (its endpoint overridden
 * by SQS_ENDPOINT): the AWS JSON 1.0 protocol — POST /, `X-Amz-Target: AmazonSQS.<Operation>`, `Content-Type:
 * application/x-amz-json-1.0` — answering `{}` or an error body whose `__type` is `com.amazonaws.sqs#<Error>` with
 * the `x-amzn-query-error: <Error>;Sender` header SQS adds for query-compatible clients. Only ChangeMessageVisibility
 * (the ingest function's) is served; the queue is sqs-bridge.ts. Sources: the SQS API reference
 * (ChangeMessageVisibility, "Amazon SQS AWS JSON protocol FAQs").
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../../shared/log.js';
import { SqsBridgeError, type SqsBridge } from './sqs-bridge.js';

export const sqsJsonContentType = 'application/x-amz-json-1.0';
const changeVisibilityTarget = 'AmazonSQS.ChangeMessageVisibility';

export interface LocalSqsServer {
  /** `http://127.0.0.1:<port>`: SQS_ENDPOINT. */
  readonly endpoint: string;
  /** The ingest queue's URL (INGEST_QUEUE_URL). */
  readonly queueUrl: string;
  close(): Promise<void>;
}

class WireError extends Error {
  constructor(readonly status: number, readonly type: string, message: string) {
    super(message);
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': sqsJsonContentType, 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}

export async function startLocalSqsServer(options: { bridge: SqsBridge; queueName?: string; account?: string; port?: number; logger?: Logger }): Promise<LocalSqsServer> {
  const logger = options.logger ?? silentLogger;
  const queuePath = `/${options.account ?? '000000000000'}/${options.queueName ?? 'reelay-local-ingest'}`;
  let queueUrl = '';

  const handle = async (request: IncomingMessage): Promise<Record<string, never>> => {
    if (request.method !== 'POST') throw new WireError(400, 'UnsupportedOperation', 'Only POST is served.');
    if (!request.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) throw new WireError(403, 'MissingAuthenticationToken', 'Missing Authentication Token');
    const target = String(request.headers['x-amz-target'] ?? '');
    if (target !== changeVisibilityTarget) throw new WireError(400, 'UnsupportedOperation', `The local SQS serves only ${changeVisibilityTarget}, not ${JSON.stringify(target)}.`);
    let body: { QueueUrl?: unknown; ReceiptHandle?: unknown; VisibilityTimeout?: unknown };
    try {
      body = JSON.parse(await readBody(request)) as typeof body;
    } catch {
      throw new WireError(400, 'InvalidParameterValue', 'The request body is not JSON.');
    }
    if (typeof body.QueueUrl !== 'string' || new URL(body.QueueUrl, 'http://x').pathname !== queuePath) {
      throw new WireError(400, 'QueueDoesNotExist', 'The specified queue does not exist.');
    }
    if (typeof body.ReceiptHandle !== 'string' || typeof body.VisibilityTimeout !== 'number') {
      throw new WireError(400, 'MissingParameter', 'ReceiptHandle and VisibilityTimeout are required.');
    }
    try {
      options.bridge.changeVisibility(body.ReceiptHandle, body.VisibilityTimeout);
    } catch (error) {
      if (error instanceof SqsBridgeError) throw new WireError(400, error.type, error.message);
      throw error;
    }
    logger.debug('local_sqs.visibility_changed', { seconds: body.VisibilityTimeout });
    return {};
  };

  const server = createServer((request, response) => {
    handle(request).then(
      (answer) => send(response, 200, answer),
      (error: unknown) => {
        const wire = error instanceof WireError ? error : new WireError(500, 'InternalError', error instanceof Error ? error.message : String(error));
        if (wire.status === 500) logger.error('local_sqs.server_error', { error });
        send(response, wire.status, { __type: `com.amazonaws.sqs#${wire.type}`, message: wire.message }, { 'x-amzn-query-error': `${wire.type};Sender` });
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  queueUrl = `${endpoint}${queuePath}`;
  return {
    endpoint,
    queueUrl,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
