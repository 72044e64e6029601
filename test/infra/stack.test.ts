/**
 * What `cdk deploy` creates, read from the synthesised template.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { readConfigFrom, type ContextKey } from '../../infra/config.js';
import { auroraEngineVersion } from '../../infra/constructs/database.js';
import { functionSizing } from '../../infra/constructs/functions.js';
import { storedFileKeyPattern, storedFileReadActions, uploadObjectActions } from '../../infra/constructs/upload-bucket.js';
import { databaseAccessOf, loadManifest, parseManifest, type FunctionSpec } from '../../infra/manifest.js';
import { consoleCallbackUrls } from '../../infra/stack.js';
import { apiCorsAllowHeaders, apiCorsExposeHeaders } from '../../local/cors.js';
import { conditionalWritesExemptKeys } from '../../local/stack.js';
import { renderForNag } from './support/acknowledgements.js';
import { constructPathOf, functionLogicalId, resourcesOfType, synthesize, type Synthesized } from './support/synth.js';

const manifest = loadManifest();
const httpFunctions = manifest.functions.filter((fn) => fn.trigger === 'http');

function fnResource(synth: Synthesized, name: string) {
  const resource = synth.json.Resources[functionLogicalId(synth, name)];
  if (!resource) throw new Error(`no resource for function ${name}`);
  return resource;
}

function environmentOf(synth: Synthesized, name: string): Record<string, unknown> {
  const props = fnResource(synth, name).Properties as { Environment?: { Variables?: Record<string, unknown> } };
  return props.Environment?.Variables ?? {};
}

/** What every bucket of the stack has: no public access, SSE-S3. */
const privateEncryptedBucket = {
  PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
  BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
};

/** The bucket policy statement that refuses every request not made over TLS. */
const tlsOnlyStatement = { Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } };

function logicalIdOf(synth: Synthesized, type: string, pathSuffix: string): string {
  const match = resourcesOfType(synth.json, type).find(([, resource]) => constructPathOf(resource).endsWith(pathSuffix));
  if (!match) throw new Error(`no ${type} at …${pathSuffix}`);
  return match[0];
}

describe('the dev stage (defaults)', () => {
  let dev: Synthesized;
  beforeAll(() => {
    dev = synthesize();
  });

  it('tells reconcile where the markers are, which cluster to probe and its auto-pause; the writers only where to note', () => {
    const clusterRef = { Ref: logicalIdOf(dev, 'AWS::RDS::DBCluster', '/Database/Cluster/Resource') };
    const bucketRef = { Ref: logicalIdOf(dev, 'AWS::S3::Bucket', '/Uploads/Bucket/Resource') };
    expect(environmentOf(dev, 'reconcile')).toMatchObject({ PENDING_WORK_BUCKET: bucketRef, DATABASE_CLUSTER_ID: clusterRef, DATABASE_AUTO_PAUSE_SECONDS: '300' });
    for (const name of ['uploads', 'ingest', 'mux-webhook', 'video-deletes', 'admin', 'migrate']) {
      const env = environmentOf(dev, name);
      expect(env.PENDING_WORK_BUCKET, name).toEqual(bucketRef);
      expect(env.DATABASE_CLUSTER_ID, name).toBeUndefined();
    }
    expect(environmentOf(dev, 'videos').PENDING_WORK_BUCKET).toBeUndefined();
  });

  it('tells ingest its queue (URL, visibility timeout, receives before the DLQ), and no other function', () => {
    const queueRef = { Ref: logicalIdOf(dev, 'AWS::SQS::Queue', '/Uploads/IngestQueue/Resource') };
    expect(environmentOf(dev, 'ingest')).toMatchObject({ INGEST_QUEUE_URL: queueRef, INGEST_QUEUE_VISIBILITY_SECONDS: '720', INGEST_QUEUE_MAX_RECEIVE_COUNT: '5' });
    const queue = resourcesOfType(dev.json, 'AWS::SQS::Queue').find(([id]) => id === queueRef.Ref)?.[1];
    expect(queue?.Properties).toMatchObject({ VisibilityTimeout: 720, RedrivePolicy: { maxReceiveCount: 5 } });
    for (const spec of manifest.functions.filter((fn) => fn.name !== 'ingest' && !fn.uses.includes('ingest-dead-letters'))) {
      expect(environmentOf(dev, spec.name), spec.name).not.toHaveProperty('INGEST_QUEUE_URL');
    }
  });

  it('tells the dead-letter drain (reconcile) the DLQ and the ingest queue it sends back to', () => {
    const queueRef = { Ref: logicalIdOf(dev, 'AWS::SQS::Queue', '/Uploads/IngestQueue/Resource') };
    const dlqRef = { Ref: logicalIdOf(dev, 'AWS::SQS::Queue', '/Uploads/DeadLetterQueue/Resource') };
    expect(environmentOf(dev, 'reconcile')).toMatchObject({ INGEST_DLQ_URL: dlqRef, INGEST_QUEUE_URL: queueRef, INGEST_QUEUE_MAX_RECEIVE_COUNT: '5' });
    for (const spec of manifest.functions.filter((fn) => !fn.uses.includes('ingest-dead-letters'))) expect(environmentOf(dev, spec.name), spec.name).not.toHaveProperty('INGEST_DLQ_URL');
  });

  describe('Aurora PostgreSQL Serverless v2', () => {
    it('enables the Data API, scales to 0 ACU with auto-pause, encrypts storage and keeps backups', () => {
      dev.template.resourceCountIs('AWS::RDS::DBCluster', 1);
      dev.template.hasResourceProperties('AWS::RDS::DBCluster', {
        Engine: 'aurora-postgresql',
        EnableHttpEndpoint: true,
        StorageEncrypted: true,
        DatabaseName: 'reelay',
        BackupRetentionPeriod: 1,
        DeletionProtection: false,
        ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 2, SecondsUntilAutoPause: 300 },
        MasterUserPassword: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
      });
    });

    it('runs an engine version with both the Data API (16.1+) and 0 ACU (16.3+)', () => {
      const version = auroraEngineVersion.auroraPostgresMajorVersion;
      const full = auroraEngineVersion.auroraPostgresFullVersion.split('.').map(Number);
      expect(version).toBe('16');
      expect(full[1]).toBeGreaterThanOrEqual(3);
      dev.template.hasResourceProperties('AWS::RDS::DBCluster', { EngineVersion: auroraEngineVersion.auroraPostgresFullVersion });
    });

    it('has exactly one serverless writer, not publicly accessible', () => {
      dev.template.resourceCountIs('AWS::RDS::DBInstance', 1);
      dev.template.hasResourceProperties('AWS::RDS::DBInstance', {
        DBInstanceClass: 'db.serverless',
        PubliclyAccessible: false,
      });
    });

    it('keeps generated credentials in Secrets Manager', () => {
      dev.template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"reelay_admin"}', GenerateStringKey: 'password' }),
      });
    });

    it('lives in isolated subnets: no NAT gateway, no internet gateway, no public subnet, no ingress', () => {
      dev.template.resourceCountIs('AWS::EC2::NatGateway', 0);
      dev.template.resourceCountIs('AWS::EC2::InternetGateway', 0);
      for (const [, subnet] of resourcesOfType(dev.json, 'AWS::EC2::Subnet')) {
        expect(subnet.Properties?.MapPublicIpOnLaunch).toBe(false);
      }
      dev.template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
      for (const [, group] of resourcesOfType(dev.json, 'AWS::EC2::SecurityGroup')) {
        expect(group.Properties?.SecurityGroupIngress).toBeUndefined();
      }
    });

    it('logs rejected VPC traffic', () => {
      dev.template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT', LogDestinationType: 'cloud-watch-logs' });
    });

    it('is destroyed with the dev stack', () => {
      dev.template.hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Delete' });
    });
  });

  describe('Lambda functions', () => {
    it('creates one function per manifest entry (plus only CDK framework handlers)', () => {
      const ours = resourcesOfType(dev.json, 'AWS::Lambda::Function').filter(([, fn]) =>
        constructPathOf(fn).includes('/Functions/'),
      );
      expect(ours.map(([, fn]) => constructPathOf(fn).split('/')[2]).sort()).toEqual(manifest.functions.map((fn) => fn.name).sort());
    });

    it.each(manifest.functions.map((fn) => [fn.name, fn] as const))('%s: nodejs22.x on arm64, JSON logs to its own log group, X-Ray active tracing', (name, spec) => {
      const props = fnResource(dev, name).Properties ?? {};
      expect(props).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: functionSizing[spec.trigger].memorySize,
        Timeout: functionSizing[spec.trigger].timeout.toSeconds(),
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
        TracingConfig: { Mode: 'Active' },
      });
      const logGroupId = (props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(dev.json.Resources[logGroupId]?.Properties?.RetentionInDays).toBe(30);
    });

    it('puts no Lambda function in the VPC (the Data API needs none)', () => {
      for (const [, fn] of resourcesOfType(dev.json, 'AWS::Lambda::Function')) {
        expect(fn.Properties?.VpcConfig).toBeUndefined();
      }
    });

    it.each(manifest.functions.map((fn) => [fn.name, fn] as const))('%s: environment matches its uses and holds no secret value', (name, spec: FunctionSpec) => {
      const env = environmentOf(dev, name);
      const uses = new Set(spec.uses);
      const database = databaseAccessOf(spec) !== undefined;
      expect('RDS_RESOURCE_ARN' in env).toBe(database);
      expect('RDS_SECRET_ARN' in env).toBe(database);
      expect(env.RDS_DATABASE).toBe(database ? 'reelay' : undefined);
      expect('DATABASE_ROLE_SECRET_ARNS' in env).toBe(uses.has('database-roles'));
      const storage = uses.has('bucket') || uses.has('bucket-read') || uses.has('bucket-delete');
      expect('UPLOAD_BUCKET' in env).toBe(storage);
      expect(env.UPLOAD_PREFIX).toBe(storage ? 'uploads/' : undefined);
      expect('MUX_SECRET_ARN' in env).toBe(uses.has('mux'));
      expect('MUX_BINDING_KEY_SECRET_ARN' in env).toBe(uses.has('mux-binding'));
      for (const forbidden of ['MUX_TOKEN_ID', 'MUX_TOKEN_SECRET', 'MUX_WEBHOOK_SECRET', 'MUX_BINDING_KEY', 'DATABASE_URL', 'PGPASSWORD']) {
        expect(env).not.toHaveProperty(forbidden);
      }
      // Only the functions that read a secret at run time (Mux's, the roles') load the Parameters and Secrets extension.
      const readsSecrets = uses.has('mux') || uses.has('database-roles');
      const layers = (fnResource(dev, name).Properties?.Layers as unknown[] | undefined) ?? [];
      expect(layers.length).toBe(readsSecrets ? 1 : 0);
      if (readsSecrets) expect(env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT).toBe('2773');
    });

    it('creates the Mux secret with empty placeholders for the operator to fill', () => {
      const secrets = resourcesOfType(dev.json, 'AWS::SecretsManager::Secret').filter(([, secret]) =>
        constructPathOf(secret).includes('/MuxSecret/'),
      );
      expect(secrets).toHaveLength(1);
      expect(JSON.parse(secrets[0]?.[1].Properties?.SecretString as string)).toEqual({ tokenId: '', tokenSecret: '', webhookSecret: '' });
    });

    it('generates the asset binding key in a secret of its own, read by ingest, webhooks, reconcile and deletions only', () => {
      const secrets = resourcesOfType(dev.json, 'AWS::SecretsManager::Secret').filter(([, secret]) => constructPathOf(secret).includes('/AssetBindingKey/'));
      expect(secrets).toHaveLength(1);
      expect(secrets[0]?.[1].Properties).toMatchObject({ GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false } });
      expect(secrets[0]?.[1].Properties?.SecretString).toBeUndefined();
      const readers = manifest.functions.filter((fn) => 'MUX_BINDING_KEY_SECRET_ARN' in environmentOf(dev, fn.name)).map((fn) => fn.name);
      expect(readers.sort()).toEqual(['ingest', 'mux-webhook', 'reconcile', 'video-deletes']);
    });
  });

  describe('HTTP API', () => {
    it('has exactly the routes of functions/routes.json', () => {
      const routeKeys = resourcesOfType(dev.json, 'AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties?.RouteKey);
      expect(routeKeys.sort()).toEqual(manifest.routes.map((route) => route.routeKey).sort());
    });

    it.each(manifest.routes.map((route) => [route.routeKey, route] as const))('%s → its function, payload 2.0, the right authorizer', (_key, route) => {
      const [, resource] = resourcesOfType(dev.json, 'AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties?.RouteKey === route.routeKey) ?? [];
      expect(resource).toBeDefined();
      const target = resource?.Properties?.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
      const integrationId = target['Fn::Join'][1][1].Ref;
      const integration = dev.json.Resources[integrationId];
      expect(integration?.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: { 'Fn::GetAtt': [functionLogicalId(dev, route.functionName), 'Arn'] },
      });
      if (route.auth === 'none') {
        expect(resource?.Properties?.AuthorizationType).toBe('NONE');
        expect(resource?.Properties?.AuthorizerId).toBeUndefined();
      } else {
        expect(resource?.Properties?.AuthorizationType).toBe('JWT');
        expect(resource?.Properties?.AuthorizerId).toEqual({ Ref: logicalIdOf(dev, 'AWS::ApiGatewayV2::Authorizer', '/Resource') });
      }
    });

    it('lets API Gateway invoke each HTTP function only from this API', () => {
      for (const spec of httpFunctions) {
        const permissions = resourcesOfType(dev.json, 'AWS::Lambda::Permission').filter(
          ([, permission]) =>
            JSON.stringify(permission.Properties?.FunctionName) === JSON.stringify({ 'Fn::GetAtt': [functionLogicalId(dev, spec.name), 'Arn'] }),
        );
        const routes = manifest.routes.filter((route) => route.functionName === spec.name);
        expect(permissions).toHaveLength(routes.length);
        for (const [, permission] of permissions) {
          expect(permission.Properties?.Principal).toBe('apigateway.amazonaws.com');
          expect(JSON.stringify(permission.Properties?.SourceArn)).toContain(logicalIdOf(dev, 'AWS::ApiGatewayV2::Api', '/Api/Resource'));
        }
      }
    });

    it('gives the app client no OAuth grant and creates none of the console when it is off (the default)', () => {
      dev.template.hasResourceProperties('AWS::Cognito::UserPoolClient', { AllowedOAuthFlowsUserPoolClient: false });
      for (const type of ['AWS::CloudFront::Distribution', 'AWS::CloudFront::ResponseHeadersPolicy', 'AWS::CloudFront::OriginAccessControl', 'Custom::CDKBucketDeployment', 'AWS::Cognito::UserPoolDomain']) {
        dev.template.resourceCountIs(type, 0);
      }
      expect(resourcesOfType(dev.json, 'AWS::S3::Bucket').map(([, bucket]) => constructPathOf(bucket))).not.toContainEqual(expect.stringContaining('/Console/'));
      expect(Object.keys(dev.json.Outputs ?? {})).not.toContain('ConsoleUrl');
    });

    it('verifies Cognito JWTs: issuer is the stack user pool, audience its app client', () => {
      const userPoolId = logicalIdOf(dev, 'AWS::Cognito::UserPool', '/UserPool/Resource');
      const clientId = logicalIdOf(dev, 'AWS::Cognito::UserPoolClient', '/Client/Resource');
      dev.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: {
          Audience: [{ Ref: clientId }],
          Issuer: { 'Fn::Join': ['', ['https://cognito-idp.', { Ref: 'AWS::Region' }, '.amazonaws.com/', { Ref: userPoolId }]] },
        },
      });
      dev.template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'admin', UserPoolId: { Ref: userPoolId } });
      dev.template.hasResourceProperties('AWS::Cognito::UserPool', {
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
        Policies: { PasswordPolicy: Match.objectLike({ MinimumLength: 12, RequireSymbols: true }) },
      });
      dev.template.hasResourceProperties('AWS::Cognito::UserPoolClient', { GenerateSecret: false });
    });

    it('throttles the $default stage and writes JSON access logs', () => {
      const stage = resourcesOfType(dev.json, 'AWS::ApiGatewayV2::Stage');
      expect(stage).toHaveLength(1);
      const props = stage[0]?.[1].Properties as {
        StageName: string;
        AutoDeploy: boolean;
        DefaultRouteSettings: Record<string, number>;
        AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [string, string] }; Format: string };
      };
      expect(props.StageName).toBe('$default');
      expect(props.AutoDeploy).toBe(true);
      expect(props.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
      const format = JSON.parse(props.AccessLogSettings.Format) as Record<string, string>;
      expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', routeKey: '$context.routeKey' });
      expect(Object.values(format).join(' ')).not.toMatch(/header\.authorization|requestBody/i);
      const logGroup = dev.json.Resources[props.AccessLogSettings.DestinationArn['Fn::GetAtt'][0]];
      expect(logGroup?.Type).toBe('AWS::Logs::LogGroup');
    });

    it('answers CORS preflights for the configured origins only', () => {
      dev.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        ProtocolType: 'HTTP',
        CorsConfiguration: Match.objectLike({
          AllowOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
        }),
      });
    });

    it('lets a browser send Idempotency-Key and read idempotent-replayed, with the same header lists as the local API', () => {
      const [, api] = resourcesOfType(dev.json, 'AWS::ApiGatewayV2::Api')[0] ?? [];
      const cors = api?.Properties?.CorsConfiguration as { AllowHeaders: string[]; ExposeHeaders: string[] };
      expect(cors.AllowHeaders).toEqual(['authorization', 'content-type', 'idempotency-key']);
      expect(cors.ExposeHeaders).toEqual(['idempotent-replayed', 'retry-after', 'apigw-requestid']);
      // The local API Gateway emulator answers preflights from these lists (local/cors.ts).
      expect(cors.AllowHeaders).toEqual(apiCorsAllowHeaders);
      expect(cors.ExposeHeaders).toEqual(apiCorsExposeHeaders);
    });

    it('allows in CORS the methods of the manifest’s routes (PATCH to edit a video included), as the local API emulator does', () => {
      const [, api] = resourcesOfType(dev.json, 'AWS::ApiGatewayV2::Api')[0] ?? [];
      const allowed = (api?.Properties?.CorsConfiguration as { AllowMethods: string[] }).AllowMethods;
      expect([...allowed].sort()).toEqual([...new Set([...manifest.routes.map((route) => route.method), 'OPTIONS'])].sort());
      expect(allowed).toContain('PATCH');
    });

    it('sends PATCH /api/videos/{id} to the video-changes function, behind the JWT, and GET to the videos function', () => {
      const routeTarget = (routeKey: string) => {
        const [, resource] = resourcesOfType(dev.json, 'AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties?.RouteKey === routeKey) ?? [];
        const target = resource?.Properties?.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
        return { auth: resource?.Properties?.AuthorizationType, uri: dev.json.Resources[target['Fn::Join'][1][1].Ref]?.Properties?.IntegrationUri };
      };
      expect(routeTarget('PATCH /api/videos/{id}')).toEqual({ auth: 'JWT', uri: { 'Fn::GetAtt': [functionLogicalId(dev, 'video-changes'), 'Arn'] } });
      expect(routeTarget('GET /api/videos/{id}').uri).toEqual({ 'Fn::GetAtt': [functionLogicalId(dev, 'videos'), 'Arn'] });
    });
  });

  describe('upload bucket, ingest queue and DLQ', () => {
    it('blocks public access, encrypts, enforces TLS and aborts incomplete multipart uploads', () => {
      const bucketId = logicalIdOf(dev, 'AWS::S3::Bucket', '/Uploads/Bucket/Resource');
      const bucket = dev.json.Resources[bucketId]?.Properties;
      expect(bucket).toMatchObject({
        ...privateEncryptedBucket,
        LifecycleConfiguration: { Rules: expect.arrayContaining([expect.objectContaining({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } })]) },
        LoggingConfiguration: { DestinationBucketName: { Ref: logicalIdOf(dev, 'AWS::S3::Bucket', '/Uploads/AccessLogs/Resource') } },
      });
      dev.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucketId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike(tlsOnlyStatement),
          ]),
        },
      });
    });

    it('denies unconditional PutObject/CompleteMultipartUpload on every key but the caption files, so an upload URL writes once', () => {
      const bucketId = logicalIdOf(dev, 'AWS::S3::Bucket', '/Uploads/Bucket/Resource');
      const [, policy] = resourcesOfType(dev.json, 'AWS::S3::BucketPolicy').find(([, p]) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify({ Ref: bucketId })) ?? [];
      const statements = (policy?.Properties?.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement;
      const deny = statements.find((statement) => statement.Sid === 'DenyUnconditionalObjectWrites');
      expect(deny).toEqual({
        Sid: 'DenyUnconditionalObjectWrites',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:PutObject',
        NotResource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${storedFileKeyPattern('uploads/')}`]] },
        // Denied only when neither header is sent, and only for the operations that take one (S3 User Guide, conditional-writes-enforce).
        Condition: { Null: { 's3:if-none-match': 'true', 's3:if-match': 'true' }, Bool: { 's3:ObjectCreationOperation': 'true' } },
      });
      // The local S3 enforces the same exemption (local/stack.ts).
      expect(conditionalWritesExemptKeys('uploads/')).toBe(storedFileKeyPattern('uploads/'));
    });

    it('allows CORS uploads from the configured origins only and exposes ETag for multipart', () => {
      const bucket = dev.json.Resources[logicalIdOf(dev, 'AWS::S3::Bucket', '/Uploads/Bucket/Resource')]?.Properties;
      expect(bucket?.CorsConfiguration).toEqual({
        CorsRules: [
          expect.objectContaining({
            AllowedOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
            AllowedMethods: ['PUT', 'GET', 'HEAD'],
            AllowedHeaders: expect.arrayContaining(['content-type', 'if-none-match', 'x-amz-*']),
            ExposedHeaders: ['ETag'],
          }),
        ],
      });
    });

    it('sends object-created events under uploads/ to the ingest queue', () => {
      dev.template.hasResourceProperties('Custom::S3BucketNotifications', {
        BucketName: { Ref: logicalIdOf(dev, 'AWS::S3::Bucket', '/Uploads/Bucket/Resource') },
        NotificationConfiguration: {
          QueueConfigurations: [
            {
              Events: ['s3:ObjectCreated:*'],
              Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'uploads/' }] } },
              QueueArn: { 'Fn::GetAtt': [logicalIdOf(dev, 'AWS::SQS::Queue', '/IngestQueue/Resource'), 'Arn'] },
            },
          ],
        },
      });
    });

    it('redrives to an encrypted DLQ after 5 receives, with visibility ≥ 6× the ingest timeout', () => {
      const queueId = logicalIdOf(dev, 'AWS::SQS::Queue', '/IngestQueue/Resource');
      const dlqId = logicalIdOf(dev, 'AWS::SQS::Queue', '/DeadLetterQueue/Resource');
      const queue = dev.json.Resources[queueId]?.Properties;
      expect(queue?.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 });
      expect(queue?.VisibilityTimeout).toBeGreaterThanOrEqual(6 * functionSizing.sqs.timeout.toSeconds());
      expect(queue?.SqsManagedSseEnabled).toBe(true);
      expect(dev.json.Resources[dlqId]?.Properties?.SqsManagedSseEnabled).toBe(true);
    });

    it('feeds the ingest function from the queue with partial batch failures', () => {
      dev.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      dev.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(dev, 'AWS::SQS::Queue', '/IngestQueue/Resource'), 'Arn'] },
        FunctionName: { Ref: functionLogicalId(dev, 'ingest') },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 10,
      });
    });
  });

  describe('schedule, migration and alarms', () => {
    it('runs reconcile every 15 minutes', () => {
      dev.template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(15 minutes)',
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionLogicalId(dev, 'reconcile'), 'Arn'] } })],
      });
    });

    it('migrates during deployment, after the cluster and its writer, waiting for the result', () => {
      const triggers = resourcesOfType(dev.json, 'Custom::Trigger');
      expect(triggers).toHaveLength(1);
      const [, trigger] = triggers[0] ?? [];
      expect(trigger?.Properties).toMatchObject({ InvocationType: 'RequestResponse', Timeout: String(functionSizing.invoke.timeout.toMilliseconds()) });
      const versionId = (trigger?.Properties?.HandlerArn as { Ref: string }).Ref;
      expect(dev.json.Resources[versionId]).toMatchObject({
        Type: 'AWS::Lambda::Version',
        Properties: { FunctionName: { Ref: functionLogicalId(dev, 'migrate') } },
      });
      expect(trigger?.DependsOn).toEqual(
        expect.arrayContaining([
          logicalIdOf(dev, 'AWS::RDS::DBCluster', '/Cluster/Resource'),
          logicalIdOf(dev, 'AWS::RDS::DBInstance', '/Writer/Resource'),
        ]),
      );
    });

    it('has no alarms, alarm topic or dashboard: nobody would be told (infra/monitoring-config.ts)', () => {
      dev.template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
      dev.template.resourceCountIs('AWS::SNS::Topic', 0);
      dev.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
      expect(dev.stack.alarms).toBeUndefined();
    });

    it('outputs what operators and clients need', () => {
      dev.template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [logicalIdOf(dev, 'AWS::ApiGatewayV2::Api', '/Api/Resource'), 'ApiEndpoint'] } });
      dev.template.hasOutput('MigrationFunctionName', { Value: { Ref: functionLogicalId(dev, 'migrate') } });
      for (const name of ['UploadBucketName', 'UserPoolId', 'UserPoolClientId', 'ClusterArn', 'DataApiSecretArn', 'MuxSecretArn']) {
        dev.template.hasOutput(name, {});
      }
    });
  });
});

describe('the prod stage', () => {
  let prod: Synthesized;
  beforeAll(() => {
    prod = synthesize({ stage: 'prod', alarmEmail: 'ops@example.com', corsOrigins: 'https://video.example.com' });
  });

  it("gives reconcile prod's auto-pause delay (60 minutes)", () => {
    expect(environmentOf(prod, 'reconcile').DATABASE_AUTO_PAUSE_SECONDS).toBe('3600');
  });

  it('protects data: deletion protection, retained cluster, bucket and secrets, longer backups', () => {
    prod.template.hasResource('AWS::RDS::DBCluster', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtection: true, BackupRetentionPeriod: 14 }),
    });
    for (const [, bucket] of resourcesOfType(prod.json, 'AWS::S3::Bucket')) expect(bucket).toMatchObject({ DeletionPolicy: 'Retain' });
    for (const [, secret] of resourcesOfType(prod.json, 'AWS::SecretsManager::Secret')) expect(secret).toMatchObject({ DeletionPolicy: 'Retain' });
    prod.template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    prod.template.hasResourceProperties('AWS::Cognito::UserPool', { DeletionProtection: 'ACTIVE' });
  });

  it('keeps logs longer and allows only the configured origin', () => {
    for (const [, group] of resourcesOfType(prod.json, 'AWS::Logs::LogGroup')) expect(group.Properties?.RetentionInDays).toBe(90);
    prod.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://video.example.com'] }) });
  });

  it('alarms on DLQ depth, every function’s errors and throttles, and API 5xx', () => {
    const alarms = resourcesOfType(prod.json, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties ?? {});
    // DLQ, errors and throttles per function, API 5xx, the two safety-net alarms (test/infra/metrics.test.ts) and
    // events unacknowledged (test/infra/events.test.ts; the webhook's alarms come only with a webhook).
    expect(alarms).toHaveLength(1 + 2 * manifest.functions.length + 1 + 2 + 1);
    for (const alarm of alarms) expect(alarm).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarms.filter((alarm) => alarm.MetricName === 'ApproximateNumberOfMessagesVisible')).toHaveLength(1);
    expect(alarms.filter((alarm) => alarm.MetricName === 'Errors')).toHaveLength(manifest.functions.length);
    expect(alarms.filter((alarm) => alarm.MetricName === 'Throttles')).toHaveLength(manifest.functions.length);
    expect(alarms.filter((alarm) => alarm.MetricName === '5xx' && alarm.Namespace === 'AWS/ApiGateway')).toHaveLength(1);
    prod.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('sends every alarm to an e-mail topic over TLS', () => {
    prod.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const topicId = logicalIdOf(prod, 'AWS::SNS::Topic', '/Topic/Resource');
    for (const [, alarm] of resourcesOfType(prod.json, 'AWS::CloudWatch::Alarm')) {
      expect(alarm.Properties?.AlarmActions).toEqual([{ Ref: topicId }]);
    }
  });
});

describe('an external JWT issuer and an existing Mux secret', () => {
  let external: Synthesized;
  const muxSecretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:reelay/mux-AbCdEf';
  beforeAll(() => {
    external = synthesize({ jwtIssuer: 'https://auth.example.com/', jwtAudience: 'reelay-api,reelay-web', muxSecretArn, corsOrigins: '' });
  });

  it('uses the given issuer and audiences and creates no user pool', () => {
    external.template.resourceCountIs('AWS::Cognito::UserPool', 0);
    external.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://auth.example.com/', Audience: ['reelay-api', 'reelay-web'] },
    });
    expect(external.json.Outputs).not.toHaveProperty('UserPoolId');
  });

  it('points the Mux users at the existing secret and creates none', () => {
    expect(resourcesOfType(external.json, 'AWS::SecretsManager::Secret').map(([, secret]) => constructPathOf(secret))).not.toContainEqual(
      expect.stringContaining('/MuxSecret/'),
    );
    expect(environmentOf(external, 'ingest').MUX_SECRET_ARN).toBe(muxSecretArn);
    // The binding key is reelay's, not Mux's: the stack keeps generating it.
    expect(resourcesOfType(external.json, 'AWS::SecretsManager::Secret').map(([, secret]) => constructPathOf(secret))).toContainEqual(
      expect.stringContaining('/AssetBindingKey/'),
    );
  });

  it('has no CORS rule when no origin is configured', () => {
    const api = resourcesOfType(external.json, 'AWS::ApiGatewayV2::Api')[0]?.[1];
    expect(api?.Properties?.CorsConfiguration).toBeUndefined();
    const bucket = external.json.Resources[logicalIdOf(external, 'AWS::S3::Bucket', '/Uploads/Bucket/Resource')];
    expect(bucket?.Properties?.CorsConfiguration).toBeUndefined();
  });
});

/** A staged asset's directory in the cloud assembly, from the S3 object key a deployment names (`<hash>.zip`). */
function stagedAssetDir(synth: Synthesized, objectKey: string): string {
  return join(synth.app.outdir, `asset.${objectKey.replace(/\.zip$/, '')}`);
}

interface DeploymentProps {
  SourceObjectKeys: string[];
  SourceMarkers?: Array<Record<string, unknown>>;
  DestinationBucketName: unknown;
  DestinationBucketKeyPrefix?: string;
  Prune: boolean;
  Exclude?: string[];
  SystemMetadata?: Record<string, string>;
}

function consoleDeployments(synth: Synthesized): { shell: [string, DeploymentProps]; chunks: [string, DeploymentProps] } {
  const deployments = resourcesOfType(synth.json, 'Custom::CDKBucketDeployment').map(([id, resource]) => [id, resource.Properties as unknown as DeploymentProps] as [string, DeploymentProps]);
  expect(deployments).toHaveLength(2);
  const chunks = deployments.find(([, props]) => props.DestinationBucketKeyPrefix === 'chunks/');
  const shell = deployments.find(([, props]) => props.DestinationBucketKeyPrefix === undefined);
  if (!chunks || !shell) throw new Error('expected a shell and a chunks deployment');
  return { shell, chunks };
}

/** config.json as deployed: the staged file with each deploy-time marker replaced by the token it stands for. */
function deployedConsoleConfig(synth: Synthesized): Record<string, unknown> {
  const [, shell] = consoleDeployments(synth).shell;
  const index = shell.SourceMarkers?.findIndex((markers) => Object.keys(markers).length > 0) ?? -1;
  const key = shell.SourceObjectKeys[index === -1 ? 1 : index] as string;
  let text = readFileSync(join(stagedAssetDir(synth, key), 'config.json'), 'utf8');
  for (const [marker, value] of Object.entries(shell.SourceMarkers?.[index] ?? {})) text = text.split(marker).join(`{${JSON.stringify(value).replace(/"/g, "'")}}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function cspOf(synth: Synthesized): string {
  const [, policy] = resourcesOfType(synth.json, 'AWS::CloudFront::ResponseHeadersPolicy')[0] ?? [];
  const csp = (policy?.Properties as { ResponseHeadersPolicyConfig: { SecurityHeadersConfig: { ContentSecurityPolicy: { ContentSecurityPolicy: unknown } } } })
    .ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy;
  return renderForNag(csp);
}

/** `https://<distribution domain>` (the console's origin) and, with a trailing slash, its URL, as the template writes them. */
function cloudFrontOrigin(synth: Synthesized, suffix = ''): Record<string, unknown> {
  const domain = { 'Fn::GetAtt': [logicalIdOf(synth, 'AWS::CloudFront::Distribution', '/Distribution/Resource'), 'DomainName'] };
  return { 'Fn::Join': ['', suffix === '' ? ['https://', domain] : ['https://', domain, suffix]] };
}

describe('signed playback', () => {
  let signed: Synthesized;
  let publicStack: Synthesized;
  beforeAll(() => {
    signed = synthesize({ muxPlaybackPolicy: 'signed', playbackTokenTtlSeconds: 900 });
    publicStack = synthesize();
  });

  it('gives every Mux user and the videos function the policy; videos reads the Mux secret only when it is signed', () => {
    for (const name of ['ingest', 'mux-webhook', 'reconcile', 'admin', 'videos', 'video-changes', 'uploads']) {
      expect(environmentOf(signed, name).MUX_PLAYBACK_POLICY, name).toBe('signed');
      expect(environmentOf(publicStack, name).MUX_PLAYBACK_POLICY, name).toBe('public');
    }
    // Both functions that answer with a presented video mint the same tokens.
    for (const name of ['videos', 'video-changes']) {
      expect(environmentOf(signed, name), name).toMatchObject({ PLAYBACK_TOKEN_TTL_SECONDS: '900', MUX_SECRET_ARN: expect.anything() });
      expect(environmentOf(publicStack, name), name).not.toHaveProperty('MUX_SECRET_ARN');
      expect(environmentOf(publicStack, name), name).not.toHaveProperty('PLAYBACK_TOKEN_TTL_SECONDS');
      // Neither gets the binding key, nor the uploads function anything of Mux but the policy.
      expect(environmentOf(signed, name), name).not.toHaveProperty('MUX_BINDING_KEY_SECRET_ARN');
    }
    expect(Object.keys(environmentOf(signed, 'uploads')).filter((key) => key.startsWith('MUX_'))).toEqual(['MUX_PLAYBACK_POLICY']);
  });

  it('leaves the generated Mux secret\'s fields alone: the signing key is the operator\'s to add', () => {
    const secret = resourcesOfType(signed.json, 'AWS::SecretsManager::Secret').find(([, resource]) => constructPathOf(resource).includes('/MuxSecret/'));
    expect(JSON.parse(secret?.[1].Properties?.SecretString as string)).toEqual({ tokenId: '', tokenSecret: '', webhookSecret: '' });
  });

  it('refuses a policy or lifetime it does not know', () => {
    expect(() => synthesize({ muxPlaybackPolicy: 'drm' })).toThrow(/muxPlaybackPolicy/);
    expect(() => synthesize({ playbackTokenTtlSeconds: 10 })).toThrow(/playbackTokenTtlSeconds/);
    expect(() => synthesize({ playbackTokenTtlSeconds: '90.5' })).toThrow(/playbackTokenTtlSeconds/);
  });
});

describe('the web console as a static site', () => {
  describe('on, signing in through the stack user pool (dev)', () => {
    let site: Synthesized;
    beforeAll(() => {
      site = synthesize({ console: 'true' });
    }, 120_000);

    it('keeps the site bucket private: public access blocked, encrypted, TLS only, no website hosting', () => {
      const bucketId = logicalIdOf(site, 'AWS::S3::Bucket', '/Console/Bucket/Resource');
      const bucket = site.json.Resources[bucketId]?.Properties;
      expect(bucket).toMatchObject({
        ...privateEncryptedBucket,
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LoggingConfiguration: { DestinationBucketName: { Ref: logicalIdOf(site, 'AWS::S3::Bucket', '/Console/Logs/Resource') } },
      });
      expect(bucket?.WebsiteConfiguration).toBeUndefined();
      const [, policy] = resourcesOfType(site.json, 'AWS::S3::BucketPolicy').find(([, p]) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify({ Ref: bucketId })) ?? [];
      const statements = (policy?.Properties?.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement;
      expect(statements).toContainEqual(expect.objectContaining(tlsOnlyStatement));
      // The only reader: this distribution, through origin access control.
      const reads = statements.filter((statement) => statement.Effect === 'Allow' && JSON.stringify(statement.Action).includes('s3:GetObject'));
      expect(reads).toEqual([
        expect.objectContaining({
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Action: 's3:GetObject',
          Condition: { StringEquals: { 'AWS:SourceArn': expect.objectContaining({ 'Fn::Join': ['', expect.arrayContaining([{ Ref: logicalIdOf(site, 'AWS::CloudFront::Distribution', '/Distribution/Resource') }])] }) } },
        }),
      ]);
    });

    it('serves it through CloudFront with origin access control, HTTPS only, index.html at the root, price class 100, access logs', () => {
      const [, distribution] = resourcesOfType(site.json, 'AWS::CloudFront::Distribution')[0] ?? [];
      const config = (distribution?.Properties as { DistributionConfig: Record<string, unknown> }).DistributionConfig;
      expect(config).toMatchObject({
        DefaultRootObject: 'index.html',
        PriceClass: 'PriceClass_100',
        Enabled: true,
        DefaultCacheBehavior: {
          ViewerProtocolPolicy: 'redirect-to-https',
          AllowedMethods: ['GET', 'HEAD'],
          Compress: true,
          ResponseHeadersPolicyId: { Ref: logicalIdOf(site, 'AWS::CloudFront::ResponseHeadersPolicy', '/Headers/Resource') },
        },
        Origins: [
          {
            DomainName: { 'Fn::GetAtt': [logicalIdOf(site, 'AWS::S3::Bucket', '/Console/Bucket/Resource'), 'RegionalDomainName'] },
            OriginAccessControlId: { 'Fn::GetAtt': [logicalIdOf(site, 'AWS::CloudFront::OriginAccessControl', '/Resource'), 'Id'] },
            S3OriginConfig: { OriginAccessIdentity: '' },
          },
        ],
        Logging: { Bucket: { 'Fn::GetAtt': [logicalIdOf(site, 'AWS::S3::Bucket', '/Console/Logs/Resource'), 'RegionalDomainName'] } },
      });
      site.template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
        OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
      });
      // CloudFront delivers standard logs with an ACL grant: the log bucket must accept ACLs (and only it does).
      site.template.hasResourceProperties('AWS::S3::Bucket', { OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] } });
    });

    it('sends security headers: HSTS, nosniff, DENY framing, strict referrer, and a CSP for the API, S3, the Hosted UI and Mux', () => {
      site.template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
        ResponseHeadersPolicyConfig: Match.objectLike({
          SecurityHeadersConfig: Match.objectLike({
            StrictTransportSecurity: { AccessControlMaxAgeSec: 63072000, IncludeSubdomains: true, Override: true },
            ContentTypeOptions: { Override: true },
            FrameOptions: { FrameOption: 'DENY', Override: true },
            ReferrerPolicy: { ReferrerPolicy: 'strict-origin-when-cross-origin', Override: true },
          }),
        }),
      });
      const directives = new Map(cspOf(site).split('; ').map((directive) => [directive.split(' ')[0], directive.split(' ').slice(1)] as const));
      expect(directives.get('script-src')).toEqual(["'self'"]);
      expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
      expect(directives.get('object-src')).toEqual(["'none'"]);
      expect(directives.get('connect-src')).toEqual([
        "'self'",
        'https://*.execute-api.<AWS::Region>.amazonaws.com',
        'https://*.s3.<AWS::Region>.amazonaws.com',
        'https://reelay-dev-<AWS::AccountId>.auth.<AWS::Region>.amazoncognito.com',
        'https://*.mux.com',
        'https://*.litix.io',
      ]);
      expect(directives.get('media-src')).toEqual(["'self'", 'blob:', 'https://*.mux.com']);
      expect(directives.get('img-src')).toContain('https://image.mux.com');
    });

    it('deploys the console built at synth time, with config.json pointing at this API and this user pool', () => {
      const { shell, chunks } = consoleDeployments(site);
      const siteBucket = { Ref: logicalIdOf(site, 'AWS::S3::Bucket', '/Console/Bucket/Resource') };
      expect(shell[1]).toMatchObject({ DestinationBucketName: siteBucket, Prune: true, Exclude: ['chunks/*'], SystemMetadata: { 'cache-control': 'no-cache' } });
      expect(chunks[1]).toMatchObject({ DestinationBucketName: siteBucket, Prune: false, SystemMetadata: { 'cache-control': 'public, max-age=31536000, immutable' } });
      expect(site.json.Resources[shell[0]]?.DependsOn).toEqual(expect.arrayContaining([chunks[0]]));

      const built = readdirSync(stagedAssetDir(site, shell[1].SourceObjectKeys[0] as string));
      expect(built).toEqual(expect.arrayContaining(['index.html', 'app.js', 'styles.css']));
      expect(built).not.toContain('config.json');
      expect(built).not.toContain('chunks');
      expect(readdirSync(stagedAssetDir(site, chunks[1].SourceObjectKeys[0] as string)).some((file) => file.endsWith('.js'))).toBe(true);

      const apiId = logicalIdOf(site, 'AWS::ApiGatewayV2::Api', '/Api/Resource');
      const clientId = logicalIdOf(site, 'AWS::Cognito::UserPoolClient', '/Client/Resource');
      const domainId = logicalIdOf(site, 'AWS::Cognito::UserPoolDomain', '/HostedUi/Resource');
      expect(deployedConsoleConfig(site)).toEqual({
        apiUrl: `{{'Fn::GetAtt':['${apiId}','ApiEndpoint']}}`,
        auth: {
          kind: 'cognito',
          domain: `https://{{'Ref':'${domainId}'}}.auth.{{'Ref':'AWS::Region'}}.amazoncognito.com`,
          clientId: `{{'Ref':'${clientId}'}}`,
        },
        adminGroup: 'admin',
      });
    });

    it('adds a Hosted UI domain and the code grant to the app client, back to the console (and the local one on dev)', () => {
      site.template.hasResourceProperties('AWS::Cognito::UserPoolDomain', {
        Domain: { 'Fn::Join': ['', ['reelay-dev-', { Ref: 'AWS::AccountId' }]] },
        UserPoolId: { Ref: logicalIdOf(site, 'AWS::Cognito::UserPool', '/UserPool/Resource') },
      });
      const consoleUrl = cloudFrontOrigin(site, '/');
      site.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
        GenerateSecret: false,
        AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthFlows: ['code'],
        AllowedOAuthScopes: ['openid', 'email', 'profile'],
        CallbackURLs: [consoleUrl, 'http://localhost:3000/'],
        LogoutURLs: [consoleUrl, 'http://localhost:3000/'],
        SupportedIdentityProviders: ['COGNITO'],
      });
    });

    it('lets the console origin call the API and upload to the bucket (CORS), beside the configured origins', () => {
      const origins = ['http://localhost:3000', 'http://127.0.0.1:3000', cloudFrontOrigin(site)];
      site.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.objectLike({ AllowOrigins: origins }) });
      const bucket = site.json.Resources[logicalIdOf(site, 'AWS::S3::Bucket', '/Uploads/Bucket/Resource')]?.Properties;
      expect(bucket?.CorsConfiguration).toEqual({ CorsRules: [expect.objectContaining({ AllowedOrigins: origins, ExposedHeaders: ['ETag'] })] });
    });

    it('outputs the console URL and the Hosted UI domain', () => {
      site.template.hasOutput('ConsoleUrl', { Value: cloudFrontOrigin(site, '/') });
      site.template.hasOutput('UserPoolDomain', {});
    });
  });

  describe('on, signing in through an external issuer (prod, no access logs)', () => {
    let external: Synthesized;
    beforeAll(() => {
      external = synthesize({
        stage: 'prod',
        console: 'true',
        jwtIssuer: 'https://login.example.com/',
        jwtAudience: 'reelay-api,reelay-web',
        consoleAuthDomain: 'https://login.example.com',
        consoleClientId: 'reelay-web',
        bucketAccessLogs: 'false',
      });
    }, 120_000);

    it('points config.json at the external IdP and its client, and the CSP at its origin', () => {
      const apiId = logicalIdOf(external, 'AWS::ApiGatewayV2::Api', '/Api/Resource');
      expect(deployedConsoleConfig(external)).toEqual({
        apiUrl: `{{'Fn::GetAtt':['${apiId}','ApiEndpoint']}}`,
        auth: { kind: 'cognito', domain: 'https://login.example.com', clientId: 'reelay-web' },
        adminGroup: 'admin',
      });
      expect(cspOf(external)).toContain("connect-src 'self' https://*.execute-api.<AWS::Region>.amazonaws.com https://*.s3.<AWS::Region>.amazonaws.com https://login.example.com ");
      external.template.resourceCountIs('AWS::Cognito::UserPoolDomain', 0);
      expect(Object.keys(external.json.Outputs ?? {})).toContain('ConsoleUrl');
      expect(Object.keys(external.json.Outputs ?? {})).not.toContain('UserPoolDomain');
    });

    it('allows only the console origin when no other is configured (prod)', () => {
      external.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.objectLike({ AllowOrigins: [cloudFrontOrigin(external)] }) });
    });

    it('writes no access logs when they are off, and replaces the site bucket with the stack even on prod', () => {
      const [, distribution] = resourcesOfType(external.json, 'AWS::CloudFront::Distribution')[0] ?? [];
      expect((distribution?.Properties as { DistributionConfig: Record<string, unknown> }).DistributionConfig.Logging).toBeUndefined();
      const siteBucketId = logicalIdOf(external, 'AWS::S3::Bucket', '/Console/Bucket/Resource');
      expect(external.json.Resources[siteBucketId]).toMatchObject({ DeletionPolicy: 'Delete' });
      expect(external.json.Resources[siteBucketId]?.Properties?.LoggingConfiguration).toBeUndefined();
      expect(external.json.Resources[logicalIdOf(external, 'AWS::S3::Bucket', '/Uploads/Bucket/Resource')]).toMatchObject({ DeletionPolicy: 'Retain' });
    });
  });
});

describe('context and manifest validation', () => {
  const read = (values: Partial<Record<ContextKey, unknown>>) => () => readConfigFrom((key) => values[key]);

  it('rejects an unknown stage, a half-configured issuer, and out-of-range numbers', () => {
    expect(read({ stage: 'staging' })).toThrow(/stage/);
    expect(read({ jwtIssuer: 'https://auth.example.com/' })).toThrow(/jwtIssuer.*jwtAudience/);
    expect(read({ jwtIssuer: 'http://auth.example.com/', jwtAudience: 'x' })).toThrow(/https/);
    expect(read({ dbMaxCapacity: '300' })).toThrow(/dbMaxCapacity/);
    expect(read({ dbAutoPauseMinutes: 2 })).toThrow(/dbAutoPauseMinutes/);
    expect(read({ reservedConcurrency: '{"ingest": -1}' })).toThrow(/reservedConcurrency/);
  });

  it('reads CLI strings and cdk.json values alike', () => {
    const config = readConfigFrom((key) => ({ corsOrigins: ' https://a.example , https://b.example ', dbMaxCapacity: '8', bucketAccessLogs: 'false' })[key as string]);
    expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.database.maxCapacity).toBe(8);
    expect(config.bucketAccessLogs).toBe(false);
  });

  it('rejects a manifest whose routes and functions disagree', () => {
    const valid = { routes: [{ route: 'GET /a', function: 'a', auth: 'user' }], functions: { a: { entry: 'functions/a/handler.ts', trigger: 'http', uses: [] } } };
    expect(() => parseManifest(valid)).not.toThrow();
    expect(() => parseManifest({ ...valid, routes: [{ route: 'GET /a', function: 'b', auth: 'user' }] })).toThrow(/not declared/);
    expect(() => parseManifest({ ...valid, routes: [...valid.routes, ...valid.routes] })).toThrow(/declared twice/);
    expect(() => parseManifest({ ...valid, routes: [] })).toThrow(/has no HTTP routes/);
    expect(() => parseManifest({ ...valid, functions: { a: { ...valid.functions.a, uses: ['network'] } } })).toThrow(/uses/);
  });

  it('names an unknown function in reservedConcurrency', () => {
    expect(() => synthesize({ reservedConcurrency: '{"nope": 1}' })).toThrow(/unknown function "nope"/);
  });

  it('grants the bucket exactly the object actions presigning needs, and bucket-read only GetObject on captions', () => {
    expect([...uploadObjectActions].sort()).toEqual(['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject']);
    expect([...storedFileReadActions]).toEqual(['s3:GetObject']);
    expect(storedFileKeyPattern('uploads/')).toBe('uploads/*/captions/*');
  });

  it('refuses a capability listed twice, or bucket-read beside bucket (which includes it)', () => {
    const manifestWith = (uses: string[]) => ({
      routes: [{ route: 'GET /a', function: 'a', auth: 'user' }],
      functions: { a: { entry: 'functions/a/handler.ts', trigger: 'http', uses } },
    });
    expect(parseManifest(manifestWith(['database', 'bucket-read'])).functions[0]?.uses).toEqual(['database', 'bucket-read']);
    expect(() => parseManifest(manifestWith(['bucket', 'bucket-read']))).toThrow(/already includes "bucket-read"/);
    expect(() => parseManifest(manifestWith(['database', 'database']))).toThrow(/twice/);
  });

  it('refuses a function with two database roles, or setting role passwords without the master', () => {
    const manifestWith = (uses: string[]) => ({
      routes: [{ route: 'GET /a', function: 'a', auth: 'user' }],
      functions: { a: { entry: 'functions/a/handler.ts', trigger: 'http', uses } },
    });
    expect(() => parseManifest(manifestWith(['database', 'database-read']))).toThrow(/one database role/);
    expect(() => parseManifest(manifestWith(['database-read', 'database-migrations']))).toThrow(/one database role/);
    expect(() => parseManifest(manifestWith(['database', 'database-roles']))).toThrow(/needs "database-migrations"/);
    expect(parseManifest(manifestWith(['database-migrations', 'database-roles'])).functions[0]?.uses).toEqual(['database-migrations', 'database-roles']);
  });

  it('reads a route-level throttle, and refuses one that is not positive', () => {
    const manifestWith = (throttle: unknown) => ({
      routes: [{ route: 'GET /a', function: 'a', auth: 'none', throttle }],
      functions: { a: { entry: 'functions/a/handler.ts', trigger: 'http', uses: [] } },
    });
    expect(parseManifest(manifestWith({ rateLimit: 2, burstLimit: 5 })).routes[0]?.throttle).toEqual({ rateLimit: 2, burstLimit: 5 });
    expect(() => parseManifest(manifestWith({ rateLimit: 0, burstLimit: 5 }))).toThrow(/rateLimit must be a positive number/);
    expect(() => parseManifest(manifestWith({ rateLimit: 2 }))).toThrow(/burstLimit must be a positive number/);
  });

  it('reads the console flag and its sign-in settings, refusing combinations that cannot sign in', () => {
    const external = { jwtIssuer: 'https://auth.example.com/', jwtAudience: 'reelay-api,reelay-web' };
    expect(readConfigFrom(() => undefined).console).toBeUndefined();
    expect(readConfigFrom((key) => ({ console: 'false', consoleDomainPrefix: 'ignored-when-off' })[key as string]).console).toBeUndefined();
    expect(readConfigFrom((key) => ({ console: 'true' })[key as string]).console).toEqual({ signIn: { kind: 'stack-user-pool', domainPrefix: undefined } });
    expect(readConfigFrom((key) => ({ console: true, consoleDomainPrefix: 'video-team' })[key as string]).console).toEqual({
      signIn: { kind: 'stack-user-pool', domainPrefix: 'video-team' },
    });
    expect(
      readConfigFrom((key) => ({ ...external, console: 'true', consoleAuthDomain: 'https://login.example.com/', consoleClientId: 'reelay-web' })[key as string]).console,
    ).toEqual({ signIn: { kind: 'external', domain: 'https://login.example.com', clientId: 'reelay-web' } });

    expect(read({ console: 'yes' })).toThrow(/console/);
    expect(read({ console: 'true', consoleDomainPrefix: 'My_Prefix' })).toThrow(/consoleDomainPrefix/);
    expect(read({ console: 'true', consoleDomainPrefix: 'reelay-cognito' })).toThrow(/consoleDomainPrefix/);
    expect(read({ console: 'true', consoleClientId: 'abc' })).toThrow(/external issuer/);
    expect(read({ ...external, console: 'true' })).toThrow(/consoleAuthDomain.*consoleClientId/);
    expect(read({ ...external, console: 'true', consoleDomainPrefix: 'reelay' })).toThrow(/consoleDomainPrefix/);
    expect(read({ ...external, console: 'true', consoleAuthDomain: 'http://login.example.com', consoleClientId: 'reelay-web' })).toThrow(/consoleAuthDomain/);
    expect(read({ ...external, console: 'true', consoleAuthDomain: 'https://login.example.com', consoleClientId: 'other' })).toThrow(/consoleClientId.*jwtAudience/);
  });

  it('lets only dev stacks send Hosted UI sign-ins back to the local console', () => {
    expect(consoleCallbackUrls('https://d1.cloudfront.net/', 'dev')).toEqual(['https://d1.cloudfront.net/', 'http://localhost:3000/']);
    expect(consoleCallbackUrls('https://d1.cloudfront.net/', 'prod')).toEqual(['https://d1.cloudfront.net/']);
  });
});
