/**
 * The whole of reelay on one machine, in one process, on 127.0.0.1: the local Data API (PGlite or a PostgreSQL URL),
 * the local S3 with its object-created notifications delivered SQS-style to the ingest function, the Mux emulator
 * (or real Mux when credentials are in the environment), and the API Gateway emulator in front of the HTTP functions.
 *
 * Every function is built with its own `createHandler(env)` from functions/routes.json — the code AWS runs — and the
 * only local thing about it is the environment this module hands it: Data API ARNs plus DATA_API_ENDPOINT, the local
 * bucket's endpoint and keys, the emulator's base URL and secrets, and a URL signing key made at start whose public
 * half the emulator checks signed playback tokens with (MUX_PLAYBACK_POLICY=signed needs nothing else).
 *
 * As in AWS, each function gets only the database secret of the role its `uses` names (the application role, the
 * read-only role or the master), and the local Data API runs each call as the role of its secret, so PostgreSQL
 * enforces the same privileges here. The legacy schema (0001) predates the roles: on it every function gets the
 * master's secret, as every function had before migration 0004 (docs/LOCAL.md).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import type { S3EventRecord, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { LambdaContext } from '../shared/http/types.js';
import { createLogger, type Logger } from '../shared/log.js';
import type { UpResult } from '../shared/migrations/engine.js';
import { databaseRoles } from '../shared/db/roles.js';
import type { Env } from '../shared/runtime/lazy.js';
import { parseAdminGroup } from '../shared/http/principal.js';
import { lambdaContext, localAccountId, localRegion } from './api-gateway/event.js';
import { loadRouteTable, withRouteScopes, type FunctionDefinition, type RouteTable } from './api-gateway/routes.js';
import type { MintTokenOptions } from './auth/local-auth.js';
import type { ApiGateway, HttpFunction } from './api-gateway/server.js';
import type { BackendConfig, LocalDataApi } from './data-api/server.js';
import type { GeneratedSigningKey } from './mux-emulator/playback.js';
import type { MuxEmulator } from './mux-emulator/server.js';
import { createPgliteCluster, hasPgliteCluster } from './pglite-cluster.js';
import type { LocalS3 } from './s3/server.js';
import { createSqsBridge, type SqsBridge } from './s3/sqs-bridge.js';

export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const localStateDir = join(repositoryRoot, '.local');

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
const healthPath = '/api/database/health';

/** `latest` applies every migration at start; `legacy` keeps the schema at 0001 (the basic table production had). */
export type SchemaMode = 'latest' | 'legacy';
const legacyVersion = 1;

export interface LocalStackOptions {
  /** The API's port. Default 3000; 0 picks a free one. */
  readonly port?: number;
  /** Ports of the Data API, S3 and Mux emulator. Default 0 (free ports); a taken port falls back to a free one. */
  readonly servicePorts?: { readonly dataApi?: number; readonly s3?: number; readonly mux?: number };
  readonly schema?: SchemaMode;
  /**
   * The database. Default: PostgreSQL at `environment.DATABASE_URL` when set, otherwise PGlite in `dataDir`.
   * A database passed in is not closed by `stop()`.
   */
  readonly database?: BackendConfig;
  /** PGlite's files. Default `.local/pglite`; `null` keeps the database in memory. */
  readonly dataDir?: string | null;
  /** Delete `dataDir` before starting (a fresh database). */
  readonly freshDataDir?: boolean;
  /** The local S3's files. Default `.local/s3`. */
  readonly s3Dir?: string;
  /**
   * The web console's folder, served at `/`; it may appear later (npm start builds it beside the stack). Default:
   * the first of web/dist, console/dist, web, console that holds an index.html.
   */
  readonly staticDir?: string;
  /** The local identity provider's key pair. Default `.local/auth`. */
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
  /** The SQS stand-in's redelivery delay and redrive limit. */
  readonly sqs?: { readonly visibilityTimeoutMs?: number; readonly maxReceiveCount?: number };
  /** The functions and routes to run. Default functions/routes.json. */
  readonly routeTable?: RouteTable;
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
}

export interface LocalStack {
  /** The API's origin, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  readonly urls: LocalStackUrls;
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
  readonly s3: LocalS3;
  readonly sqs: SqsBridge;
  /** Every object-created notification the bucket sent, in order (the bodies the ingest queue received). */
  readonly objectCreated: readonly S3EventRecord[];
  /** Runs the non-HTTP functions the way their triggers would. */
  readonly invoke: {
    reconcile(event?: unknown): Promise<unknown>;
    migrate(payload: unknown): Promise<unknown>;
    ingest(event: SQSEvent): Promise<SQSBatchResponse | void>;
  };
  /** The shell command that runs the migration CLI against this stack's database. */
  migrateCommand(args: string): string;
  /** Resolves when queued ingest messages and the emulator's lifecycles and webhooks have all finished. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

type LambdaFunction = (event: unknown, context: LambdaContext) => Promise<unknown>;

interface FunctionModule {
  createHandler(env: Env, options?: { readonly logger?: Logger }): LambdaFunction | Promise<LambdaFunction>;
}

/** Settings passed through from the environment to the functions when set there. */
const tunables = [
  'MAX_UPLOAD_BYTES',
  'MULTIPART_THRESHOLD_BYTES',
  'UPLOAD_URL_TTL_SECONDS',
  'ALLOWED_CONTENT_TYPES',
  'CAPABILITY_TTL_MS',
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
] as const;

function definedEntries(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function isAddressInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'EADDRINUSE';
}

/** A preferred port for a helper service, or any free one if it is taken (the API's own port is never moved). */
async function onPreferredPort<T>(port: number, start: (port: number) => Promise<T>): Promise<T> {
  try {
    return await start(port);
  } catch (error) {
    if (port === 0 || !isAddressInUse(error)) throw error;
    return start(0);
  }
}

/**
 * The asset binding key for real Mux: MUX_BINDING_KEY when set, else one generated on first use and kept in `.local/`,
 * so assets created before a restart still verify after it (the emulator's assets do not survive a restart, so the
 * emulator gets a fresh key each time).
 */
async function realMuxBindingKey(environment: Env): Promise<string> {
  if (environment.MUX_BINDING_KEY) return environment.MUX_BINDING_KEY;
  const file = join(localStateDir, 'mux-binding-key');
  const kept = await readFile(file, 'utf8').catch(() => '');
  if (kept.trim().length > 0) return kept.trim();
  const key = randomBytes(32).toString('base64url');
  await mkdir(localStateDir, { recursive: true });
  await writeFile(file, key, { mode: 0o600 });
  return key;
}

function firstExistingDir(candidates: readonly string[]): string | undefined {
  return candidates.find((candidate) => existsSync(join(candidate, 'index.html')));
}

async function openDatabase(options: LocalStackOptions, environment: Env): Promise<{
  config: BackendConfig;
  kind: 'pglite' | 'postgres';
  dataDir: string | null;
  close: () => Promise<void>;
}> {
  if (options.database) {
    return { config: options.database, kind: options.database.kind, dataDir: null, close: async () => {} };
  }
  const url = environment.DATABASE_URL;
  if (url) return { config: { kind: 'postgres', url }, kind: 'postgres', dataDir: null, close: async () => {} };
  const dataDir = options.dataDir === undefined ? join(localStateDir, 'pglite') : options.dataDir;
  if (dataDir !== null) {
    if (options.freshDataDir) await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true });
    if (!hasPgliteCluster(dataDir)) await createPgliteCluster(dataDir);
  }
  // Loaded only when used, like the functions load their drivers.
  const { PGlite } = await import('@electric-sql/pglite');
  const db: PGlite = await PGlite.create(dataDir ?? undefined);
  return { config: { kind: 'pglite', db }, kind: 'pglite', dataDir, close: () => db.close() };
}

async function importFunction(name: string, definition: FunctionDefinition): Promise<FunctionModule> {
  const module = (await import(pathToFileURL(join(repositoryRoot, definition.entry)).href)) as Partial<FunctionModule>;
  if (typeof module.createHandler !== 'function') {
    throw new Error(`${definition.entry} (function "${name}") does not export createHandler(env)`);
  }
  return module as FunctionModule;
}

function scheduledEvent(): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: localAccountId,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: localRegion,
    resources: [`arn:aws:events:${localRegion}:${localAccountId}:rule/reelay-local-reconcile`],
    detail: {},
  };
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const environment = options.environment ?? process.env;
  const logger = options.logger ?? createLogger().child({ component: 'local-stack' });
  const apiPort = options.port ?? 3000;
  const schema = options.schema ?? 'latest';
  const routeTable = options.routeTable ?? loadRouteTable();
  // Both settings are checked before anything starts: a typo fails `npm start` at once.
  const adminGroup = parseAdminGroup(options.adminGroup ?? environment.ADMIN_GROUP);
  const routes = withRouteScopes(routeTable.routes, options.routeScopes);
  const realMux = options.mux !== 'emulator' && Boolean(environment.MUX_TOKEN_ID && environment.MUX_TOKEN_SECRET);
  const apiOrigins = apiPort === 0 ? [] : [`http://127.0.0.1:${apiPort}`, `http://localhost:${apiPort}`];
  const cleanups: Array<() => Promise<void> | void> = [];
  const startedAt = performance.now();
  const timingsMs: Record<string, number> = {};
  const timed = async <T>(name: string, work: Promise<T>): Promise<T> => {
    const value = await work;
    timingsMs[name] = Math.round(performance.now() - startedAt);
    return value;
  };
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.warn('local_stack.stop_step_failed', { error });
      }
    }
  };

  try {
    const objectCreated: S3EventRecord[] = [];
    // Every function is built on its first invocation, as a Lambda's INIT runs: start-up pays only for health.
    // Set once the servers it points at are up.
    const functions: { envFor?: (name: string) => Record<string, string> } = {};
    const builds = new Map<string, Promise<LambdaFunction>>();
    const built = (name: string): Promise<LambdaFunction> => {
      const definition = routeTable.functions[name];
      if (!definition || !functions.envFor) {
        return Promise.reject(new Error(`the function "${name}" is not running (functions/routes.json, or the stack is still starting)`));
      }
      let build = builds.get(name);
      if (!build) {
        const env = functions.envFor(name);
        build = importFunction(name, definition).then((module) => module.createHandler(env, { logger: logger.child({ function: name }) }));
        // A failed INIT is tried again by the next invocation, as Lambda does.
        build.catch(() => {
          if (builds.get(name) === build) builds.delete(name);
        });
        builds.set(name, build);
      }
      return build;
    };
    const handlerFor = (name: string): LambdaFunction => async (event, context) => (await built(name))(event, context);
    const invokeIngest = async (event: SQSEvent) =>
      (await handlerFor('ingest')(event, lambdaContext('ingest', { timeoutMs: 60_000 }))) as SQSBatchResponse | void;
    // The queue exists before the bucket can notify; a message that arrives before ingest can be built is redelivered.
    const sqs = createSqsBridge({
      handler: invokeIngest,
      region: localRegion,
      ...(options.sqs?.visibilityTimeoutMs !== undefined && { visibilityTimeoutMs: options.sqs.visibilityTimeoutMs }),
      ...(options.sqs?.maxReceiveCount !== undefined && { maxReceiveCount: options.sqs.maxReceiveCount }),
      logger: logger.child({ component: 'local-sqs' }),
    });
    cleanups.push(() => sqs.close());

    const muxSecrets = realMux
      ? null
      : { tokenId: `local-${randomBytes(6).toString('hex')}`, tokenSecret: randomBytes(24).toString('hex'), webhookSecret: randomBytes(24).toString('hex') };
    const bindingKey = realMux ? await realMuxBindingKey(environment) : randomBytes(32).toString('base64url');
    // Made beside the rest of start-up (an RSA key takes a few tens of ms), before the emulator that must know it.
    const signingKey = realMux ? Promise.resolve(null) : import('./mux-emulator/playback.js').then(({ generateSigningKey }) => generateSigningKey());

    // Independent start-up work runs side by side, the database first: it is the longest step. The servers' modules
    // (s3rver alone takes about half a second) are imported here rather than with this file, so they load while the
    // database opens instead of before it starts.
    const s3Module = import('./s3/server.js');
    const [database, s3, auth, muxEmulator, { startLocalDataApi }, { startApiGateway }] = await Promise.all([
      timed('database', openDatabase(options, environment)).then((opened) => {
        cleanups.push(opened.close);
        return opened;
      }),
      timed('s3', s3Module.then(({ startLocalS3, localS3Credentials }) => onPreferredPort(options.servicePorts?.s3 ?? 0, (port) =>
        startLocalS3({
          port,
          directory: options.s3Dir ?? join(localStateDir, 's3'),
          bucket: localBucket,
          region: localRegion,
          notificationPrefix: localUploadPrefix,
          requireConditionalWrites: { exceptKeys: conditionalWritesExemptKeys(localUploadPrefix) },
          corsOrigins: [...apiOrigins, 'http://127.0.0.1:5173', 'http://localhost:5173'],
          credentials: localS3Credentials,
          ...(options.s3MinPartBytes !== undefined && { minPartBytes: options.s3MinPartBytes }),
          onObjectCreated: (record) => {
            objectCreated.push(record);
            sqs.sendS3Record(record);
          },
          logger: logger.child({ component: 'local-s3' }),
        }),
      ))).then((started) => {
        cleanups.push(() => started.close());
        return started;
      }),
      import('./auth/local-auth.js').then(({ createLocalAuth }) => createLocalAuth({ adminGroup, ...(options.authDir && { dir: options.authDir }) })),
      muxSecrets === null
        ? Promise.resolve(null)
        : Promise.all([import('./mux-emulator/server.js'), signingKey]).then(([{ startMuxEmulator }, key]) => onPreferredPort(options.servicePorts?.mux ?? 0, (port) =>
            startMuxEmulator({
              port,
              ...muxSecrets,
              signingKeys: key === null ? [] : [{ keyId: key.keyId, publicKey: key.publicKeyPem }],
              webhookUrl: null,
              ...(options.muxProcessingDelayMs !== undefined && { processingDelayMs: options.muxProcessingDelayMs }),
              logger: logger.child({ component: 'mux-emulator' }),
            }),
          )).then((started) => {
            cleanups.push(() => started.close());
            return started;
          }),
      import('./data-api/server.js'),
      import('./api-gateway/server.js'),
    ]);

    const dataApi = await onPreferredPort(options.servicePorts?.dataApi ?? 0, (port) =>
      startLocalDataApi({ backend: database.config, port, secretRoles: localSecretRoles, logger: logger.child({ component: 'local-data-api' }) }),
    );
    cleanups.push(() => dataApi.close());

    const { localS3Credentials } = await s3Module;
    const muxSigningKey = await signingKey;
    const passedThrough = Object.fromEntries(tunables.flatMap((name) => (environment[name] ? [[name, environment[name]]] : [])));
    const env: Record<string, string> = {
      RDS_RESOURCE_ARN: localRdsResourceArn,
      RDS_SECRET_ARN: localRdsSecretArn,
      RDS_DATABASE: localDatabaseName,
      DATA_API_ENDPOINT: dataApi.endpoint,
      UPLOAD_BUCKET: localBucket,
      UPLOAD_PREFIX: localUploadPrefix,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: localRegion,
      AWS_ACCESS_KEY_ID: localS3Credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localS3Credentials.secretAccessKey,
      ADMIN_GROUP: adminGroup,
      ...(muxEmulator && muxSecrets
        ? {
            MUX_TOKEN_ID: muxSecrets.tokenId,
            MUX_TOKEN_SECRET: muxSecrets.tokenSecret,
            MUX_WEBHOOK_SECRET: muxSecrets.webhookSecret,
            MUX_BASE_URL: muxEmulator.baseUrl,
            MUX_BINDING_KEY: bindingKey,
            ...(muxSigningKey && { MUX_SIGNING_KEY_ID: muxSigningKey.keyId, MUX_SIGNING_PRIVATE_KEY: muxSigningKey.privateKeyBase64 }),
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
      ...passedThrough,
      ...definedEntries(options.lambdaEnv ?? {}),
    };
    const databaseSettings = ['RDS_RESOURCE_ARN', 'RDS_SECRET_ARN', 'RDS_DATABASE', 'DATA_API_ENDPOINT'];
    const envFor = (name: string): Record<string, string> => {
      const secretArn = databaseSecretFor(routeTable.functions[name]?.uses ?? [], schema);
      const withoutDatabase = Object.fromEntries(Object.entries(env).filter(([key]) => !databaseSettings.includes(key)));
      return secretArn === undefined ? withoutDatabase : { ...env, RDS_SECRET_ARN: secretArn };
    };
    functions.envFor = envFor;

    // The migrate function's engine, over the Data API driver, as a deploy would run it.
    const migrate = async (): Promise<UpResult> => {
      const [{ createDriver, driverConfigFromEnv }, { createMigrator }] = await Promise.all([
        import('../shared/db/create-driver.js'),
        import('../shared/migrations/engine.js'),
      ]);
      const migrationDriver = await createDriver(driverConfigFromEnv(env), { logger });
      try {
        return await createMigrator({ driver: migrationDriver, logger: logger.child({ component: 'migrations' }) }).up(
          schema === 'legacy' ? { to: legacyVersion } : {},
        );
      } finally {
        await migrationDriver.close();
      }
    };
    // Health is built while the migrations run: it is the one function the stack waits for.
    const healthFunction = routeTable.routes.find((route) => route.route === `GET ${healthPath}`)?.function;
    const [migrated] = await Promise.all([
      timed('migrations', migrate()),
      healthFunction === undefined ? undefined : timed('health', built(healthFunction)),
    ]);
    if (schema === 'legacy' && migrated.currentVersion > legacyVersion) {
      logger.warn('local_stack.legacy_unavailable', {
        currentVersion: migrated.currentVersion,
        hint: 'the database is already past 0001; start with a fresh data dir to see the legacy schema',
      });
    }

    const httpHandlers: Record<string, HttpFunction> = Object.fromEntries(
      Object.entries(routeTable.functions)
        .filter(([, definition]) => definition.trigger === 'http')
        .map(([name]) => [name, handlerFor(name) as HttpFunction]),
    );
    const staticDir = options.staticDir ?? firstExistingDir(['web/dist', 'console/dist', 'web', 'console'].map((dir) => join(repositoryRoot, dir)));
    const api: ApiGateway = await startApiGateway({
      port: apiPort,
      routes,
      handlers: httpHandlers,
      jwt: { issuer: auth.issuer, audience: auth.audience, jwks: auth.jwks },
      ...(staticDir && { staticDir }),
      logger: logger.child({ component: 'api-gateway' }),
    });
    cleanups.push(() => api.close());
    // Stopping starts by taking no new work: no more queued ingests (closing twice is harmless).
    cleanups.push(() => sqs.close());
    muxEmulator?.setWebhookUrl(`${api.url}/api/webhooks/mux`);

    const invokeReconcile = async (event: unknown = scheduledEvent()) => handlerFor('reconcile')(event, lambdaContext('reconcile', { timeoutMs: 300_000 }));
    const reconcileIntervalMs = options.reconcileIntervalMs ?? 60_000;
    if (reconcileIntervalMs > 0) {
      let running = false;
      const timer = setInterval(() => {
        // A run that outlasts the interval is not stacked on, as EventBridge + a reserved concurrency of 1 would do.
        if (running) return;
        running = true;
        invokeReconcile()
          .then((result) => logger.info('local_stack.reconcile.done', { result }))
          .catch((error: unknown) => logger.error('local_stack.reconcile.failed', { error }))
          .finally(() => {
            running = false;
          });
      }, reconcileIntervalMs);
      timer.unref();
      cleanups.push(() => clearInterval(timer));
    }

    const migrateEnv = ['RDS_RESOURCE_ARN', 'RDS_SECRET_ARN', 'RDS_DATABASE', 'DATA_API_ENDPOINT'].map((name) => `${name}=${env[name]}`).join(' ');
    timingsMs.total = Math.round(performance.now() - startedAt);
    logger.info('local_stack.started', { timingsMs, api: api.url, database: database.kind, schema, schemaVersion: migrated.currentVersion, mux: muxEmulator ? 'emulator' : 'real' });

    // The rest of the functions are built in the background, one at a time, so their first requests do not wait
    // for an import and a broken one shows up in the log at start rather than at its first use.
    let warming = true;
    const warmUp = (async () => {
      for (const name of Object.keys(routeTable.functions)) {
        if (!warming) return;
        await built(name).catch((error: unknown) => logger.error('local_stack.function_init_failed', { function: name, error }));
      }
    })();
    cleanups.push(async () => {
      warming = false;
      await warmUp;
    });

    let stopped: Promise<void> | undefined;
    return {
      url: api.url,
      urls: { api: api.url, health: `${api.url}${healthPath}`, dataApi: dataApi.endpoint, s3: s3.endpoint, mux: muxEmulator?.baseUrl ?? null },
      env,
      functionEnv: envFor,
      tokens: { mint: (sub, mintOptions = {}) => auth.mintToken({ ...mintOptions, sub }) },
      database: { kind: database.kind, dataDir: database.dataDir, migrated },
      muxEmulator,
      muxSigningKey,
      dataApi,
      s3,
      sqs,
      objectCreated,
      invoke: {
        reconcile: invokeReconcile,
        migrate: (payload) => handlerFor('migrate')(payload, lambdaContext('migrate', { timeoutMs: 900_000 })),
        ingest: invokeIngest,
      },
      migrateCommand: (args) => `${migrateEnv} npm run migrate -- ${args}`,
      async idle() {
        // Ingest starts Mux work, whose webhooks can start nothing new in SQS; one more drain covers a late object.
        await sqs.drain();
        await muxEmulator?.whenIdle();
        await sqs.drain();
      },
      stop() {
        stopped ??= stopAll().then(() => logger.info('local_stack.stopped', {}));
        return stopped;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
