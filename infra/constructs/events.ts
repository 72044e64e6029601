/**
 * reelay's lifecycle events on Amazon EventBridge (issue J): the bus the publishing functions put them on, an archive
 * to replay them from, and optionally an API destination that forwards every one to an app's HTTPS endpoint.
 *
 * - The bus: `reelay-<stage>`, created by the stack, or an existing bus named by context (name or ARN), which reelay
 *   then only publishes to (plus its webhook rule): no archive on it unless asked, since an archive bills for
 *   storage and a replay re-delivers to every rule on that bus, both the bus owner's choice.
 * - The archive keeps events of source `reelay` only, for a retention per stage (infra/config.ts says why).
 * - Publishing: `grantPublish` gives one function `events:PutEvents` on this bus alone, only for entries of source
 *   `reelay` (the `events:source` condition), and EVENT_BUS_NAME (shared/events/config.ts).
 * - The webhook: a connection with an API key header (the key generated into a secret of the stack, or an existing
 *   secret), an API destination, a rule matching every `reelay` event, retried for 24 hours, then into an encrypted
 *   dead-letter queue; alarms on the rule's failed invocations, on events that could not reach the DLQ, and on DLQ
 *   depth (fed to Alarms, so they share its topic).
 */
import { Duration, RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AlarmSpec } from './alarms.js';

/** The `source` of every reelay event (shared/events/video-events.ts; test/infra/events.test.ts checks they agree). */
export const eventSource = 'reelay';
/** The header the API destination sends the key in; the receiver compares it with the secret's value. */
export const webhookKeyHeader = 'x-reelay-webhook-key';
/** EventBridge's most patient retry policy: a receiver may be down for a day without losing an event. */
export const webhookRetry = { retryAttempts: 185, maxEventAge: Duration.hours(24) } as const;

/** Why `url` cannot be the webhook's endpoint, or undefined when it can. */
export function webhookUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  // API destinations call HTTPS endpoints only, and the key header must never cross the network in clear.
  if (parsed.protocol !== 'https:') return 'https only';
  // The URL sits in the template in clear: credentials belong in the key header, which comes from a secret.
  if (parsed.username !== '' || parsed.password !== '') return 'no user or password in the URL; the key goes in a header';
  if (parsed.hash !== '') return 'no #fragment';
  // EventBridge reads `*` as a path parameter that the target would have to fill.
  if (url.includes('*')) return 'no * (EventBridge path parameters)';
  if (url.length > 2048) return 'at most 2048 characters';
  return undefined;
}

export interface EventsWebhookProps {
  /** The receiver's endpoint (checked with webhookUrlProblem). */
  readonly url: string;
  /** A secret whose SecretString is the API key. @default a 64-character key generated into a secret of the stack */
  readonly keySecretArn?: string;
  /**
   * Calls per second at most; events above it wait and are retried within the retry policy.
   * @default 20, gentle on a small app's endpoint
   */
  readonly rateLimitPerSecond?: number;
}

export interface ReelayEventsProps {
  /** The name of the bus the stack creates (unused with `existingBus`). */
  readonly busName: string;
  /** An existing bus, by name or ARN: the stack creates none. @default undefined, a bus of the stack */
  readonly existingBus?: string;
  /** How long the archive keeps events. @default 7 days on a bus of the stack; no archive on an existing bus */
  readonly archiveRetention?: Duration;
  /** Forward every reelay event to an HTTPS endpoint. @default none */
  readonly webhook?: EventsWebhookProps;
  /** For the bus, its archive, the key secret and the DLQ. @default RETAIN: the archive is data */
  readonly removalPolicy?: RemovalPolicy;
}

export interface EventsWebhook {
  readonly keySecret: secretsmanager.ISecret;
  /** False when the key secret came from context. */
  readonly keyCreatedByStack: boolean;
  readonly connection: events.Connection;
  readonly destination: events.ApiDestination;
  readonly rule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
}

export class ReelayEvents extends Construct {
  readonly bus: events.IEventBus;
  /** False when the bus came from context. */
  readonly createdByStack: boolean;
  /** EVENT_BUS_NAME of the publishing functions: the bus's name, or the ARN it was given by. */
  readonly busReference: string;
  readonly archive: events.Archive | undefined;
  readonly webhook: EventsWebhook | undefined;
  /** Alarms for Alarms to create (and send to its topic). */
  readonly alarmSpecs: readonly AlarmSpec[];
  /** Graphs of the webhook's deliveries, for the dashboard; empty without a webhook. */
  readonly deliveryMetrics: readonly cloudwatch.IMetric[];

  constructor(scope: Construct, id: string, props: ReelayEventsProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    if (props.existingBus) {
      this.createdByStack = false;
      this.bus = props.existingBus.startsWith('arn:')
        ? events.EventBus.fromEventBusArn(this, 'Bus', props.existingBus)
        : events.EventBus.fromEventBusName(this, 'Bus', props.existingBus);
      this.busReference = props.existingBus;
    } else {
      this.createdByStack = true;
      const bus = new events.EventBus(this, 'Bus', {
        eventBusName: props.busName,
        description: 'reelay: video lifecycle events (source reelay)',
      });
      bus.applyRemovalPolicy(removalPolicy);
      this.bus = bus;
      this.busReference = bus.eventBusName;
    }

    const archiveRetention = props.archiveRetention ?? (this.createdByStack ? Duration.days(7) : undefined);
    this.archive = archiveRetention
      ? new events.Archive(this, 'Archive', {
          sourceEventBus: this.bus,
          description: `reelay: every reelay event, kept ${archiveRetention.toDays()} days for replay`,
          eventPattern: { source: [eventSource] },
          retention: archiveRetention,
        })
      : undefined;
    this.archive?.applyRemovalPolicy(removalPolicy);

    this.webhook = props.webhook ? this.createWebhook(props.webhook, removalPolicy) : undefined;
    this.alarmSpecs = this.webhook ? webhookAlarms(this.webhook, this.bus) : [];
    this.deliveryMetrics = this.webhook
      ? [
          ruleMetric('Invocations', this.webhook.rule, this.bus, 'delivered or tried'),
          ruleMetric('FailedInvocations', this.webhook.rule, this.bus, 'failed for good'),
          this.webhook.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum', label: 'in the DLQ' }),
        ]
      : [];
  }

  /** `events:PutEvents` on this bus, for entries of source `reelay` only, and EVENT_BUS_NAME. */
  grantPublish(fn: lambda.Function): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: { StringEquals: { 'events:source': eventSource } },
      }),
    );
    fn.addEnvironment('EVENT_BUS_NAME', this.busReference);
  }

  private createWebhook(props: EventsWebhookProps, removalPolicy: RemovalPolicy): EventsWebhook {
    const problem = webhookUrlProblem(props.url);
    if (problem) throw new Error(`the events webhook URL ${JSON.stringify(props.url)} is refused: ${problem}`);
    const scope = new Construct(this, 'Webhook');

    let keySecret: secretsmanager.ISecret;
    if (props.keySecretArn) {
      const complete = /-[A-Za-z0-9]{6}$/.test(props.keySecretArn);
      keySecret = secretsmanager.Secret.fromSecretAttributes(scope, 'Key', complete ? { secretCompleteArn: props.keySecretArn } : { secretPartialArn: props.keySecretArn });
    } else {
      // Letters and digits only: the value travels as an HTTP header, and 64 of them are ~380 bits.
      const generated = new secretsmanager.Secret(scope, 'Key', {
        description: `reelay: the API key the events webhook sends in ${webhookKeyHeader}`,
        generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
        removalPolicy,
      });
      Validations.of(generated).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The webhook key is shared with the receiving app and copied into the EventBridge connection at deploy time; a rotation must ' +
          'change both in step, so operators rotate it by hand (docs/DEPLOY.md, Events).',
      });
      keySecret = generated;
    }

    // The connection keeps its own copy in an EventBridge-managed secret (events!connection/…); the key's secret
    // is read by CloudFormation only, when the connection is created or updated.
    const connection = new events.Connection(scope, 'Connection', {
      description: 'reelay: the events webhook (API key header)',
      authorization: events.Authorization.apiKey(webhookKeyHeader, SecretValue.secretsManager(keySecret.secretArn)),
    });
    const destination = new events.ApiDestination(scope, 'Destination', {
      description: 'reelay: every reelay event, POSTed as its EventBridge envelope',
      connection,
      endpoint: props.url,
      httpMethod: events.HttpMethod.POST,
      rateLimitPerSecond: props.rateLimitPerSecond ?? 20,
    });
    const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
      // SSE-SQS: EventBridge can write to it without a key policy (a KMS key costs more than the idle stack).
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    Validations.of(deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue of the events webhook rule target (an EventBridge target DLQ, which cdk-nag does not recognise ' +
        'as a redrive); what lands here is re-sent by an operator (docs/DEPLOY.md, Events).',
    });
    const rule = new events.Rule(scope, 'Rule', {
      eventBus: this.bus,
      description: 'reelay: forwards every reelay event to the webhook',
      eventPattern: { source: [eventSource] },
      targets: [new targets.ApiDestination(destination, { deadLetterQueue, ...webhookRetry })],
    });
    return { keySecret, keyCreatedByStack: !props.keySecretArn, connection, destination, rule, deadLetterQueue };
  }
}

/** A rule's metric in AWS/Events: rules on a custom bus carry EventBusName beside RuleName, the default bus's don't. */
function ruleMetric(
  name: 'Invocations' | 'FailedInvocations' | 'InvocationsFailedToBeSentToDlq',
  rule: events.IRule,
  bus: events.IEventBus,
  label?: string,
): cloudwatch.Metric {
  // A created bus's name is a token, never the literal `default`.
  const onDefaultBus = bus.eventBusName === 'default';
  return new cloudwatch.Metric({
    namespace: 'AWS/Events',
    metricName: name,
    dimensionsMap: onDefaultBus ? { RuleName: rule.ruleName } : { EventBusName: bus.eventBusName, RuleName: rule.ruleName },
    statistic: 'Sum',
    period: Duration.minutes(5),
    ...(label ? { label } : {}),
  });
}

function webhookAlarms(webhook: EventsWebhook, bus: events.IEventBus): AlarmSpec[] {
  return [
    {
      id: 'EventsWebhookFailedInvocations',
      metric: ruleMetric('FailedInvocations', webhook.rule, bus),
      alarmDescription: 'The events webhook failed for good for some event (a 4xx, or 24 hours of retries): it went to the webhook DLQ (see docs/DEPLOY.md, Events).',
    },
    {
      id: 'EventsWebhookDlqFailed',
      metric: ruleMetric('InvocationsFailedToBeSentToDlq', webhook.rule, bus),
      alarmDescription: 'An event the webhook could not deliver could not be put in its DLQ either: only the archive still has it (see docs/DEPLOY.md, Events).',
    },
    {
      id: 'EventsWebhookDeadLetterQueueDepth',
      metric: webhook.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      alarmDescription: 'Events the webhook could not deliver wait in its dead-letter queue (see docs/DEPLOY.md, Events).',
    },
  ];
}
