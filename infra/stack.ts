/**
 * reelay in one stack: Database, UploadBucket (+ queue and DLQ), MuxSecret, Auth, Functions, ReelayHttpApi, Alarms
 * and MigrationTrigger, wired from functions/routes.json and the typed config (infra/config.ts).
 */
import { CfnOutput, Stack, Tags, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ReelayConfig } from './config.js';
import { Alarms } from './constructs/alarms.js';
import { Auth } from './constructs/auth.js';
import { Database } from './constructs/database.js';
import { Functions, functionSizing } from './constructs/functions.js';
import { ReelayHttpApi } from './constructs/http-api.js';
import { MigrationTrigger } from './constructs/migration-trigger.js';
import { MuxSecret } from './constructs/mux-secret.js';
import { UploadBucket } from './constructs/upload-bucket.js';
import type { FunctionManifest } from './manifest.js';
import { acknowledgeFrameworkResources } from './nag.js';

export const uploadPrefix = 'uploads/';
/** The function that runs at deploy time and for operators. */
export const migrationFunctionName = 'migrate';
/** The function fed by the upload queue. */
export const ingestFunctionName = 'ingest';

export interface ReelayStackProps extends StackProps {
  readonly config: ReelayConfig;
  readonly manifest: FunctionManifest;
}

export class ReelayStack extends Stack {
  readonly database: Database;
  readonly uploads: UploadBucket;
  readonly muxSecret: MuxSecret;
  readonly auth: Auth;
  readonly functions: Functions;
  readonly httpApi: ReelayHttpApi;
  readonly alarms: Alarms;
  readonly migration: MigrationTrigger;

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

    this.database = new Database(this, 'Database', {
      config: config.database,
      removalPolicy: config.removalPolicy,
      deletionProtection: config.deletionProtection,
      logRetention: config.logRetention,
    });
    this.uploads = new UploadBucket(this, 'Uploads', {
      corsOrigins: config.corsOrigins,
      uploadPrefix,
      removalPolicy: config.removalPolicy,
      accessLogs: config.bucketAccessLogs,
      consumerTimeout: functionSizing[ingest.trigger].timeout,
    });
    this.muxSecret = new MuxSecret(this, 'MuxSecret', {
      existingSecretArn: config.muxSecretArn,
      removalPolicy: config.removalPolicy,
    });
    this.auth = new Auth(this, 'Auth', {
      config: config.auth,
      removalPolicy: config.removalPolicy,
      deletionProtection: config.deletionProtection,
    });
    this.functions = new Functions(this, 'Functions', {
      manifest,
      stage: config.stage,
      database: this.database,
      uploads: this.uploads,
      muxSecret: this.muxSecret.secret,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
      reservedConcurrency: config.reservedConcurrency,
    });
    this.httpApi = new ReelayHttpApi(this, 'Http', {
      manifest,
      functions: this.functions,
      authorizer: this.auth.authorizer,
      corsOrigins: config.corsOrigins,
      throttle: config.apiThrottle,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });
    this.alarms = new Alarms(this, 'Alarms', {
      functions: new Map(manifest.functions.map((fn) => [fn.name, this.functions.get(fn.name)])),
      deadLetterQueue: this.uploads.deadLetterQueue,
      apiStage: this.httpApi.stage,
      alarmEmail: config.alarmEmail,
    });
    const migrationHandler = this.functions.get(migrationFunctionName);
    this.migration = new MigrationTrigger(this, 'Migration', {
      handler: migrationHandler,
      executeAfter: [this.database.cluster],
      timeout: functionSizing[migrate.trigger].timeout,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.httpApi.url, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'UploadBucketName', { value: this.uploads.bucket.bucketName });
    new CfnOutput(this, 'MigrationFunctionName', {
      value: migrationHandler.functionName,
      description: 'aws lambda invoke --function-name <this> --payload \'{"action":"status"}\' …',
    });
    new CfnOutput(this, 'ClusterArn', { value: this.database.cluster.clusterArn });
    new CfnOutput(this, 'DataApiSecretArn', { value: this.database.secret.secretArn });
    new CfnOutput(this, 'MuxSecretArn', { value: this.muxSecret.secret.secretArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.uploads.deadLetterQueue.queueUrl });
    if (this.auth.userPool && this.auth.userPoolClient) {
      new CfnOutput(this, 'UserPoolId', { value: this.auth.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: this.auth.userPoolClient.userPoolClientId });
    }

    acknowledgeFrameworkResources(this, migrationHandler);
  }
}

/** One stack per stage, so dev and prod can live in the same account. */
export function stackNameFor(stage: ReelayConfig['stage']): string {
  return `Reelay-${stage}`;
}
