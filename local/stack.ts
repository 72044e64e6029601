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
 *
 * This file composes the stack; its parts are modules of their own under `stack/`: `config.ts` (names, ARNs, the
 * options and handle), `services.ts` (starting the database, S3 and the Mux emulator), `env.ts` (the functions'
 * environment), `functions.ts` (building functions as Lambda's INIT does, the reconcile schedule), `metrics.ts` (the
 * functions' EMF lines added up for `GET /_local/metrics`) and `cleanups.ts` (stopping in reverse order).
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { S3EventRecord, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLogger, logLevelFrom } from '../shared/log.js';
import type { UpResult } from '../shared/migrations/engine.js';
import { parseAdminGroup } from '../shared/http/principal.js';
import { once } from '../shared/runtime/lazy.js';
import { lambdaContext, localRegion } from './api-gateway/event.js';
import { loadRouteTable, withRouteScopes } from './api-gateway/routes.js';
import type { ApiGateway, HttpFunction } from './api-gateway/server.js';
import { cdkQueue, createSqsBridge } from './s3/sqs-bridge.js';
import { startLocalSqsServer } from './s3/sqs-server.js';
import { parseCorsOrigins } from './cors.js';
import { Cleanups } from './stack/cleanups.js';
import { eventsPath, healthPath, legacyVersion, localEventBusName, metricsPath, localSecretRoles, repositoryRoot, type LocalStack, type LocalStackOptions } from './stack/config.js';
import { databaseSettings, functionsEnvironment, localStaleClaimSeconds } from './stack/env.js';
import { everyInterval, FunctionRegistry, scheduledEvent } from './stack/functions.js';
import { MetricsRecorder, recordingLogger } from './stack/metrics.js';
import {
  emulatorSecrets,
  eventsForwardUrl,
  firstExistingDir,
  onPreferredPort,
  openDatabase,
  keptBindingKey,
  stateDirOf,
  startEventBridge,
  startMux,
  startS3,
} from './stack/services.js';

export {
  conditionalWritesExemptKeys,
  databaseSecretFor,
  eventsPath,
  localBucket,
  localEventBusName,
  localDatabaseName,
  localRdsResourceArn,
  localRdsSecretArn,
  localRoleSecretArns,
  localSecretRoles,
  localStateDir,
  localUploadPrefix,
  repositoryRoot,
  type LocalStack,
  type LocalStackOptions,
  type LocalStackUrls,
  type SchemaMode,
} from './stack/config.js';

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const environment = options.environment ?? process.env;
  const logger = options.logger ?? createLogger({ level: logLevelFrom(process.env) }).child({ component: 'local-stack' });
  const apiPort = options.port ?? 3000;
  const schema = options.schema ?? 'latest';
  const routeTable = options.routeTable ?? loadRouteTable();
  // Both settings are checked before anything starts: a typo fails `npm start` at once.
  const adminGroup = parseAdminGroup(options.adminGroup ?? environment.ADMIN_GROUP);
  const routes = withRouteScopes(routeTable.routes, options.routeScopes);
  const forwardUrl = eventsForwardUrl(options, environment);
  const realMux = options.mux !== 'emulator' && Boolean(environment.MUX_TOKEN_ID && environment.MUX_TOKEN_SECRET);
  const apiOrigins = apiPort === 0 ? [] : [`http://127.0.0.1:${apiPort}`, `http://localhost:${apiPort}`];
  const extraOrigins = options.corsOrigins ?? parseCorsOrigins(environment.CORS_ORIGINS);
  const cleanups = new Cleanups(logger);
  const startedAt = performance.now();
  const timingsMs: Record<string, number> = {};
  const timed = async <T>(name: string, work: Promise<T>, stop?: (value: T) => () => Promise<void> | void): Promise<T> => {
    const value = await work;
    if (stop) cleanups.add(stop(value));
    timingsMs[name] = Math.round(performance.now() - startedAt);
    return value;
  };

  try {
    const objectCreated: S3EventRecord[] = [];
    let notificationsToLose = 0;
    // Every function is built on its first invocation, as a Lambda's INIT runs: start-up pays only for health.
    // The functions' EMF lines are also added up here, as CloudWatch would (GET /_local/metrics).
    const metrics = new MetricsRecorder();
    const functions = new FunctionRegistry(routeTable, recordingLogger(logger, metrics));
    const invokeIngest = async (event: SQSEvent) =>
      (await functions.handlerFor('ingest')(event, lambdaContext('ingest', { timeoutMs: 60_000 }))) as SQSBatchResponse | void;
    // The queue exists before the bucket can notify; a message that arrives before ingest can be built is redelivered.
    // Kept under .local/ beside the objects whose events it carries, so a restart (even after SIGKILL) loses none.
    const stateDir = stateDirOf(options);
    const sqsStateFile = options.sqs?.stateFile === undefined ? (options.s3Dir === undefined ? join(stateDir, 'sqs', 'ingest.json') : undefined) : (options.sqs.stateFile ?? undefined);
    const sqs = createSqsBridge({
      handler: invokeIngest,
      region: localRegion,
      ...(options.sqs?.visibilityTimeoutMs !== undefined && { visibilityTimeoutMs: options.sqs.visibilityTimeoutMs }),
      ...(options.sqs?.maxReceiveCount !== undefined && { maxReceiveCount: options.sqs.maxReceiveCount }),
      ...(options.sqs?.visibilityTimeoutSeconds !== undefined && { visibilityTimeoutSeconds: options.sqs.visibilityTimeoutSeconds }),
      ...(sqsStateFile !== undefined && { stateFile: sqsStateFile }),
      logger: logger.child({ component: 'local-sqs' }),
    });
    cleanups.add(() => sqs.close());
    const sqsServer = await startLocalSqsServer({ bridge: sqs, logger: logger.child({ component: 'local-sqs' }) });
    cleanups.add(() => sqsServer.close());

    const muxSecrets = realMux ? null : emulatorSecrets();
    // The emulator keeps its assets where the queue keeps its messages (a test stack with its own s3Dir: nowhere), and
    // then the key that tags them too; an emulator that forgets its assets gets a fresh key each start.
    const muxStateFile = options.muxStateFile === undefined ? (options.s3Dir === undefined ? join(stateDir, 'mux', 'assets.json') : undefined) : (options.muxStateFile ?? undefined);
    const bindingKey = realMux
      ? await keptBindingKey(environment, join(stateDir, 'mux-binding-key'))
      : muxStateFile === undefined
        ? randomBytes(32).toString('base64url')
        : await keptBindingKey({}, join(dirname(muxStateFile), 'binding-key'));
    // Made beside the rest of start-up (an RSA key takes a few tens of ms), before the emulator that must know it.
    const signingKey = realMux ? Promise.resolve(null) : import('./mux-emulator/playback.js').then(({ generateSigningKey }) => generateSigningKey());

    // Independent start-up work runs side by side, the database first: it is the longest step. The servers' modules
    // (s3rver alone takes about half a second) are imported by the start functions rather than with this file, so
    // they load while the database opens instead of before it starts.
    const [database, s3, auth, muxEmulator, eventBridge, { startLocalDataApi }, { startApiGateway }] = await Promise.all([
      timed('database', openDatabase(options, environment), (opened) => opened.close),
      timed(
        's3',
        startS3(options, {
          corsOrigins: [...new Set([...apiOrigins, ...extraOrigins])],
          onObjectCreated: (record) => {
            objectCreated.push(record);
            if (notificationsToLose > 0) {
              notificationsToLose -= 1;
              logger.warn('local_stack.notification_lost', { key: record.s3.object.key });
              return;
            }
            sqs.sendS3Record(record);
          },
          logger: logger.child({ component: 'local-s3' }),
        }),
        (started) => () => started.s3.close(),
      ),
      import('./auth/local-auth.js').then(({ createLocalAuth }) => createLocalAuth({ adminGroup, dir: options.authDir ?? join(stateDir, 'auth') })),
      muxSecrets === null
        ? Promise.resolve(null)
        : signingKey.then((key) => startMux(options, { secrets: muxSecrets, signingKey: key, stateFile: muxStateFile, logger: logger.child({ component: 'mux-emulator' }) })).then((started) => {
            cleanups.add(() => started.close());
            return started;
          }),
      timed('eventBridge', startEventBridge(options, forwardUrl, logger.child({ component: 'local-eventbridge' })), (started) => () => started.close()),
      import('./data-api/server.js'),
      import('./api-gateway/server.js'),
    ]);

    const dataApi = await onPreferredPort(options.servicePorts?.dataApi ?? 0, (port) =>
      startLocalDataApi({ backend: database.config, port, secretRoles: localSecretRoles, logger: logger.child({ component: 'local-data-api' }) }),
    );
    cleanups.add(() => dataApi.close());

    const muxSigningKey = await signingKey;
    const { env, envFor } = functionsEnvironment({
      environment,
      schema,
      routeTable,
      dataApiEndpoint: dataApi.endpoint,
      s3: { endpoint: s3.s3.endpoint, credentials: s3.credentials },
      adminGroup,
      muxEmulator: muxEmulator && muxSecrets ? { baseUrl: muxEmulator.baseUrl, ...muxSecrets, signingKey: muxSigningKey } : null,
      bindingKey,
      eventBridge: { endpoint: eventBridge.endpoint, busName: localEventBusName },
      // As infra tells ingest (infra/constructs/functions.ts): the queue in SQS seconds, which the bridge scales.
      sqs: {
        endpoint: sqsServer.endpoint,
        queueUrl: sqsServer.queueUrl,
        deadLetterQueueUrl: sqsServer.deadLetterQueueUrl,
        visibilityTimeoutSeconds: options.sqs?.visibilityTimeoutSeconds ?? cdkQueue.visibilityTimeoutSeconds,
        maxReceiveCount: options.sqs?.maxReceiveCount ?? cdkQueue.maxReceiveCount,
      },
      // A queue at npm start's speed gets a stale-claim window to match (a caller's own timings set their own).
      ...(options.sqs?.visibilityTimeoutMs === undefined && { staleClaimSeconds: localStaleClaimSeconds }),
      lambdaEnv: options.lambdaEnv ?? {},
    });
    functions.start(envFor);

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
      healthFunction === undefined ? undefined : timed('health', functions.built(healthFunction)),
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
        .map(([name]) => [name, functions.handlerFor(name) as HttpFunction]),
    );
    const staticDir = options.staticDir ?? firstExistingDir(['web/dist', 'console/dist', 'web', 'console'].map((dir) => join(repositoryRoot, dir)));
    const api: ApiGateway = await startApiGateway({
      port: apiPort,
      routes,
      handlers: httpHandlers,
      jwt: { issuer: auth.issuer, audience: auth.audience, jwks: auth.jwks },
      ...(staticDir && { staticDir }),
      corsOrigins: extraOrigins,
      localRoutes: {
        [metricsPath]: () => metrics.snapshot(),
        [eventsPath]: {
          get: (query) => ({ events: eventBridge.eventsMatching(query) }),
          delete: () => ({ cleared: eventBridge.clear() }),
        },
      },
      logger: logger.child({ component: 'api-gateway' }),
    });
    cleanups.add(() => api.close());
    // Stopping starts by taking no new work: no more queued ingests (closing twice is harmless).
    cleanups.add(() => sqs.close());
    muxEmulator?.setWebhookUrl(`${api.url}/api/webhooks/mux`);

    const invokeReconcile = async (event: unknown = scheduledEvent()) =>
      functions.handlerFor('reconcile')(event, lambdaContext('reconcile', { timeoutMs: 300_000 }));
    const reconcileIntervalMs = options.reconcileIntervalMs ?? 60_000;
    if (reconcileIntervalMs > 0) cleanups.add(everyInterval(reconcileIntervalMs, () => invokeReconcile(), logger));

    const migrateEnv = databaseSettings.map((name) => `${name}=${env[name]}`).join(' ');
    timingsMs.total = Math.round(performance.now() - startedAt);
    logger.info('local_stack.started', { timingsMs, api: api.url, database: database.kind, schema, schemaVersion: migrated.currentVersion, mux: muxEmulator ? 'emulator' : 'real' });

    functions.warmUp();
    cleanups.add(() => functions.stopWarmingUp());

    const stop = once(() => cleanups.runAll().then(() => logger.info('local_stack.stopped', {})));
    return {
      url: api.url,
      urls: {
        api: api.url,
        health: `${api.url}${healthPath}`,
        dataApi: dataApi.endpoint,
        s3: s3.s3.endpoint,
        mux: muxEmulator?.baseUrl ?? null,
        eventBridge: eventBridge.endpoint,
        events: `${api.url}${eventsPath}`,
      },
      corsOrigins: extraOrigins,
      env,
      functionEnv: envFor,
      tokens: { mint: (sub, mintOptions = {}) => auth.mintToken({ ...mintOptions, sub }) },
      database: { kind: database.kind, dataDir: database.dataDir, migrated },
      muxEmulator,
      muxSigningKey,
      dataApi,
      eventBridge,
      s3: s3.s3,
      sqs,
      sqsServer,
      objectCreated,
      loseNextNotifications(count) {
        notificationsToLose += count;
      },
      metrics,
      invoke: {
        reconcile: invokeReconcile,
        migrate: (payload) => functions.handlerFor('migrate')(payload, lambdaContext('migrate', { timeoutMs: 900_000 })),
        ingest: invokeIngest,
      },
      migrateCommand: (args) => `${migrateEnv} npm run migrate -- ${args}`,
      async idle() {
        // Ingest starts Mux work, whose webhooks can start nothing new in SQS; one more drain covers a late object.
        await sqs.drain();
        await muxEmulator?.whenIdle();
        await sqs.drain();
        await eventBridge.whenIdle();
      },
      stop,
    };
  } catch (error) {
    await cleanups.runAll();
    throw error;
  }
}
