/**
 * The alarms an operator needs first: a message in the ingest dead-letter queue (an upload that will never reach
 * Mux without help), any Lambda error or throttle, and any 5xx from the API. All alarm on the first occurrence:
 * at reelay's volume one failure is already worth a look. An SNS topic with an e-mail subscription is added when
 * `-c alarmEmail=…` is given.
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

export interface AlarmsProps {
  readonly functions: ReadonlyMap<string, lambda.IFunction>;
  readonly deadLetterQueue: sqs.IQueue;
  readonly apiStage: apigwv2.IHttpStage;
  readonly alarmEmail: string | undefined;
}

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

  private add(id: string, options: { metric: cloudwatch.IMetric; alarmDescription: string }): void {
    this.alarms.push(
      new cloudwatch.Alarm(this, id, {
        metric: options.metric,
        alarmDescription: options.alarmDescription,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
