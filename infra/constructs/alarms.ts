/**
 * The alarms an operator needs first: a message in the ingest dead-letter queue (an upload that will never reach
 * Mux without help), any Lambda error or throttle, and any 5xx from the API. All alarm on the first occurrence:
 * at reelay's volume one failure is already worth a look. An SNS topic with an e-mail subscription is added when
 * `-c alarmEmail=…` is given. The stack creates this construct on prod always, on dev only with alarmEmail or
 * `-c alarms=true` (infra/monitoring-config.ts).
 *
 * Two more watch the schema safety net, from the functions' EMF metrics (reelay-metrics.ts):
 * - `DeferredPayloadsPending`: Mux data deferred while columns were missing has waited for over an hour — every
 *   reconcile run of four consecutive quarter hours (its schedule) still saw some left after restoring.
 * - `FallbackAfterMigration`: a create fell back to the basic columns. On a deployed stack that only happens after
 *   the latest migration was applied: the migration trigger applies every migration before the functions that write
 *   videos are updated (`executeBefore`, stack.ts), so the code that falls back always runs on a schema its own
 *   migrations were applied to. A fallback there means the live schema disagrees with the ledger (a restored
 *   snapshot, a column dropped by hand, a role that cannot see a column: information_schema shows only the columns a
 *   role holds privileges on). This costs nothing at run time — no ledger read (the application role has no grant
 *   on the ledger, by design), no extra Data API call — where a per-create ledger check would cost a call.
 *
 * And one the event outbox (issue J): `EventsUnacknowledged`, events still unpublished after two consecutive reconcile
 * sweeps (the gauge reconcile emits after republishing what it could): a bus that refuses them, or a grant gone. The
 * events are not lost (the outbox keeps them), only late. The events construct adds its webhook's alarms through
 * `more`, so they reach the same topic.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { reelayMetric } from './reelay-metrics.js';

export interface AlarmsProps {
  readonly functions: ReadonlyMap<string, lambda.IFunction>;
  readonly deadLetterQueue: sqs.IQueue;
  readonly apiStage: apigwv2.IHttpStage;
  readonly alarmEmail: string | undefined;
  /** The function that runs reconcile (its `Service` name) and how often it runs. */
  readonly reconcile: { readonly service: string; readonly every: Duration };
  /** The function that creates videos (`Service` of FallbackCreates). */
  readonly uploadsService: string;
  /** Alarms of other constructs (the events webhook), made and notified like these. @default none */
  readonly more?: readonly AlarmSpec[];
}

/** An alarm on `metric` above 0. */
export interface AlarmSpec {
  /** The alarm's construct id (and the start of its name). */
  readonly id: string;
  readonly metric: cloudwatch.IMetric;
  readonly alarmDescription: string;
  /** Consecutive periods above the threshold. Default 1: the first occurrence. */
  readonly evaluationPeriods?: number;
}

/** Consecutive reconcile sweeps that must leave events unpublished before EventsUnacknowledged alarms. */
export const unacknowledgedRuns = 2;

export class Alarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly topic: sns.Topic | undefined;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);

    this.add('DeadLetterQueueDepth', {
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      alarmDescription: 'An upload event failed ingest repeatedly and sits in the dead-letter queue (see docs/DEPLOY.md).',
    });
    for (const [name, fn] of props.functions) {
      this.add(`${name}Errors`, {
        metric: fn.metricErrors({ period, statistic: 'Sum' }),
        alarmDescription: `The ${name} function threw or timed out.`,
      });
      this.add(`${name}Throttles`, {
        metric: fn.metricThrottles({ period, statistic: 'Sum' }),
        alarmDescription: `The ${name} function was throttled (account concurrency or its reserved concurrency).`,
      });
    }
    this.add('Api5xx', {
      metric: props.apiStage.metricServerError({ period, statistic: 'Sum' }),
      alarmDescription: 'The HTTP API answered 5xx: a handler fault or an integration failure.',
    });

    // One period per reconcile run; the minimum over it is what the emptiest run saw. An hour of runs that each left
    // payloads behind alarms. No data (no run, or a run that stopped before looking) is not breaching: the reconcile
    // function's Errors alarm covers a run that failed.
    const runsPerHour = Math.max(1, Math.ceil(Duration.hours(1).toSeconds() / props.reconcile.every.toSeconds()));
    this.add('DeferredPayloadsPending', {
      metric: reelayMetric('DeferredPayloadsPending', { service: props.reconcile.service, statistic: 'Minimum', period: props.reconcile.every }),
      evaluationPeriods: runsPerHour,
      alarmDescription: 'Deferred Mux payloads have been pending for over an hour: reconcile could not restore them (see docs/DEPLOY.md, Alarms).',
    });
    this.add('FallbackAfterMigration', {
      metric: reelayMetric('FallbackCreates', { service: props.uploadsService, statistic: 'Sum', period }),
      alarmDescription: 'A video was created without its Mux columns although the deploy applied every migration: the schema drifted (see docs/DEPLOY.md, Alarms).',
    });
    // Two runs, not one: an event committed during a sweep may still be on its way from its own function.
    this.add('EventsUnacknowledged', {
      metric: reelayMetric('EventsUnacknowledged', { service: props.reconcile.service, statistic: 'Minimum', period: props.reconcile.every }),
      evaluationPeriods: unacknowledgedRuns,
      alarmDescription: 'Lifecycle events stayed unpublished through two reconcile sweeps: EventBridge refused them (see docs/DEPLOY.md, Events). They wait in the outbox.',
    });
    for (const spec of props.more ?? []) this.add(spec.id, spec);

    if (props.alarmEmail) {
      const topic = new sns.Topic(this, 'Topic', { displayName: 'reelay alarms', enforceSSL: true });
      topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      // Not KMS-encrypted: alarm notifications carry only alarm names and states, and CloudWatch cannot publish to a
      // topic encrypted with the AWS-managed SNS key (a customer-managed key costs more than the idle stack).
      const action = new actions.SnsAction(topic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
      this.topic = topic;
    }
  }

  private add(id: string, options: Omit<AlarmSpec, 'id'>): void {
    const evaluationPeriods = options.evaluationPeriods ?? 1;
    this.alarms.push(
      new cloudwatch.Alarm(this, id, {
        metric: options.metric,
        alarmDescription: options.alarmDescription,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods,
        datapointsToAlarm: evaluationPeriods,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
