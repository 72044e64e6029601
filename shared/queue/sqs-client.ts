/**
 * @aws-sdk/client-sqs for the ingest queue and its DLQ, imported on the first call: a function that never needs SQS
 * in an invocation never evaluates it (the module is in the bundle; cold start is unchanged). One extra try per call:
 * the callers treat a failure as "leave it to SQS" (the visibility timeout, the next drain).
 */
import type * as SqsSdk from '@aws-sdk/client-sqs';
import { once } from '../runtime/lazy.js';
import { awsClientConfig, type AwsServiceSettings } from '../storage/config.js';

export type SqsModule = typeof SqsSdk;

/** The client (the given one, or one built from `settings`) and the SDK's module, on first use. */
export function sqsOnDemand(settings: AwsServiceSettings, client?: Pick<SqsSdk.SQSClient, 'send'>): () => Promise<{ client: Pick<SqsSdk.SQSClient, 'send'>; sdk: SqsModule }> {
  return once(async () => {
    const sdk = await import('@aws-sdk/client-sqs');
    return { client: client ?? new sdk.SQSClient(awsClientConfig(settings, 2)), sdk };
  });
}
