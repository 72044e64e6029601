/**
 * reelay in one stack: Database, UploadBucket (+ queue and DLQ), MuxSecret, AssetBindingKey, Auth, Functions,
 * ReelayHttpApi, ReelayEvents (the event bus), MigrationTrigger, and on prod (on dev when asked: infra/monitoring-config.ts)
 * Alarms and ReelayDashboard, wired from functions/routes.json and the typed config (infra/config.ts); with
 * `-c console=true` also the web console (ConsoleSite) and a Hosted UI domain.
 */
import { Annotations, Aws, CfnOutput, Stack, Tags, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ConsoleSignIn, ReelayConfig, Stage } from './config.js';
import { Alarms } from './constructs/alarms.js';
import { Auth, hostedUiUrl, type HostedUiProps } from './constructs/auth.js';
import { ConsoleSite, type ConsoleRuntimeConfig } from './constructs/console-site.js';
import { ReelayDashboard } from './constructs/dashboard.js';
import { Database } from './constructs/database.js';
import { ReelayEvents, webhookKeyHeader } from './constructs/events.js';
import { Functions, functionSizing, reconcileEvery } from './constructs/functions.js';
import { ReelayHttpApi } from './constructs/http-api.js';
import { MigrationTrigger } from './constructs/migration-trigger.js';
import { AssetBindingKey } from './constructs/asset-binding-key.js';
import { MuxSecret } from './constructs/mux-secret.js';
import { UploadBucket } from './constructs/upload-bucket.js';
import { databaseAccessOf, type FunctionManifest } from './manifest.js';
import { acknowledgeFrameworkResources } from './nag.js';

export const uploadPrefix = 'uploads/';
/** The function that runs at deploy time and for operators. */
export const migrationFunctionName = 'migrate';
/** The function fed by the upload queue. */
export const ingestFunctionName = 'ingest';
/** The functions whose metrics the safety-net alarms and the dashboard read (their `Service` dimension). */
export const metricServices = { uploads: 'uploads', webhooks: 'mux-webhook', ingest: ingestFunctionName, reconcile: 'reconcile' } as const;
/**
 * The functions that publish lifecycle events (issue J): those whose manifest entry `uses` `events`. Each gets
 * `events:PutEvents` on the bus and EVENT_BUS_NAME, and no other function gets either.
 */
export function eventPublishersOf(manifest: FunctionManifest): readonly string[] {
  return manifest.functions.filter((fn) => fn.uses.includes('events')).map((fn) => fn.name);
}
/** The local console (npm start), accepted as an OAuth callback by dev stacks so it can sign in against AWS. */
export const localConsoleUrl = 'http://localhost:3000/';

export interface ReelayStackProps extends StackProps {
  readonly config: ReelayConfig;
  readonly manifest: FunctionManifest;
}

export class ReelayStack extends Stack {
  readonly database: Database;
  readonly uploads: UploadBucket;
  readonly muxSecret: MuxSecret;
  readonly assetBindingKey: AssetBindingKey;
  readonly auth: Auth;
  readonly functions: Functions;
  readonly httpApi: ReelayHttpApi;
  readonly events: ReelayEvents;
  /** Present on prod, and on dev with `alarmEmail` or `-c alarms=true`. */
  readonly alarms: Alarms | undefined;
  /** Present on prod (unless `-c dashboard=false`), and on dev with `-c dashboard=true`. */
  readonly dashboard: ReelayDashboard | undefined;
  readonly migration: MigrationTrigger;
  /** Present with `-c console=true`. */
  readonly console: ConsoleSite | undefined;

  constructor(scope: Construct, id: string, props: ReelayStackProps) {
    super(scope, id, props);
    const { config, manifest } = props;
    Tags.of(this).add('app', 'reelay');
    Tags.of(this).add('stage', config.stage);

    const ingest = manifest.functions.find((fn) => fn.name === ingestFunctionName && fn.trigger === 'sqs');
    const migrate = manifest.functions.find((fn) => fn.name === migrationFunctionName && fn.trigger === 'invoke');
    if (!ingest || !migrate) {
      throw new Error(`functions/routes.json must declare "${ingestFunctionName}" (sqs) and "${migrationFunctionName}" (invoke)`);
    }
    const unknownServices = Object.values(metricServices).filter((name) => !manifest.functions.some((fn) => fn.name === name));
    if (unknownServices.length > 0) throw new Error(`the alarms and dashboard read metrics of functions routes.json does not declare: ${unknownServices.join(', ')}`);

    const consoleSignIn = config.console?.signIn;
    const hostedUiPrefix =
      consoleSignIn?.kind === 'stack-user-pool' ? (consoleSignIn.domainPrefix ?? `${this.stackName.toLowerCase()}-${Aws.ACCOUNT_ID}`) : undefined;
    const signInOrigin = consoleSignIn?.kind === 'external' ? consoleSignIn.domain : hostedUiPrefix && hostedUiUrl(hostedUiPrefix);
    // The console comes first: the upload bucket, the API and the user pool client all name its origin.
    this.console = signInOrigin
      ? new ConsoleSite(this, 'Console', {
          signInOrigin,
          accessLogs: config.bucketAccessLogs,
          removalPolicy: config.removalPolicy,
          logRetention: config.logRetention,
        })
      : undefined;
    const corsOrigins = this.console ? [...config.corsOrigins, this.console.origin] : config.corsOrigins;
    const hostedUi: HostedUiProps | undefined =
      this.console && hostedUiPrefix !== undefined
        ? { domainPrefix: hostedUiPrefix, urls: consoleCallbackUrls(this.console.url, config.stage) }
        : undefined;

    this.database = new Database(this, 'Database', {
      config: config.database,
      removalPolicy: config.removalPolicy,
      deletionProtection: config.deletionProtection,
      logRetention: config.logRetention,
    });
    this.uploads = new UploadBucket(this, 'Uploads', {
      corsOrigins,
      uploadPrefix,
      removalPolicy: config.removalPolicy,
      accessLogs: config.bucketAccessLogs,
      consumerTimeout: functionSizing[ingest.trigger].timeout,
    });
    this.muxSecret = new MuxSecret(this, 'MuxSecret', {
      existingSecretArn: config.muxSecretArn,
      removalPolicy: config.removalPolicy,
    });
    this.assetBindingKey = new AssetBindingKey(this, 'AssetBindingKey', { removalPolicy: config.removalPolicy });
    this.auth = new Auth(this, 'Auth', {
      config: config.auth,
      adminGroup: config.adminGroup,
      requiredScopes: requiredScopes(config),
      removalPolicy: config.removalPolicy,
      deletionProtection: config.deletionProtection,
      ...(hostedUi ? { hostedUi } : {}),
    });
    this.functions = new Functions(this, 'Functions', {
      manifest,
      stage: config.stage,
      database: this.database,
      uploads: this.uploads,
      muxSecret: this.muxSecret.secret,
      muxBindingKey: this.assetBindingKey.secret,
      muxPlayback: config.muxPlayback,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
      reservedConcurrency: config.reservedConcurrency,
      adminGroup: config.adminGroup,
    });
    this.httpApi = new ReelayHttpApi(this, 'Http', {
      manifest,
      functions: this.functions,
      authorizer: this.auth.authorizer,
      routeScopes: config.routeScopes,
      corsOrigins,
      throttle: config.apiThrottle,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });
    this.events = new ReelayEvents(this, 'Events', {
      busName: eventBusNameFor(config.stage),
      ...(config.events.existingBus ? { existingBus: config.events.existingBus } : {}),
      ...(config.events.archiveRetention ? { archiveRetention: config.events.archiveRetention } : {}),
      ...(config.events.webhook
        ? { webhook: { url: config.events.webhook.url, ...(config.events.webhook.keySecretArn ? { keySecretArn: config.events.webhook.keySecretArn } : {}) } }
        : {}),
      removalPolicy: config.removalPolicy,
    });
    for (const name of eventPublishersOf(manifest)) this.events.grantPublish(this.functions.get(name));
    this.alarms = config.monitoring.alarms
      ? new Alarms(this, 'Alarms', {
          functions: new Map(manifest.functions.map((fn) => [fn.name, this.functions.get(fn.name)])),
          deadLetterQueue: this.uploads.deadLetterQueue,
          apiStage: this.httpApi.stage,
          alarmEmail: config.alarmEmail,
          reconcile: { service: metricServices.reconcile, every: reconcileEvery },
          uploadsService: metricServices.uploads,
          more: this.events.alarmSpecs,
        })
      : undefined;
    if (this.alarms && !config.alarmEmail && config.stage === 'prod') {
      Annotations.of(this.alarms).addWarningV2(
        'reelay:alarms-notify-nobody',
        'No alarmEmail on the prod stage: the alarms change state in CloudWatch but notify nobody (-c alarmEmail=ops@example.com subscribes an address).',
      );
    }
    this.dashboard = config.monitoring.dashboard
      ? new ReelayDashboard(this, 'Dashboard', {
          alarms: this.alarms?.alarms ?? [],
          services: metricServices,
          reconcileEvery,
          eventDeliveries: this.events.deliveryMetrics,
        })
      : undefined;
    if (!this.dashboard && config.stage === 'prod') {
      Annotations.of(this).addWarningV2(
        'reelay:prod-without-dashboard',
        'dashboard=false on the prod stage: no CloudWatch dashboard of the Reelay metrics (the alarms stay; the metrics are still written).',
      );
    }
    const migrationHandler = this.functions.get(migrationFunctionName);
    // Functions that log in as a role need it to exist with its password: the migration (0004 + passwords) comes first.
    const roleUsers = manifest.functions.filter((fn) => {
      const access = databaseAccessOf(fn);
      return access !== undefined && access !== 'database-migrations';
    });
    this.migration = new MigrationTrigger(this, 'Migration', {
      handler: migrationHandler,
      executeAfter: [this.database.cluster],
      executeBefore: roleUsers.map((fn) => this.functions.get(fn.name)),
      timeout: functionSizing[migrate.trigger].timeout,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.httpApi.url, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'UploadBucketName', { value: this.uploads.bucket.bucketName });
    new CfnOutput(this, 'MigrationFunctionName', {
      value: migrationHandler.functionName,
      description: 'aws lambda invoke --function-name <this> --payload \'{"action":"status"}\' …',
    });
    new CfnOutput(this, 'ClusterArn', { value: this.database.cluster.clusterArn });
    new CfnOutput(this, 'DataApiSecretArn', { value: this.database.secret.secretArn, description: 'The master user (migrations): for operators only' });
    new CfnOutput(this, 'DataApiReadSecretArn', {
      value: this.database.roleSecrets['database-read'].secretArn,
      description: 'The read-only role: for queries by hand (aws rds-data execute-statement)',
    });
    new CfnOutput(this, 'MuxSecretArn', { value: this.muxSecret.secret.secretArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.uploads.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'EventBusName', { value: this.events.bus.eventBusName, description: 'Where reelay puts its lifecycle events (source reelay)' });
    new CfnOutput(this, 'EventBusArn', { value: this.events.bus.eventBusArn });
    if (this.events.archive) new CfnOutput(this, 'EventArchiveArn', { value: this.events.archive.archiveArn, description: 'aws events start-replay --event-source-arn <this> …' });
    if (this.events.webhook) {
      new CfnOutput(this, 'EventsWebhookKeySecretArn', {
        value: this.events.webhook.keySecret.secretArn,
        description: `The key the webhook sends in ${webhookKeyHeader}: give its value to the receiver`,
      });
      new CfnOutput(this, 'EventsWebhookDeadLetterQueueUrl', { value: this.events.webhook.deadLetterQueue.queueUrl });
    }
    if (this.auth.userPool && this.auth.userPoolClient) {
      new CfnOutput(this, 'UserPoolId', { value: this.auth.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: this.auth.userPoolClient.userPoolClientId });
    }

    if (this.console && consoleSignIn) {
      this.console.publish({ apiUrl: this.httpApi.url, auth: this.consoleAuth(consoleSignIn, requiredScopes(config)), adminGroup: config.adminGroup });
      new CfnOutput(this, 'ConsoleUrl', { value: this.console.url, description: 'The web console (sign in with a user of the pool)' });
    }
    if (this.auth.hostedUiDomain) {
      new CfnOutput(this, 'UserPoolDomain', { value: this.auth.hostedUiDomain.baseUrl(), description: 'Hosted UI of the user pool' });
    }

    acknowledgeFrameworkResources(this, migrationHandler);
  }

  private consoleAuth(signIn: ConsoleSignIn, scopes: readonly string[]): ConsoleRuntimeConfig['auth'] {
    // The console calls every route, so it asks for every scope a route requires besides its sign-in scopes.
    const requested = scopes.length === 0 ? {} : { scopes: [...new Set(['openid', 'email', 'profile', ...scopes])] };
    if (signIn.kind === 'external') return { kind: 'cognito', domain: signIn.domain, clientId: signIn.clientId, ...requested };
    if (!this.auth.hostedUiDomain || !this.auth.userPoolClient) throw new Error('the console needs the Hosted UI of the stack\'s user pool');
    return { kind: 'cognito', domain: this.auth.hostedUiDomain.baseUrl(), clientId: this.auth.userPoolClient.userPoolClientId, ...requested };
  }
}

/** Every scope some route requires, once each. */
function requiredScopes(config: ReelayConfig): string[] {
  return [...new Set(Object.values(config.routeScopes).flat())];
}

/** Where the Hosted UI may send a browser back to: the deployed console, and on dev also the local one. */
export function consoleCallbackUrls(consoleUrl: string, stage: Stage): string[] {
  return stage === 'dev' ? [consoleUrl, localConsoleUrl] : [consoleUrl];
}

/** The bus a stack creates: one per stage, so dev and prod can share an account and region. */
export function eventBusNameFor(stage: ReelayConfig['stage']): string {
  return `reelay-${stage}`;
}

/** One stack per stage, so dev and prod can live in the same account. */
export function stackNameFor(stage: ReelayConfig['stage']): string {
  return `Reelay-${stage}`;
}
