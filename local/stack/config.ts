/**
 * The local stack's fixed names and shapes: where its state lives, the placeholder ARNs and secrets (one per database
 * role, as the CDK app makes them), the bucket, and the options and handle of `startLocalStack` (../stack.ts).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3EventRecord, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { LambdaContext } from '../../shared/http/types.js';
import type { Logger } from '../../shared/log.js';
import type { UpResult } from '../../shared/migrations/engine.js';
import { databaseRoles } from '../../shared/db/roles.js';
import type { Env } from '../../shared/config/reader.js';
import { localAccountId, localRegion } from '../api-gateway/event.js';
import type { RouteTable } from '../api-gateway/routes.js';
import type { MintTokenOptions } from '../auth/local-auth.js';
import type { BackendConfig, LocalDataApi } from '../data-api/server.js';
import type { LocalEventBridge } from '../eventbridge/server.js';
import type { GeneratedSigningKey } from '../mux-emulator/playback.js';
import type { MuxEmulator } from '../mux-emulator/server.js';
import type { LocalS3 } from '../s3/server.js';
import type { SqsBridge } from '../s3/sqs-bridge.js';
import type { LocalSqsServer } from '../s3/sqs-server.js';
import type { MetricsRecorder } from './metrics.js';

export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * Where `npm start` and `npm run token` keep their state: `.local/`, or `REELAY_LOCAL_DIR` (a test that runs the
 * docs' commands keeps the developer's database, files and keys out of it).
 */
export const localStateDir = process.env.REELAY_LOCAL_DIR ? resolve(process.env.REELAY_LOCAL_DIR) : join(repositoryRoot, '.local');

/** Placeholders: the local Data API accepts any resource ARN; the secret ARN picks the database role. */
export const localRdsResourceArn = `arn:aws:rds:${localRegion}:${localAccountId}:cluster:reelay-local`;
/** The master's secret (migrations, the CLI, the admin function); any ARN the endpoint does not map acts as it. */
export const localRdsSecretArn = `arn:aws:secretsmanager:${localRegion}:${localAccountId}:secret:reelay-local-db`;
/** The roles' secrets, as the CDK app makes one per role (infra/constructs/database.ts). */
export const localRoleSecretArns = {
  app: `arn:aws:secretsmanager:${localRegion}:${localAccountId}:secret:reelay-local-app`,
  read: `arn:aws:secretsmanager:${localRegion}:${localAccountId}:secret:reelay-local-read`,
} as const;

/** Secret ARN → database role, for the local Data API. */
export const localSecretRoles: Readonly<Record<string, string>> = {
  [localRoleSecretArns.app]: databaseRoles.app,
  [localRoleSecretArns.read]: databaseRoles.read,
};

/**
 * The database secret a function gets from its `uses` (functions/routes.json), or undefined without database access.
 * On the legacy schema the roles do not exist yet: every database function gets the master's.
 */
export function databaseSecretFor(uses: readonly string[], schema: SchemaMode): string | undefined {
  if (uses.includes('database-migrations')) return localRdsSecretArn;
  const role = uses.includes('database') ? localRoleSecretArns.app : uses.includes('database-read') ? localRoleSecretArns.read : undefined;
  if (role === undefined) return undefined;
  return schema === 'legacy' ? localRdsSecretArn : role;
}
export const localDatabaseName = 'reelay';
export const localBucket = 'reelay-local-uploads';
export const localUploadPrefix = 'uploads/';

/**
 * The keys the upload bucket's policy lets reelay write without a conditional header: the caption files it rewrites
 * (shared/storage/uploads.ts, captionsKeyFor). The same pattern as the CDK app's (test/infra checks they agree).
 */
export function conditionalWritesExemptKeys(uploadPrefix: string): string {
  return `${uploadPrefix}*/captions/*`;
}

/** The route the stack makes sure answers before it reports itself up (functions/routes.json names its function). */
export const healthPath = '/api/database/health';
/** The local stack's own route: the metric totals (not an API route; AWS has CloudWatch instead). */
export const metricsPath = '/_local/metrics';

/** The local stack's own route: the events the local EventBridge received (AWS has rules and targets instead). */
export const eventsPath = '/_local/events';
/** The bus the functions publish to (EVENT_BUS_NAME); the local EventBridge knows it and `default`. */
export const localEventBusName = 'reelay-local';

/** `latest` applies every migration at start; `legacy` keeps the schema at 0001 (the basic table production had). */
export type SchemaMode = 'latest' | 'legacy';
export const legacyVersion = 1;

export interface LocalStackOptions {
  /** The API's port. Default 3000; 0 picks a free one. */
  readonly port?: number;
  /** Ports of the Data API, S3, the Mux emulator and EventBridge. Default 0 (free ports); a taken port falls back to a free one. */
  readonly servicePorts?: { readonly dataApi?: number; readonly s3?: number; readonly mux?: number; readonly eventBridge?: number };
  readonly schema?: SchemaMode;
  /**
   * The database. Default: PostgreSQL at `environment.DATABASE_URL` when set, otherwise PGlite in `dataDir`.
   * A database passed in is not closed by `stop()`.
   */
  readonly database?: BackendConfig;
  /**
   * Where the stack keeps what outlives a restart: the parts below default to places inside it (`pglite/`, `s3/`,
   * `auth/`, `sqs/ingest.json`, `mux/assets.json`, `mux-binding-key`). Default `localStateDir` (`.local`, or REELAY_LOCAL_DIR);
   * `npm start -- --state-dir` sets it.
   */
  readonly stateDir?: string;
  /** PGlite's files. Default `pglite/` in `stateDir`; `null` keeps the database in memory. */
  readonly dataDir?: string | null;
  /** Delete `dataDir` before starting (a fresh database). */
  readonly freshDataDir?: boolean;
  /** The local S3's files. Default `s3/` in `stateDir`. */
  readonly s3Dir?: string;
  /**
   * The web console's folder, served at `/`; it may appear later (npm start builds it beside the stack). Default:
   * the first of web/dist, console/dist, web, console that holds an index.html.
   */
  readonly staticDir?: string;
  /** The local identity provider's key pair. Default `auth/` in `stateDir`. */
  readonly authDir?: string;
  /**
   * `auto` (default): real Mux when MUX_TOKEN_ID and MUX_TOKEN_SECRET are in `environment`, the emulator otherwise.
   * `emulator`: always the emulator (tests: nothing may reach Mux).
   */
  readonly mux?: 'auto' | 'emulator';
  /** Where DATABASE_URL, MUX_* and the tunables (thresholds, TTLs) are read from. Default `process.env`. */
  readonly environment?: Env;
  /** Set last on the functions' environment (e.g. `MULTIPART_THRESHOLD_BYTES` lowered for a test). */
  readonly lambdaEnv?: Env;
  /** How often the reconcile function runs. Default 60 s; 0 never (invoke it with `invoke.reconcile()`). */
  readonly reconcileIntervalMs?: number;
  /** The emulator's pause between lifecycle steps. Default 50 ms. */
  readonly muxProcessingDelayMs?: number;
  /** The local S3's minimum part size (default 5 MiB, as S3). */
  readonly s3MinPartBytes?: number;
  /**
   * The local EventBridge: where its forward rule sends reelay's events (default `environment.EVENTS_FORWARD_URL`),
   * its waits between forward retries, how many events it keeps (default 10 000).
   */
  readonly eventBridge?: { readonly forwardUrl?: string; readonly forwardRetryDelaysMs?: readonly number[]; readonly capacity?: number };
  /**
   * The SQS stand-in: how long the CDK app's 720 s visibility timeout lasts here (default 12 s: SQS time runs 60×
   * faster), the redrive limit (default the CDK app's 5), and where its queue and DLQ are kept across restarts
   * (default `sqs/ingest.json` in `stateDir` when `s3Dir` is not given, else memory only; null: memory only).
   */
  readonly sqs?: {
    readonly visibilityTimeoutMs?: number;
    /** The visibility timeout the ingest function is told, in SQS seconds. Default the CDK app's 720. */
    readonly visibilityTimeoutSeconds?: number;
    readonly maxReceiveCount?: number;
    readonly stateFile?: string | null;
  };
  /**
   * Where the Mux emulator keeps its assets across restarts (local/mux-emulator/persistence.ts), with the binding key
   * that tags them beside it: default `mux/assets.json` in `stateDir` when `s3Dir` is not given, else memory only
   * (and a fresh key each start); null: memory only.
   */
  readonly muxStateFile?: string | null;
  /** The functions and routes to run. Default functions/routes.json. */
  readonly routeTable?: RouteTable;
  /**
   * Browser origins the API and the local S3 allow beside the stack's own (`http://127.0.0.1:<port>`,
   * `http://localhost:<port>`). Default `CORS_ORIGINS` from `environment`, comma-separated.
   */
  readonly corsOrigins?: readonly string[];
  /** The functions' ADMIN_GROUP, and the group `tokens.mint(…, { admin: true })` adds. Default `environment.ADMIN_GROUP`, else `admin`. */
  readonly adminGroup?: string;
  /** Scopes the API requires per route or auth level, the JSON of `-c routeScopes` (docs/DEPLOY.md). Default none. */
  readonly routeScopes?: unknown;
  readonly logger?: Logger;
}

export interface LocalStackUrls {
  readonly api: string;
  readonly health: string;
  readonly dataApi: string;
  readonly s3: string;
  /** The emulator's origin; null when real Mux is used. */
  readonly mux: string | null;
  /** The local EventBridge's endpoint (EVENTBRIDGE_ENDPOINT). */
  readonly eventBridge: string;
  /** `GET` the events received, oldest first (`/_local/events` on the API). */
  readonly events: string;
}

export interface LocalStack {
  /** The API's origin, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  readonly urls: LocalStackUrls;
  /** The origins CORS allows besides the stack's own (`CORS_ORIGINS`), on the API and the local S3. */
  readonly corsOrigins: readonly string[];
  /** The functions' environment with the master's database secret (what the migration CLI and tests use). */
  readonly env: Readonly<Record<string, string>>;
  /** The environment one function is built with: `env` with only the database settings its `uses` allow. */
  functionEnv(name: string): Readonly<Record<string, string>>;
  readonly tokens: { mint(sub: string, options?: Pick<MintTokenOptions, 'admin' | 'groups' | 'scopes' | 'claims'>): Promise<string> };
  readonly database: { readonly kind: 'pglite' | 'postgres'; readonly dataDir: string | null; readonly migrated: UpResult };
  /** The emulator, for inspecting assets and deliveries; null when real Mux is used. */
  readonly muxEmulator: MuxEmulator | null;
  /** The URL signing key made for the emulator (its public key verifies the functions' tokens); null with real Mux. */
  readonly muxSigningKey: GeneratedSigningKey | null;
  readonly dataApi: LocalDataApi;
  /** The local EventBridge: the events received (`events()`), its faults, its counters, the forward rule's deliveries. */
  readonly eventBridge: LocalEventBridge;
  readonly s3: LocalS3;
  readonly sqs: SqsBridge;
  /** The SQS wire endpoint the functions call (SQS_ENDPOINT), the ingest queue's URL (INGEST_QUEUE_URL) and its DLQ's (INGEST_DLQ_URL). */
  readonly sqsServer: LocalSqsServer;
  /** Every object-created notification the bucket sent, in order (the bodies the ingest queue received, lost ones too). */
  readonly objectCreated: readonly S3EventRecord[];
  /** A fault for tests: the next `count` object-created notifications never reach the queue (an S3 event lost). */
  loseNextNotifications(count: number): void;
  /** The totals of the EMF metrics the functions logged since start (`GET /_local/metrics`, docs/LOCAL.md). */
  readonly metrics: MetricsRecorder;
  /** Runs the non-HTTP functions the way their triggers would. */
  readonly invoke: {
    reconcile(event?: unknown): Promise<unknown>;
    migrate(payload: unknown): Promise<unknown>;
    ingest(event: SQSEvent): Promise<SQSBatchResponse | void>;
  };
  /** The shell command that runs the migration CLI against this stack's database. */
  migrateCommand(args: string): string;
  /** Resolves when queued ingest messages, the emulator's lifecycles and webhooks, and event forwards have all finished. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export type LambdaFunction = (event: unknown, context: LambdaContext) => Promise<unknown>;

export interface FunctionModule {
  createHandler(env: Env, options?: { readonly logger?: Logger }): LambdaFunction | Promise<LambdaFunction>;
}
