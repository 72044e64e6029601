/**
 * What `cdk deploy` creates, read from the synthesised template (issue C, Done when #1).
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { readConfigFrom, type ContextKey } from '../../infra/config.js';
import { auroraEngineVersion } from '../../infra/constructs/database.js';
import { functionSizing } from '../../infra/constructs/functions.js';
import { uploadObjectActions } from '../../infra/constructs/upload-bucket.js';
import { loadManifest, parseManifest, type FunctionSpec } from '../../infra/manifest.js';
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

    it.each(manifest.functions.map((fn) => [fn.name, fn] as const))('%s: nodejs22.x on arm64, JSON logs to its own log group', (name, spec) => {
      const props = fnResource(dev, name).Properties ?? {};
      expect(props).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: functionSizing[spec.trigger].memorySize,
        Timeout: functionSizing[spec.trigger].timeout.toSeconds(),
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
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
      expect('RDS_RESOURCE_ARN' in env).toBe(uses.has('database'));
      expect('RDS_SECRET_ARN' in env).toBe(uses.has('database'));
      expect(env.RDS_DATABASE).toBe(uses.has('database') ? 'reelay' : undefined);
      expect('UPLOAD_BUCKET' in env).toBe(uses.has('bucket'));
      expect(env.UPLOAD_PREFIX).toBe(uses.has('bucket') ? 'uploads/' : undefined);
      expect('MUX_SECRET_ARN' in env).toBe(uses.has('mux'));
      for (const forbidden of ['MUX_TOKEN_ID', 'MUX_TOKEN_SECRET', 'MUX_WEBHOOK_SECRET', 'DATABASE_URL', 'PGPASSWORD']) {
        expect(env).not.toHaveProperty(forbidden);
      }
      // Only the Mux users load the Parameters and Secrets extension.
      const layers = (fnResource(dev, name).Properties?.Layers as unknown[] | undefined) ?? [];
      expect(layers.length).toBe(uses.has('mux') ? 1 : 0);
      if (uses.has('mux')) expect(env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT).toBe('2773');
    });

    it('creates the Mux secret with empty placeholders for the operator to fill', () => {
      const secrets = resourcesOfType(dev.json, 'AWS::SecretsManager::Secret').filter(([, secret]) =>
        constructPathOf(secret).includes('/MuxSecret/'),
      );
      expect(secrets).toHaveLength(1);
      expect(JSON.parse(secrets[0]?.[1].Properties?.SecretString as string)).toEqual({ tokenId: '', tokenSecret: '', webhookSecret: '' });
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
          AllowHeaders: ['authorization', 'content-type'],
        }),
      });
    });
  });

  describe('upload bucket, ingest queue and DLQ', () => {
    it('blocks public access, encrypts, enforces TLS and aborts incomplete multipart uploads', () => {
      const bucketId = logicalIdOf(dev, 'AWS::S3::Bucket', '/Uploads/Bucket/Resource');
      const bucket = dev.json.Resources[bucketId]?.Properties;
      expect(bucket).toMatchObject({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        LifecycleConfiguration: { Rules: expect.arrayContaining([expect.objectContaining({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } })]) },
        LoggingConfiguration: { DestinationBucketName: { Ref: logicalIdOf(dev, 'AWS::S3::Bucket', '/Uploads/AccessLogs/Resource') } },
      });
      dev.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucketId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it('allows CORS uploads from the configured origins only and exposes ETag for multipart', () => {
      const bucket = dev.json.Resources[logicalIdOf(dev, 'AWS::S3::Bucket', '/Uploads/Bucket/Resource')]?.Properties;
      expect(bucket?.CorsConfiguration).toEqual({
        CorsRules: [
          expect.objectContaining({
            AllowedOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
            AllowedMethods: ['PUT', 'GET', 'HEAD'],
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

    it('alarms on DLQ depth, every function’s errors and throttles, and API 5xx', () => {
      const alarms = resourcesOfType(dev.json, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties ?? {});
      expect(alarms).toHaveLength(1 + 2 * manifest.functions.length + 1);
      for (const alarm of alarms) expect(alarm).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
      expect(alarms.filter((alarm) => alarm.MetricName === 'ApproximateNumberOfMessagesVisible')).toHaveLength(1);
      expect(alarms.filter((alarm) => alarm.MetricName === 'Errors')).toHaveLength(manifest.functions.length);
      expect(alarms.filter((alarm) => alarm.MetricName === 'Throttles')).toHaveLength(manifest.functions.length);
      expect(alarms.filter((alarm) => alarm.MetricName === '5xx' && alarm.Namespace === 'AWS/ApiGateway')).toHaveLength(1);
      dev.template.resourceCountIs('AWS::SNS::Topic', 0);
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
  });

  it('has no CORS rule when no origin is configured', () => {
    const api = resourcesOfType(external.json, 'AWS::ApiGatewayV2::Api')[0]?.[1];
    expect(api?.Properties?.CorsConfiguration).toBeUndefined();
    const bucket = external.json.Resources[logicalIdOf(external, 'AWS::S3::Bucket', '/Uploads/Bucket/Resource')];
    expect(bucket?.Properties?.CorsConfiguration).toBeUndefined();
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

  it('grants the bucket exactly the object actions presigning needs', () => {
    expect([...uploadObjectActions].sort()).toEqual(['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject']);
  });
});
