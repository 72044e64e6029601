/**
 * The functions' environment: what AWS would give each function (Data API ARNs, bucket, region, Mux settings), with
 * the local endpoints, keys and secrets in place of AWS's, the tunables passed through from the caller's
 * environment, and per function only the database secret its `uses` allow.
 */
import type { Env } from '../../shared/config/reader.js';
import { localRegion } from '../api-gateway/event.js';
import type { RouteTable } from '../api-gateway/routes.js';
import type { GeneratedSigningKey } from '../mux-emulator/playback.js';
import {
  databaseSecretFor,
  localBucket,
  localDatabaseName,
  localRdsResourceArn,
  localRdsSecretArn,
  localUploadPrefix,
  type SchemaMode,
} from './config.js';

/** Settings passed through from the environment to the functions when set there. */
const tunables = [
  'MAX_UPLOAD_BYTES',
  'MULTIPART_THRESHOLD_BYTES',
  'UPLOAD_URL_TTL_SECONDS',
  'ALLOWED_CONTENT_TYPES',
  'CAPABILITY_TTL_MS',
  'CAPABILITY_INCOMPLETE_TTL_MS',
  'HEALTH_DB_WAIT_MS',
  'STUCK_UPLOAD_HOURS',
  'STUCK_INGEST_MINUTES',
  'DIAGNOSTICS_SAMPLE_LIMIT',
  'MAX_INGEST_ATTEMPTS',
  'INGEST_URL_TTL_SECONDS',
  'INGEST_STALE_CLAIM_SECONDS',
  'MUX_TIMEOUT_MS',
  'MUX_PLAYBACK_POLICY',
  'MUX_VIDEO_QUALITY',
  'PLAYBACK_TOKEN_TTL_SECONDS',
  'LOG_LEVEL',
  'DATABASE_AUTO_PAUSE_SECONDS',
  'RECONCILE_ACTIVITY_WINDOW_SECONDS',
  'RECONCILE_ACTIVITY_SLACK_SECONDS',
  'RECONCILE_BATCH_SIZE',
  'RECONCILE_TIME_BUDGET_SECONDS',
  'RECONCILE_BACKFILL_AFTER_SECONDS',
  'RECONCILE_STRANDED_AFTER_SECONDS',
  'RECONCILE_STRANDED_MAX_AGE_SECONDS',
  'RECONCILE_REFRESH_AFTER_SECONDS',
] as const;

/** The settings that reach the database; a function without database access gets none of them. */
export const databaseSettings = ['RDS_RESOURCE_ARN', 'RDS_SECRET_ARN', 'RDS_DATABASE', 'DATA_API_ENDPOINT'];
/** The ingest queue: only the SQS-triggered function and the dead-letter drain's (`ingest-dead-letters`) are told it. */
export const queueSettings = ['INGEST_QUEUE_URL', 'SQS_ENDPOINT', 'INGEST_QUEUE_VISIBILITY_SECONDS', 'INGEST_QUEUE_MAX_RECEIVE_COUNT'];
/** The ingest DLQ: only the functions that use `ingest-dead-letters` (reconcile), as infra/constructs/functions.ts. */
export const deadLetterSettings = ['INGEST_DLQ_URL'];
/** Where the publishing functions put their events. */
export const eventSettings = ['EVENT_BUS_NAME', 'EVENTBRIDGE_ENDPOINT'];

function definedEntries(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export interface FunctionsEnvironmentInput {
  /** The caller's environment (tunables, real Mux credentials). */
  readonly environment: Env;
  readonly schema: SchemaMode;
  readonly routeTable: RouteTable;
  readonly dataApiEndpoint: string;
  readonly s3: { readonly endpoint: string; readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } };
  readonly adminGroup: string;
  /** The emulator's origin and secrets; null for real Mux (its settings then come from `environment`). */
  readonly muxEmulator: {
    readonly baseUrl: string;
    readonly tokenId: string;
    readonly tokenSecret: string;
    readonly webhookSecret: string;
    /** The URL signing key made for it (its private half signs the functions' playback tokens). */
    readonly signingKey: GeneratedSigningKey | null;
  } | null;
  readonly bindingKey: string;
  /** The local EventBridge's endpoint and the bus the functions publish to. */
  readonly eventBridge: { readonly endpoint: string; readonly busName: string };
  /** The local SQS endpoint and the ingest queue (told to the SQS-triggered function only, as in AWS). */
  readonly sqs?: { readonly endpoint: string; readonly queueUrl: string; readonly deadLetterQueueUrl: string; readonly visibilityTimeoutSeconds: number; readonly maxReceiveCount: number };
  /** INGEST_STALE_CLAIM_SECONDS unless the shell sets it (see localStaleClaimSeconds); undefined: the functions' default. */
  readonly staleClaimSeconds?: number;
  /** Set last (a test's overrides). */
  readonly lambdaEnv: Env;
}

export interface FunctionsEnvironment {
  /** Every setting, with the master's database secret. */
  readonly env: Record<string, string>;
  /** One function's: `env` with only the database settings its `uses` allow. */
  envFor(name: string): Record<string, string>;
}

/**
 * How long an ingest's claim is held before another delivery (or reconcile) takes it over, when the queue runs at
 * `npm start`'s speed. In AWS the 900 s window sits between the ingest's 2-minute timeout and the five receives of
 * 720 s each, so a delivery whose holder died (a crash, a timeout) takes over before SQS gives up on the message.
 * Locally the queue runs 60× faster (five receives span 48 s) while the window would stay 900 real seconds: a video
 * whose ingest died between claim and create (`npm start` killed) was dead-lettered and then waited 15 minutes for
 * reconcile. 30 s keeps AWS's order: longer than an ingest's longest Mux call (20 s), shorter than the 36 s after
 * which the fourth receive comes.
 */
export const localStaleClaimSeconds = 30;

export function functionsEnvironment(input: FunctionsEnvironmentInput): FunctionsEnvironment {
  const { environment, schema, routeTable, adminGroup, bindingKey } = input;
  const passedThrough = Object.fromEntries(tunables.flatMap((name) => (environment[name] ? [[name, environment[name]]] : [])));
  const env: Record<string, string> = {
    RDS_RESOURCE_ARN: localRdsResourceArn,
    RDS_SECRET_ARN: localRdsSecretArn,
    RDS_DATABASE: localDatabaseName,
    DATA_API_ENDPOINT: input.dataApiEndpoint,
    UPLOAD_BUCKET: localBucket,
    UPLOAD_PREFIX: localUploadPrefix,
    S3_ENDPOINT: input.s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: localRegion,
    AWS_ACCESS_KEY_ID: input.s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: input.s3.credentials.secretAccessKey,
    ADMIN_GROUP: adminGroup,
    // "Work pending" markers in the local bucket, and reconcile's activity probe: the local Data API's record of its
    // last call, read as a cluster that pauses 300 s (dev's auto-pause) after it (docs/LOCAL.md).
    PENDING_WORK_BUCKET: localBucket,
    // The path is local/data-api/server.ts's `activityPath` (not imported: that module loads with the server, later).
    DATABASE_ACTIVITY_URL: `${input.dataApiEndpoint}/_local/activity`,
    DATABASE_AUTO_PAUSE_SECONDS: '300',
    // The local EventBridge (shared/events/config.ts): the SDK's endpoint overridden, signing with the keys above.
    EVENT_BUS_NAME: input.eventBridge.busName,
    EVENTBRIDGE_ENDPOINT: input.eventBridge.endpoint,
    ...(input.sqs && {
      INGEST_QUEUE_URL: input.sqs.queueUrl,
      INGEST_DLQ_URL: input.sqs.deadLetterQueueUrl,
      SQS_ENDPOINT: input.sqs.endpoint,
      INGEST_QUEUE_VISIBILITY_SECONDS: String(input.sqs.visibilityTimeoutSeconds),
      INGEST_QUEUE_MAX_RECEIVE_COUNT: String(input.sqs.maxReceiveCount),
    }),
    ...(input.muxEmulator
      ? {
          MUX_TOKEN_ID: input.muxEmulator.tokenId,
          MUX_TOKEN_SECRET: input.muxEmulator.tokenSecret,
          MUX_WEBHOOK_SECRET: input.muxEmulator.webhookSecret,
          MUX_BASE_URL: input.muxEmulator.baseUrl,
          MUX_BINDING_KEY: bindingKey,
          ...(input.muxEmulator.signingKey && {
            MUX_SIGNING_KEY_ID: input.muxEmulator.signingKey.keyId,
            MUX_SIGNING_PRIVATE_KEY: input.muxEmulator.signingKey.privateKeyBase64,
          }),
        }
      : definedEntries({
          MUX_TOKEN_ID: environment.MUX_TOKEN_ID,
          MUX_TOKEN_SECRET: environment.MUX_TOKEN_SECRET,
          MUX_WEBHOOK_SECRET: environment.MUX_WEBHOOK_SECRET,
          MUX_BASE_URL: environment.MUX_BASE_URL,
          MUX_BINDING_KEY: bindingKey,
          MUX_SIGNING_KEY_ID: environment.MUX_SIGNING_KEY_ID,
          MUX_SIGNING_PRIVATE_KEY: environment.MUX_SIGNING_PRIVATE_KEY,
        })),
    ...(input.staleClaimSeconds !== undefined && { INGEST_STALE_CLAIM_SECONDS: String(input.staleClaimSeconds) }),
    ...passedThrough,
    ...definedEntries(input.lambdaEnv),
  };
  const envFor = (name: string): Record<string, string> => {
    const uses = routeTable.functions[name]?.uses ?? [];
    const secretArn = databaseSecretFor(uses, schema);
    // As in AWS (infra/stack.ts): only the functions that use `events` are told where the bus is.
    const drainsDeadLetters = uses.includes('ingest-dead-letters');
    const toldQueue = routeTable.functions[name]?.trigger === 'sqs' || drainsDeadLetters;
    const own = Object.fromEntries(
      Object.entries(env).filter(
        ([key]) =>
          (uses.includes('events') || !eventSettings.includes(key)) && (toldQueue || !queueSettings.includes(key)) && (drainsDeadLetters || !deadLetterSettings.includes(key)),
      ),
    );
    const withoutDatabase = Object.fromEntries(Object.entries(own).filter(([key]) => !databaseSettings.includes(key)));
    return secretArn === undefined ? withoutDatabase : { ...own, RDS_SECRET_ARN: secretArn };
  };
  return { env, envFor };
}
