/**
 * Lifecycle events on EventBridge (issue J, infra/constructs/events.ts), read from the synthesised templates: the bus,
 * its archive, the scoped `events:PutEvents` grants and EVENT_BUS_NAME of the publishers only, an existing bus named by
 * context, and the optional webhook (connection, API destination, rule, DLQ, alarms).
 */
import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { readConfigFrom, type ContextKey } from '../../infra/config.js';
import { unacknowledgedRuns } from '../../infra/constructs/alarms.js';
import { eventSource, ReelayEvents, webhookKeyHeader, webhookUrlProblem } from '../../infra/constructs/events.js';
import { reconcileEvery } from '../../infra/constructs/functions.js';
import { loadManifest } from '../../infra/manifest.js';
import { eventBusNameFor, eventPublishersOf } from '../../infra/stack.js';
import { eventSource as runtimeEventSource } from '../../shared/events/video-events.js';
import { renderForNag } from './support/acknowledgements.js';
import { constructPathOf, functionLogicalId, resourcesOfType, synthesize, type CfnResourceJson, type Synthesized } from './support/synth.js';

const manifest = loadManifest();
const eventPublishers = eventPublishersOf(manifest);
const webhookUrl = 'https://hooks.example.com/reelay/events';
const existingBusArn = 'arn:aws:events:eu-west-1:123456789012:event-bus/apps';
const existingKeyArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:reelay/webhook-key-AbCdEf';

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

function only(json: Synthesized['json'], type: string): [string, CfnResourceJson] {
  const found = resourcesOfType(json, type);
  expect(found, type).toHaveLength(1);
  return found[0] as [string, CfnResourceJson];
}

function environmentOf(synth: Synthesized, name: string): Record<string, unknown> {
  const props = synth.json.Resources[functionLogicalId(synth, name)]?.Properties as { Environment?: { Variables?: Record<string, unknown> } };
  return props.Environment?.Variables ?? {};
}

/** Every allowed statement in the template that names an EventBridge action, with the roles its policy is on. */
function eventStatements(synth: Synthesized): Array<{ roles: string[]; statement: Statement }> {
  return resourcesOfType(synth.json, 'AWS::IAM::Policy').flatMap(([, policy]) => {
    const roles = ((policy.Properties?.Roles as Array<{ Ref: string }> | undefined) ?? []).map((ref) => ref.Ref);
    return (policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement.filter((statement) =>
      [statement.Action].flat().some((action) => action.startsWith('events:')),
    ).map((statement) => ({ roles, statement }));
  });
}

function roleOf(synth: Synthesized, name: string): string {
  const role = synth.json.Resources[functionLogicalId(synth, name)]?.Properties?.Role as { 'Fn::GetAtt': [string, string] };
  return role['Fn::GetAtt'][0];
}

/** The PutEvents grants: which functions hold one, and on what. */
function putEventsGrants(synth: Synthesized): Array<{ fn: string; resource: string; condition: unknown }> {
  const byRole = new Map(manifest.functions.map((fn) => [roleOf(synth, fn.name), fn.name]));
  return eventStatements(synth)
    .filter(({ statement }) => [statement.Action].flat().includes('events:PutEvents'))
    .flatMap(({ roles, statement }) =>
      roles.map((role) => ({ fn: byRole.get(role) ?? role, resource: renderForNag(statement.Resource), condition: statement.Condition })),
    )
    .sort((a, b) => a.fn.localeCompare(b.fn));
}

const publishers: readonly string[] = [...eventPublishers].sort();

describe('the event contract', () => {
  it('publishes under the source the runtime writes, from the functions that change a video’s status', () => {
    expect(eventSource).toBe(runtimeEventSource);
    // Those that record events (issue J): creation, upload completion, ingest, Mux webhooks, deletions, the sweep.
    expect([...eventPublishers].sort()).toEqual(['ingest', 'mux-webhook', 'reconcile', 'uploads', 'video-deletes']);
    for (const name of eventPublishers) expect(manifest.functions.map((fn) => fn.name)).toContain(name);
  });

  it('grants `events` to exactly the functions whose code publishes (their edge builds functionEventPublishing)', () => {
    const publishing = manifest.functions
      .filter((fn) => readFileSync(fn.entry, 'utf8').includes('functionEventPublishing('))
      .map((fn) => fn.name)
      .sort();
    expect(publishing).toEqual([...eventPublishers].sort());
  });
});

describe('a bus of the stack (dev, defaults)', () => {
  let dev: Synthesized;
  beforeAll(() => {
    dev = synthesize();
  });

  it('creates the bus reelay-dev, deleted with the dev stack', () => {
    const [, bus] = only(dev.json, 'AWS::Events::EventBus');
    expect(bus.Properties?.Name).toBe(eventBusNameFor('dev'));
    expect(bus).toMatchObject({ DeletionPolicy: 'Delete' });
    dev.template.hasOutput('EventBusName', { Value: { Ref: only(dev.json, 'AWS::Events::EventBus')[0] } });
  });

  it('archives the bus’s reelay events for 7 days', () => {
    const [busId] = only(dev.json, 'AWS::Events::EventBus');
    const [, archive] = only(dev.json, 'AWS::Events::Archive');
    expect(archive.Properties).toMatchObject({ SourceArn: { 'Fn::GetAtt': [busId, 'Arn'] }, EventPattern: { source: ['reelay'] }, RetentionDays: 7 });
    // Replays start from the archive's ARN (start-replay --event-source-arn).
    dev.template.hasOutput('EventArchiveArn', { Value: { 'Fn::GetAtt': [only(dev.json, 'AWS::Events::Archive')[0], 'Arn'] } });
  });

  it('lets exactly the publishers put events, of source reelay, on this bus only', () => {
    const [busId] = only(dev.json, 'AWS::Events::EventBus');
    expect(putEventsGrants(dev)).toEqual(publishers.map((fn) => ({ fn, resource: `<${busId}.Arn>`, condition: { StringEquals: { 'events:source': 'reelay' } } })));
    // No other EventBridge action on any role: no rule, no target, no bus policy of reelay's making.
    expect(eventStatements(dev).every(({ statement }) => [statement.Action].flat().join() === 'events:PutEvents')).toBe(true);
    dev.template.resourceCountIs('AWS::Events::EventBusPolicy', 0);
  });

  it('gives EVENT_BUS_NAME to exactly the publishers', () => {
    const [busId] = only(dev.json, 'AWS::Events::EventBus');
    for (const fn of manifest.functions) {
      expect(environmentOf(dev, fn.name).EVENT_BUS_NAME, fn.name).toEqual(publishers.includes(fn.name) ? { Ref: busId } : undefined);
    }
  });

  it('has no webhook: no connection, destination, rule on the bus or secret for it', () => {
    for (const type of ['AWS::Events::Connection', 'AWS::Events::ApiDestination']) dev.template.resourceCountIs(type, 0);
    const [busId] = only(dev.json, 'AWS::Events::EventBus');
    expect(resourcesOfType(dev.json, 'AWS::Events::Rule').filter(([, rule]) => JSON.stringify(rule.Properties?.EventBusName) === JSON.stringify({ Ref: busId }))).toEqual([]);
    expect(Object.keys(dev.json.Outputs ?? {}).filter((key) => key.startsWith('EventsWebhook'))).toEqual([]);
  });
});

describe('the prod stage with the webhook (generated key) and an alarm e-mail', () => {
  let prod: Synthesized;
  beforeAll(() => {
    prod = synthesize({ stage: 'prod', alarmEmail: 'ops@example.com', corsOrigins: 'https://video.example.com', eventsWebhookUrl: webhookUrl });
  });

  it('keeps the bus reelay-prod and its 90-day archive when the stack goes', () => {
    const [, bus] = only(prod.json, 'AWS::Events::EventBus');
    expect(bus).toMatchObject({ DeletionPolicy: 'Retain', Properties: { Name: 'reelay-prod' } });
    const [, archive] = only(prod.json, 'AWS::Events::Archive');
    expect(archive).toMatchObject({ DeletionPolicy: 'Retain', Properties: { RetentionDays: 90, EventPattern: { source: ['reelay'] } } });
  });

  it('authenticates the webhook with an API key header from a generated secret', () => {
    const [, connection] = only(prod.json, 'AWS::Events::Connection');
    const [keyId, key] = resourcesOfType(prod.json, 'AWS::SecretsManager::Secret').find(([, secret]) => constructPathOf(secret).includes('/Events/Webhook/Key/')) ?? [];
    expect(key?.Properties?.GenerateSecretString).toEqual({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false });
    expect(key).toMatchObject({ DeletionPolicy: 'Retain' });
    expect(connection.Properties).toMatchObject({
      AuthorizationType: 'API_KEY',
      AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: webhookKeyHeader, ApiKeyValue: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: keyId }, ':SecretString:::}}']] } } },
    });
    // The key itself is never in the template: generated by Secrets Manager, read by CloudFormation at deploy time.
    expect(key?.Properties?.SecretString).toBeUndefined();
    prod.template.hasOutput('EventsWebhookKeySecretArn', { Value: { Ref: keyId } });
  });

  it('POSTs to the URL through an API destination on that connection', () => {
    const [connectionId] = only(prod.json, 'AWS::Events::Connection');
    const [, destination] = only(prod.json, 'AWS::Events::ApiDestination');
    expect(destination.Properties).toMatchObject({
      ConnectionArn: { 'Fn::GetAtt': [connectionId, 'Arn'] },
      InvocationEndpoint: webhookUrl,
      HttpMethod: 'POST',
      InvocationRateLimitPerSecond: 20,
    });
  });

  it('forwards every reelay event on the bus, retried for 24 hours, then into an encrypted TLS-only DLQ', () => {
    const [busId] = only(prod.json, 'AWS::Events::EventBus');
    const [destinationId] = only(prod.json, 'AWS::Events::ApiDestination');
    const [ruleId, rule] = resourcesOfType(prod.json, 'AWS::Events::Rule').find(([, candidate]) => constructPathOf(candidate).includes('/Events/Webhook/')) ?? [];
    const [queueId, queue] = resourcesOfType(prod.json, 'AWS::SQS::Queue').find(([, candidate]) => constructPathOf(candidate).includes('/Events/Webhook/')) ?? [];
    expect(rule?.Properties).toMatchObject({
      EventBusName: { Ref: busId },
      EventPattern: { source: ['reelay'] },
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [destinationId, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        },
      ],
    });
    expect(queue?.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    prod.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          // Only this rule may dead-letter into it.
          Match.objectLike({ Effect: 'Allow', Action: 'sqs:SendMessage', Principal: { Service: 'events.amazonaws.com' }, Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } } }),
        ]),
      },
    });
    // EventBridge may invoke this destination and nothing else.
    const invoke = eventStatements(prod).filter(({ statement }) => [statement.Action].flat().includes('events:InvokeApiDestination'));
    expect(invoke.map(({ statement }) => [statement.Action, renderForNag(statement.Resource)])).toEqual([['events:InvokeApiDestination', `<${destinationId}.Arn>`]]);
    prod.template.hasOutput('EventsWebhookDeadLetterQueueUrl', { Value: { Ref: queueId } });
  });

  it('alarms when events stay unacknowledged through two reconcile sweeps', () => {
    expect(unacknowledgedRuns).toBe(2);
    prod.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Reelay',
      MetricName: 'EventsUnacknowledged',
      Dimensions: [{ Name: 'Service', Value: 'reconcile' }],
      Statistic: 'Minimum',
      Period: reconcileEvery.toSeconds(),
      EvaluationPeriods: unacknowledgedRuns,
      DatapointsToAlarm: unacknowledgedRuns,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on the rule’s failed invocations, on events the DLQ could not take, and on DLQ depth, to the topic', () => {
    const [busId] = only(prod.json, 'AWS::Events::EventBus');
    const [ruleId] = resourcesOfType(prod.json, 'AWS::Events::Rule').find(([, candidate]) => constructPathOf(candidate).includes('/Events/Webhook/')) ?? [];
    const [queueId] = resourcesOfType(prod.json, 'AWS::SQS::Queue').find(([, candidate]) => constructPathOf(candidate).includes('/Events/Webhook/')) ?? [];
    const [topicId] = only(prod.json, 'AWS::SNS::Topic');
    const onTopic = { AlarmActions: [{ Ref: topicId }], OKActions: [{ Ref: topicId }], Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' };
    for (const metricName of ['FailedInvocations', 'InvocationsFailedToBeSentToDlq']) {
      prod.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...onTopic,
        Namespace: 'AWS/Events',
        MetricName: metricName,
        // Rules on a custom bus report under both dimensions.
        Dimensions: [{ Name: 'EventBusName', Value: { Ref: busId } }, { Name: 'RuleName', Value: { Ref: ruleId } }],
        Statistic: 'Sum',
        EvaluationPeriods: 1,
      });
    }
    prod.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...onTopic,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
    });
    prod.template.hasResourceProperties('AWS::CloudWatch::Alarm', { ...onTopic, MetricName: 'EventsUnacknowledged' });
  });

  it('graphs the webhook’s deliveries on the dashboard', () => {
    const [, dashboard] = only(prod.json, 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard.Properties?.DashboardBody);
    expect(body).toContain('Events webhook deliveries');
    expect(body).toMatch(/AWS\/Events.{0,10}Invocations/);
    expect(body).toMatch(/AWS\/Events.{0,10}FailedInvocations/);
  });
});

describe('an existing bus named by context', () => {
  let byName: Synthesized;
  let byArn: Synthesized;
  beforeAll(() => {
    byName = synthesize({ eventBusName: 'apps' });
    byArn = synthesize({
      // Dev has no alarms unless asked: asked here, for the webhook's alarms on someone else's bus.
      alarms: 'true',
      eventBusName: existingBusArn,
      eventsArchive: 'true',
      eventsArchiveDays: '30',
      eventsWebhookUrl: webhookUrl,
      eventsWebhookSecretArn: existingKeyArn,
    });
  });

  it('creates no bus and, unless asked, no archive on someone else’s bus', () => {
    byName.template.resourceCountIs('AWS::Events::EventBus', 0);
    byName.template.resourceCountIs('AWS::Events::Archive', 0);
    expect(byName.json.Outputs?.EventArchiveArn).toBeUndefined();
    byArn.template.resourceCountIs('AWS::Events::EventBus', 0);
  });

  it('by name: grants PutEvents on that bus of the stack’s account and region, and passes the name', () => {
    const arn = 'arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/apps';
    expect(putEventsGrants(byName)).toEqual(publishers.map((fn) => ({ fn, resource: arn, condition: { StringEquals: { 'events:source': 'reelay' } } })));
    for (const fn of manifest.functions) expect(environmentOf(byName, fn.name).EVENT_BUS_NAME, fn.name).toBe(publishers.includes(fn.name) ? 'apps' : undefined);
  });

  it('by ARN: grants PutEvents on that ARN and passes it; archives on it when asked, for the days asked', () => {
    expect(putEventsGrants(byArn)).toEqual(publishers.map((fn) => ({ fn, resource: existingBusArn, condition: { StringEquals: { 'events:source': 'reelay' } } })));
    for (const fn of manifest.functions) expect(environmentOf(byArn, fn.name).EVENT_BUS_NAME, fn.name).toBe(publishers.includes(fn.name) ? existingBusArn : undefined);
    const [, archive] = only(byArn.json, 'AWS::Events::Archive');
    expect(archive.Properties).toMatchObject({ SourceArn: existingBusArn, RetentionDays: 30, EventPattern: { source: ['reelay'] } });
  });

  it('puts the webhook rule on that bus, with the key from the existing secret and no secret of its own', () => {
    const [, rule] = resourcesOfType(byArn.json, 'AWS::Events::Rule').find(([, candidate]) => constructPathOf(candidate).includes('/Events/Webhook/')) ?? [];
    expect(rule?.Properties?.EventBusName).toBe('apps');
    const [, connection] = only(byArn.json, 'AWS::Events::Connection');
    expect(connection.Properties?.AuthParameters).toEqual({ ApiKeyAuthParameters: { ApiKeyName: webhookKeyHeader, ApiKeyValue: `{{resolve:secretsmanager:${existingKeyArn}:SecretString:::}}` } });
    expect(resourcesOfType(byArn.json, 'AWS::SecretsManager::Secret').filter(([, secret]) => constructPathOf(secret).includes('/Events/'))).toEqual([]);
    byArn.template.hasOutput('EventsWebhookKeySecretArn', { Value: existingKeyArn });
    byArn.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'FailedInvocations',
      Dimensions: [{ Name: 'EventBusName', Value: 'apps' }, { Name: 'RuleName', Value: Match.anyValue() }],
    });
  });
});

describe('events context validation', () => {
  const read = (context: Partial<Record<ContextKey, unknown>>) => readConfigFrom((key) => context[key]);

  it('archives a bus of the stack per stage, someone else’s only when asked', () => {
    expect(read({}).events).toEqual({ existingBus: undefined, archiveRetention: expect.anything(), webhook: undefined });
    expect(read({}).events.archiveRetention?.toDays()).toBe(7);
    expect(read({ stage: 'prod' }).events.archiveRetention?.toDays()).toBe(90);
    expect(read({ eventsArchiveDays: 14 }).events.archiveRetention?.toDays()).toBe(14);
    expect(read({ eventsArchive: 'false' }).events.archiveRetention).toBeUndefined();
    expect(read({ eventBusName: 'apps' }).events.archiveRetention).toBeUndefined();
    expect(read({ eventBusName: 'apps', eventsArchive: true }).events.archiveRetention?.toDays()).toBe(7);
    expect(() => read({ eventBusName: 'apps', eventsArchiveDays: '30' })).toThrow(/eventsArchiveDays.*off/);
    expect(() => read({ eventsArchiveDays: '0' })).toThrow(/eventsArchiveDays/);
    expect(() => read({ eventsArchiveDays: '1.5' })).toThrow(/whole days/);
  });

  it('accepts a bus name or an event bus ARN, nothing else', () => {
    expect(read({ eventBusName: existingBusArn }).events.existingBus).toBe(existingBusArn);
    expect(() => read({ eventBusName: 'my bus' })).toThrow(/eventBusName/);
    expect(() => read({ eventBusName: 'arn:aws:sqs:eu-west-1:123456789012:apps' })).toThrow(/eventBusName/);
  });

  it('refuses a webhook URL that is not https, or that carries credentials', () => {
    expect(read({ eventsWebhookUrl: webhookUrl }).events.webhook).toEqual({ url: webhookUrl, keySecretArn: undefined });
    expect(() => read({ eventsWebhookUrl: 'http://hooks.example.com/reelay' })).toThrow(/eventsWebhookUrl.*https only/);
    expect(() => read({ eventsWebhookUrl: 'hooks.example.com/reelay' })).toThrow(/eventsWebhookUrl.*not a URL/);
    expect(() => read({ eventsWebhookUrl: 'https://me:pw@hooks.example.com/' })).toThrow(/eventsWebhookUrl.*no user or password/);
    expect(() => read({ eventsWebhookUrl: 'https://hooks.example.com/*/x' })).toThrow(/eventsWebhookUrl/);
    expect(webhookUrlProblem('https://hooks.example.com/reelay?team=video')).toBeUndefined();
  });

  it('takes the key from an existing secret only with a webhook, and only a secret ARN', () => {
    expect(read({ eventsWebhookUrl: webhookUrl, eventsWebhookSecretArn: existingKeyArn }).events.webhook?.keySecretArn).toBe(existingKeyArn);
    expect(() => read({ eventsWebhookSecretArn: existingKeyArn })).toThrow(/eventsWebhookUrl/);
    expect(() => read({ eventsWebhookUrl: webhookUrl, eventsWebhookSecretArn: 'reelay/webhook-key' })).toThrow(/eventsWebhookSecretArn/);
  });

  it('refuses an http:// webhook in the construct too, and when synthesising the app', () => {
    const stack = new Stack(new App(), 'Events');
    expect(() => new ReelayEvents(stack, 'Events', { busName: 'reelay-test', webhook: { url: 'http://hooks.example.com/' } })).toThrow(/https only/);
    expect(() => synthesize({ eventsWebhookUrl: 'http://hooks.example.com/reelay' })).toThrow(/https only/);
  });
});
