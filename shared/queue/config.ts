/**
 * The ingest queue as the ingest function (and reconcile's dead-letter drain) sees it: set by the stack
 * (infra/constructs/functions.ts). Parsed once at the function's edge.
 */
import { readDuration, readHttpUrl, readInteger, type Env } from '../config/reader.js';
import { awsServiceSettingsFromEnv, type AwsServiceSettings } from '../storage/config.js';
import type { QueueRetrySettings } from '../videos/ingest-backoff.js';

/** `endpoint`: SQS_ENDPOINT, the local SQS of `npm start`. */
export interface IngestQueueSettings extends QueueRetrySettings, AwsServiceSettings {
  /** INGEST_QUEUE_URL. */
  readonly queueUrl: string;
}

/**
 * Undefined when INGEST_QUEUE_URL is unset (tests, a stack from before issue N): failed messages then wait the queue's
 * visibility timeout, as before. INGEST_QUEUE_VISIBILITY_SECONDS and INGEST_QUEUE_MAX_RECEIVE_COUNT default to the
 * stack's 720 s and 5.
 */
export function ingestQueueSettingsFromEnv(env: Env): IngestQueueSettings | undefined {
  const queueUrl = readHttpUrl(env, 'INGEST_QUEUE_URL');
  if (queueUrl === undefined) return undefined;
  return {
    queueUrl,
    ...awsServiceSettingsFromEnv(env, 'SQS_ENDPOINT'),
    visibilityTimeoutSeconds: readDuration(env, 'INGEST_QUEUE_VISIBILITY_SECONDS', 'seconds', { min: 0, max: 43_200 }) ?? 720,
    maxReceiveCount: readInteger(env, 'INGEST_QUEUE_MAX_RECEIVE_COUNT', { min: 1, max: 1000 }) ?? 5,
  };
}
