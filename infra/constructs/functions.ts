/**
 * One NodejsFunction per entry of functions/routes.json, each granted exactly the capabilities its `uses` lists:
 *   database, database-read, database-migrations → Data API on the cluster + reading the secret of that one database
 *            role: the application role, the read-only role, or the master (RDS_RESOURCE_ARN, RDS_SECRET_ARN,
 *            RDS_DATABASE)
 *   database-roles → reading the roles' secrets through the Parameters and Secrets extension, to set the roles'
 *            passwords (DATABASE_ROLE_SECRET_ARNS)
 *   bucket   → the object actions of `uploadObjectActions` on the upload prefix only (UPLOAD_BUCKET, UPLOAD_PREFIX)
 *   bucket-read → `s3:GetObject` on the caption files under that prefix only (UPLOAD_BUCKET, UPLOAD_PREFIX)
 *   bucket-delete → `s3:DeleteObject` and `s3:AbortMultipartUpload` on that prefix, `s3:ListBucket` for keys under it
 *   mux      → reading the Mux secret through the Parameters and Secrets extension (MUX_SECRET_ARN)
 *   mux-binding → reading the asset binding key the same way (MUX_BINDING_KEY_SECRET_ARN): for the functions that
 *              create, adopt or bind Mux assets
 *   ingest-dead-letters → sqs:ReceiveMessage and sqs:DeleteMessage on the ingest DLQ, sqs:SendMessage on the ingest
 *            queue (INGEST_DLQ_URL, INGEST_QUEUE_URL and the queue's settings): reconcile's dead-letter drain
 *   mux-playback → the playback tokens' lifetime (PLAYBACK_TOKEN_TTL_SECONDS); with the signed policy also
 *              reading the Mux secret (MUX_SECRET_ARN), for its URL signing key, and nothing else of Mux
 * Every function gets MUX_PLAYBACK_POLICY, a plain setting.
 * and wired to its trigger: SQS for `sqs`, an EventBridge schedule for `schedule`; `http` routes are wired by
 * ReelayHttpApi and `invoke` functions are called directly (and by MigrationTrigger).
 * Every function gets its own role and log group, so no managed policy and no `*` resource is needed for logging.
 */
import { Duration, Stack, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { lambdaBundling } from '../bundling.js';
import type { Stage } from '../config.js';
import { repositoryRoot, type Capability, type FunctionManifest, type FunctionSpec, type FunctionTrigger } from '../manifest.js';
import type { Database } from './database.js';
import { objectAccess, type ObjectAccess, type UploadBucket } from './upload-bucket.js';

export interface FunctionSizing {
  readonly memorySize: number;
  readonly timeout: Duration;
}

/**
 * HTTP functions stay under API Gateway's 30 s integration limit. Ingest waits on Mux (60 s SDK timeout) and on a
 * Data API resume (up to ~30 s). Migrations may run DDL that the Data API keeps going past its 45 s call limit.
 * 512 MB buys the CPU share that keeps cold starts near the measured ~100 ms import time.
 */
export const functionSizing: Readonly<Record<FunctionTrigger, FunctionSizing>> = {
  http: { memorySize: 512, timeout: Duration.seconds(29) },
  sqs: { memorySize: 512, timeout: Duration.minutes(2) },
  schedule: { memorySize: 512, timeout: Duration.minutes(5) },
  invoke: { memorySize: 512, timeout: Duration.minutes(10) },
};

/** Runs the reconcile function (retries transient Mux errors, back-fills fallback rows). */
/** How often reconcile runs; also the period of its alarm and graphs (one data point per run). */
export const reconcileEvery = Duration.minutes(15);
export const reconcileSchedule = events.Schedule.rate(reconcileEvery);

export interface FunctionsProps {
  readonly manifest: FunctionManifest;
  readonly stage: Stage;
  readonly database: Database;
  readonly uploads: UploadBucket;
  readonly muxSecret: secretsmanager.ISecret;
  /** The asset binding key (AssetBindingKey). */
  readonly muxBindingKey: secretsmanager.ISecret;
  /** The playback policy and token lifetime (ReelayConfig.muxPlayback). @default public, the functions' lifetime */
  readonly muxPlayback?: { readonly policy: 'public' | 'signed'; readonly tokenTtlSeconds?: number | undefined };
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly reservedConcurrency: Readonly<Record<string, number>>;
  /** ADMIN_GROUP of the HTTP functions: the group the handlers compare `cognito:groups` with, by exact name. */
  readonly adminGroup: string;
  /** Ingest messages per invocation; partial failures are reported per message. @default 10 */
  readonly ingestBatchSize?: number;
}

export class Functions extends Construct {
  private readonly byName = new Map<string, NodejsFunction>();
  readonly specs: readonly FunctionSpec[];

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    this.specs = props.manifest.functions;
    for (const name of Object.keys(props.reservedConcurrency)) {
      if (!this.specs.some((spec) => spec.name === name)) {
        throw new Error(`context "reservedConcurrency" names an unknown function "${name}"`);
      }
    }
    const paramsAndSecrets = lambda.ParamsAndSecretsLayerVersion.fromVersion(lambda.ParamsAndSecretsVersions.V1_0_103, {
      cacheEnabled: true,
      secretsManagerTtl: Duration.minutes(5),
      logLevel: lambda.ParamsAndSecretsLogLevel.WARN,
    });

    for (const spec of this.specs) {
      const signsPlayback = spec.uses.includes('mux-playback') && props.muxPlayback?.policy === 'signed';
      const readsSecretsAtRunTime = spec.uses.includes('mux') || spec.uses.includes('database-roles') || signsPlayback;
      const fn = this.createFunction(spec, props, readsSecretsAtRunTime ? paramsAndSecrets : undefined);
      for (const capability of spec.uses) this.grantCapability(fn, capability, props);
      this.wireTrigger(fn, spec, props);
      this.byName.set(spec.name, fn);
    }
  }

  get(name: string): NodejsFunction {
    const fn = this.byName.get(name);
    if (!fn) throw new Error(`no function named "${name}" in functions/routes.json`);
    return fn;
  }

  get all(): readonly NodejsFunction[] {
    return [...this.byName.values()];
  }

  private createFunction(
    spec: FunctionSpec,
    props: FunctionsProps,
    paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion | undefined,
  ): NodejsFunction {
    const scope = new Construct(this, spec.name);
    const logGroup = new logs.LogGroup(scope, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    const role = new iam.Role(scope, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `reelay ${spec.name} function`,
    });
    logGroup.grantWrite(role);
    const sizing = functionSizing[spec.trigger];
    const reserved = props.reservedConcurrency[spec.name];

    const fn = new NodejsFunction(scope, 'Function', {
      entry: spec.entry,
      handler: 'handler',
      projectRoot: repositoryRoot,
      depsLockFilePath: `${repositoryRoot}/package-lock.json`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: sizing.memorySize,
      timeout: sizing.timeout,
      role,
      logGroup,
      // The handlers write JSON lines themselves (shared/log.ts); JSON format makes the platform's START/REPORT lines
      // JSON too, so Logs Insights can query both.
      loggingFormat: lambda.LoggingFormat.JSON,
      // X-Ray active tracing: Lambda samples invocations and records their segments without any SDK in the bundle
      // (cold start); its trace id is on every log line (shared/invocation.ts), so a trace and its logs meet.
      tracing: lambda.Tracing.ACTIVE,
      description: `reelay ${spec.name} (${spec.relativeEntry})`,
      bundling: lambdaBundling,
      environment: {
        REELAY_STAGE: props.stage,
        REELAY_FUNCTION: spec.name,
        LOG_LEVEL: 'info',
        // Not a secret: ingest asks Mux for this policy's playback ids, and every answer that shows a video names it.
        MUX_PLAYBACK_POLICY: props.muxPlayback?.policy ?? 'public',
        ...(spec.trigger === 'http' && { ADMIN_GROUP: props.adminGroup }),
      },
      ...(reserved === undefined ? {} : { reservedConcurrentExecutions: reserved }),
      ...(paramsAndSecrets ? { paramsAndSecrets } : {}),
    });
    // Active tracing gives the role xray:PutTraceSegments and xray:PutTelemetryRecords, which name no resource: X-Ray
    // supports no resource-level permissions for them (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html).
    const tracingPolicy = role.node.tryFindChild('DefaultPolicy');
    if (!tracingPolicy) throw new Error(`expected active tracing to add a default policy to the role of ${fn.node.path}`);
    Validations.of(tracingPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray active tracing: PutTraceSegments and PutTelemetryRecords support no resource-level permissions; this statement allows only those two.',
    });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose: the bundles are smoke-tested on Node 22 (test/infra/bundle-smoke.test.ts); ' +
        'moving to a newer runtime is a deliberate, tested change.',
    });
    return fn;
  }

  private grantCapability(fn: NodejsFunction, capability: Capability, props: FunctionsProps): void {
    switch (capability) {
      case 'database':
      case 'database-read':
      case 'database-migrations': {
        const secret = props.database.grantDataApiAccess(fn, capability);
        fn.addEnvironment('RDS_RESOURCE_ARN', props.database.cluster.clusterArn);
        fn.addEnvironment('RDS_SECRET_ARN', secret.secretArn);
        fn.addEnvironment('RDS_DATABASE', props.database.databaseName);
        return;
      }
      case 'database-roles': {
        const secrets = Object.values(props.database.roleSecrets);
        for (const secret of secrets) secret.grantRead(fn);
        fn.addEnvironment('DATABASE_ROLE_SECRET_ARNS', secrets.map((secret) => secret.secretArn).join(','));
        return;
      }
      case 'bucket':
      case 'bucket-read':
      case 'bucket-delete':
        grantStorage(fn, props.uploads, capability === 'bucket' ? 'upload' : capability === 'bucket-read' ? 'read-stored-files' : 'delete');
        return;
      case 'mux':
        props.muxSecret.grantRead(fn);
        fn.addEnvironment('MUX_SECRET_ARN', props.muxSecret.secretArn);
        return;
      case 'mux-playback': {
        const policy = props.muxPlayback?.policy ?? 'public';
        const ttl = props.muxPlayback?.tokenTtlSeconds;
        if (ttl !== undefined) fn.addEnvironment('PLAYBACK_TOKEN_TTL_SECONDS', String(ttl));
        if (policy === 'signed') {
          props.muxSecret.grantRead(fn);
          fn.addEnvironment('MUX_SECRET_ARN', props.muxSecret.secretArn);
        }
        return;
      }
      case 'mux-binding':
        props.muxBindingKey.grantRead(fn);
        fn.addEnvironment('MUX_BINDING_KEY_SECRET_ARN', props.muxBindingKey.secretArn);
        return;
      case 'pending-work':
      case 'pending-work-sweep':
        grantPendingWork(fn, props, capability === 'pending-work' ? 'note' : 'sweep');
        return;
      case 'events':
        // Granted by the Events construct, which owns the bus (ReelayStack wires each publisher to it).
        return;
      case 'ingest-dead-letters':
        grantDeadLetterDrain(fn, props.uploads);
        return;
    }
  }

  private wireTrigger(fn: NodejsFunction, spec: FunctionSpec, props: FunctionsProps): void {
    if (spec.trigger === 'sqs') {
      fn.addEventSource(
        new SqsEventSource(props.uploads.queue, {
          batchSize: props.ingestBatchSize ?? 10,
          maxBatchingWindow: Duration.seconds(2),
          reportBatchItemFailures: true,
          // Bounds parallel Mux asset creation and Data API load when a burst of uploads lands.
          maxConcurrency: 5,
        }),
      );
      // The event source's grant (grantConsumeMessages) already includes sqs:ChangeMessageVisibility on this queue:
      // the function uses it to bring a throttled message back when Mux says (functions/ingest/handler.ts).
      fn.addEnvironment('INGEST_QUEUE_URL', props.uploads.queue.queueUrl);
      fn.addEnvironment('INGEST_QUEUE_VISIBILITY_SECONDS', String(props.uploads.visibilityTimeout.toSeconds()));
      fn.addEnvironment('INGEST_QUEUE_MAX_RECEIVE_COUNT', String(props.uploads.maxReceiveCount));
    } else if (spec.trigger === 'schedule') {
      new events.Rule(this, `${spec.name}Schedule`, {
        description: `reelay: runs ${spec.name}`,
        schedule: reconcileSchedule,
        targets: [new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.minutes(10) })],
      });
    }
  }
}

/**
 * The dead-letter drain (shared/videos/dead-letters.ts): receive and delete on the DLQ, send back to the ingest
 * queue, nothing else of SQS (no purge, no attributes, no move task: the drain judges each message itself).
 */
function grantDeadLetterDrain(fn: NodejsFunction, uploads: UploadBucket): void {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage'], resources: [uploads.deadLetterQueue.queueArn] }));
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [uploads.queue.queueArn] }));
  fn.addEnvironment('INGEST_DLQ_URL', uploads.deadLetterQueue.queueUrl);
  fn.addEnvironment('INGEST_QUEUE_URL', uploads.queue.queueUrl);
  fn.addEnvironment('INGEST_QUEUE_VISIBILITY_SECONDS', String(uploads.visibilityTimeout.toSeconds()));
  fn.addEnvironment('INGEST_QUEUE_MAX_RECEIVE_COUNT', String(uploads.maxReceiveCount));
}

/**
 * "Work pending" markers under `_reelay/` in the upload bucket (PENDING_WORK_BUCKET). The sweep (reconcile) also
 * reads the writer's ServerlessDatabaseCapacity metric (DATABASE_CLUSTER_ID, DATABASE_AUTO_PAUSE_SECONDS) to tell an
 * idle database, which it must not wake, from one awake anyway.
 */
function grantPendingWork(fn: NodejsFunction, props: FunctionsProps, access: 'note' | 'sweep'): void {
  const keyPattern = props.uploads.grantPendingWork(fn, access);
  fn.addEnvironment('PENDING_WORK_BUCKET', props.uploads.bucket.bucketName);
  const policy = fn.role?.node.tryFindChild('DefaultPolicy');
  if (!policy) throw new Error(`expected a default policy on the role of ${fn.node.path}`);
  const bucketLogicalId = Stack.of(props.uploads).getLogicalId(props.uploads.bucket.node.defaultChild as s3.CfnBucket);
  Validations.of(policy).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${keyPattern}]`,
    reason: `Markers are written under ${keyPattern} with keys made at run time (<kind>/<time>-<uuid>), so a prefix wildcard is the least privilege possible; nothing under the upload prefix.`,
  });
  if (access === 'note') return;
  fn.addEnvironment('DATABASE_CLUSTER_ID', props.database.cluster.clusterIdentifier);
  const autoPause = props.database.autoPause;
  if (autoPause !== undefined) fn.addEnvironment('DATABASE_AUTO_PAUSE_SECONDS', String(autoPause.toSeconds()));
  // A policy of its own: the default policy's `*` is acknowledged for X-Ray's two actions alone.
  const metricsPolicy = new iam.Policy(fn, 'DatabaseActivityPolicy', {
    statements: [new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] })],
  });
  fn.role?.attachInlinePolicy(metricsPolicy);
  Validations.of(metricsPolicy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'cloudwatch:GetMetricData supports no resource-level permissions (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html); ' +
      'reconcile reads one metric, the cluster capacity, to leave a paused database paused.',
  });
}

/**
 * Object access under the upload prefix, and the storage settings (shared/storage/config.ts) to use it. Object ARNs
 * under a key pattern are the narrowest resource S3 object actions can name when keys are generated at run time;
 * cdk-nag reports the pattern as a wildcard, so it is acknowledged here, on the one policy and the one resource.
 */
function grantStorage(fn: NodejsFunction, uploads: UploadBucket, access: ObjectAccess): void {
  const keyPattern = uploads.grantObjectAccess(fn, access);
  fn.addEnvironment('UPLOAD_BUCKET', uploads.bucket.bucketName);
  fn.addEnvironment('UPLOAD_PREFIX', uploads.uploadPrefix);
  const policy = fn.role?.node.tryFindChild('DefaultPolicy');
  if (!policy) throw new Error(`expected a default policy on the role of ${fn.node.path}`);
  const bucketLogicalId = Stack.of(uploads).getLogicalId(uploads.bucket.node.defaultChild as s3.CfnBucket);
  Validations.of(policy).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${keyPattern}]`,
    reason: objectAccess[access].wildcardReason(uploads.uploadPrefix),
  });
}
