/**
 * ChangeMessageVisibility on the ingest queue, through @aws-sdk/client-sqs imported on the first call: a batch in
 * which nothing must be retried never loads it (the module is in the bundle, but evaluated only then; cold start is
 * unchanged). The SDK's own retries stay at one extra try: a failed change only means the message waits the queue's
 * visibility timeout, as it did before.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { IngestQueueSettings } from './config.js';
import { sqsOnDemand } from './sqs-client.js';

export interface MessageVisibility {
  /** The message (by this receive's handle) becomes visible again in `seconds`. */
  change(receiptHandle: string, seconds: number): Promise<void>;
}

export function sqsMessageVisibility(settings: IngestQueueSettings, options: { client?: Pick<SQSClient, 'send'> } = {}): MessageVisibility {
  const sqs = sqsOnDemand(settings, options.client);
  return {
    async change(receiptHandle, seconds) {
      const { client, sdk } = await sqs();
      await client.send(new sdk.ChangeMessageVisibilityCommand({ QueueUrl: settings.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
    },
  };
}
