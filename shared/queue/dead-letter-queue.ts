/**
 * The ingest DLQ through @aws-sdk/client-sqs (imported on first use: reconcile loads it only when it drains), for
 * shared/videos/dead-letters.ts. Receives without waiting (a scheduled run must not idle 20 s on an empty queue);
 * redrives with SendMessage to the ingest queue, which gives the body a fresh receive count.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { readHttpUrl, type Env } from '../config/reader.js';
import type { DeadLetterMessage, DeadLetterQueue } from '../videos/dead-letters.js';
import { ingestQueueSettingsFromEnv, type IngestQueueSettings } from './config.js';
import { sqsOnDemand } from './sqs-client.js';

export const redrivesAttribute = 'reelay-redrives';

export interface DeadLetterQueueSettings extends IngestQueueSettings {
  /** INGEST_DLQ_URL. */
  readonly deadLetterQueueUrl: string;
}

/** Undefined unless both INGEST_QUEUE_URL and INGEST_DLQ_URL are set (the stack sets them for reconcile). */
export function deadLetterQueueSettingsFromEnv(env: Env): DeadLetterQueueSettings | undefined {
  const queue = ingestQueueSettingsFromEnv(env);
  const deadLetterQueueUrl = readHttpUrl(env, 'INGEST_DLQ_URL');
  if (queue === undefined || deadLetterQueueUrl === undefined) return undefined;
  return { ...queue, deadLetterQueueUrl };
}

export function sqsDeadLetterQueue(settings: DeadLetterQueueSettings, options: { client?: Pick<SQSClient, 'send'> } = {}): DeadLetterQueue {
  const sqs = sqsOnDemand(settings, options.client);
  return {
    async receive(max) {
      const { client, sdk } = await sqs();
      const answer = await client.send(
        new sdk.ReceiveMessageCommand({ QueueUrl: settings.deadLetterQueueUrl, MaxNumberOfMessages: Math.max(1, Math.min(10, max)), WaitTimeSeconds: 0, MessageAttributeNames: [redrivesAttribute] }),
      );
      return (answer.Messages ?? []).flatMap((message): DeadLetterMessage[] => {
        if (message.MessageId === undefined || message.ReceiptHandle === undefined) return [];
        const redrives = Number(message.MessageAttributes?.[redrivesAttribute]?.StringValue ?? '0');
        return [{ messageId: message.MessageId, receiptHandle: message.ReceiptHandle, body: message.Body ?? '', redrives: Number.isInteger(redrives) && redrives > 0 ? redrives : 0 }];
      });
    },
    async delete(message) {
      const { client, sdk } = await sqs();
      await client.send(new sdk.DeleteMessageCommand({ QueueUrl: settings.deadLetterQueueUrl, ReceiptHandle: message.receiptHandle }));
    },
    async redrive(message, redrives) {
      const { client, sdk } = await sqs();
      await client.send(
        new sdk.SendMessageCommand({
          QueueUrl: settings.queueUrl,
          MessageBody: message.body,
          MessageAttributes: { [redrivesAttribute]: { DataType: 'Number', StringValue: String(redrives) } },
        }),
      );
    },
  };
}
