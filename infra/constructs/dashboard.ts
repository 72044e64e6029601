/**
 * One CloudWatch dashboard for the operator (docs/DEPLOY.md, Dashboard and alarms): the schema safety net (fallback
 * creates, deferred payloads written / restored / pending), Mux webhooks by result, ingest outcomes, Data API
 * retries and resumes, reconcile results, lifecycle events (published, deferred, republished, unacknowledged, and the
 * webhook's deliveries when there is one), and the state of every alarm. The graphs read the `Reelay` namespace the
 * functions write as EMF lines; series that differ by function or by a closed dimension (ingest `Outcome`, Data API
 * `Reason`) are SEARCH expressions, so a new function or reason shows up without a change here.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { reelayMetric, reelayMetricSearch, type MetricName } from './reelay-metrics.js';

export interface DashboardProps {
  /** The alarms whose state it shows; none (a dev stack without alarms) puts a note in their place. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  readonly services: { readonly uploads: string; readonly webhooks: string; readonly ingest: string; readonly reconcile: string };
  /** How often reconcile runs: the period of its graphs (one point per run). */
  readonly reconcileEvery: Duration;
  /** The events webhook's deliveries (ReelayEvents.deliveryMetrics). @default none: no webhook */
  readonly eventDeliveries?: readonly cloudwatch.IMetric[];
}

const width = 8;
const height = 6;

export class ReelayDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const { services } = props;
    const period = Duration.minutes(5);
    const sums = (service: string, names: readonly MetricName[], every: Duration = period) =>
      names.map((name) => reelayMetric(name, { service, statistic: 'Sum', period: every, label: name }));

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      // No dashboardName: CloudFormation makes a unique one per stack, so stages never collide.
      defaultInterval: Duration.days(1),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: '## reelay\nThe schema safety net, Mux webhooks, ingest, the Data API, reconcile and lifecycle events, from the `Reelay` namespace (EMF log lines). What each alarm means and what to do: docs/DEPLOY.md, *Dashboard and alarms*.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Fallback creates (schema behind)',
        left: sums(services.uploads, ['FallbackCreates']),
        width,
        height,
      }),
      new cloudwatch.GraphWidget({
        title: 'Deferred Mux payloads: written and restored',
        left: [
          reelayMetricSearch('DeferredPayloadsWritten', { period }),
          reelayMetric('DeferredPayloadsRestored', { service: services.reconcile, statistic: 'Sum', period: props.reconcileEvery, label: 'restored' }),
        ],
        width,
        height,
      }),
      new cloudwatch.GraphWidget({
        title: 'Deferred Mux payloads pending (after each reconcile run)',
        left: [reelayMetric('DeferredPayloadsPending', { service: services.reconcile, statistic: 'Maximum', period: props.reconcileEvery, label: 'pending' })],
        width,
        height,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Mux webhooks',
        left: sums(services.webhooks, ['WebhooksApplied', 'WebhooksIgnored', 'WebhooksDuplicate', 'WebhooksRejected', 'WebhooksUnknownAsset', 'WebhooksRefused']),
        width,
        height,
      }),
      new cloudwatch.GraphWidget({
        title: 'Ingest outcomes',
        left: [reelayMetricSearch('IngestOutcomes', { extra: 'Outcome', period })],
        width,
        height,
      }),
      new cloudwatch.GraphWidget({
        title: 'Data API retries, resumes, give-ups',
        left: [
          reelayMetricSearch('DataApiRetries', { extra: 'Reason', period }),
          reelayMetricSearch('DataApiResumes', { period }),
          reelayMetricSearch('DataApiRetriesExhausted', { extra: 'Reason', period }),
        ],
        width,
        height,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Reconcile results (per run)',
        left: sums(services.reconcile, ['ReconcileRecovered', 'ReconcileRefreshed', 'ReconcileCaptions', 'ReconcileRetried', 'ReconcileBackfilled', 'ReconcileStranded', 'ReconcileFailed'], props.reconcileEvery),
        width,
        height,
      }),
      new cloudwatch.GraphWidget({
        title: 'Events published (per function)',
        left: [reelayMetricSearch('EventsPublished', { period }), reelayMetricSearch('EventsPublishedDirectly', { period })],
        width,
        height,
      }),
      new cloudwatch.GraphWidget({
        title: 'Events deferred to the sweep, and republished',
        left: [
          // By Reason (publish_failed, acknowledge_failed), as the outbox counts them.
          reelayMetricSearch('EventsDeferred', { extra: 'Reason', period }),
          reelayMetric('EventsRepublished', { service: services.reconcile, statistic: 'Sum', period: props.reconcileEvery, label: 'republished' }),
        ],
        width,
        height,
      }),
    );
    const deliveries = props.eventDeliveries ?? [];
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Events unacknowledged (after each reconcile sweep)',
        left: [reelayMetric('EventsUnacknowledged', { service: services.reconcile, statistic: 'Maximum', period: props.reconcileEvery, label: 'unacknowledged' })],
        width,
        height,
      }),
      deliveries.length > 0
        ? new cloudwatch.GraphWidget({ title: 'Events webhook deliveries', left: [...deliveries], width, height })
        : new cloudwatch.TextWidget({
            markdown: '### Events webhook\nNo API destination on this stack (`-c eventsWebhookUrl=https://…` adds one; docs/DEPLOY.md, *Events*).',
            width,
            height,
          }),
      props.alarms.length > 0
        ? new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width, height })
        : new cloudwatch.TextWidget({
            markdown: '### Alarms\nNone on this stack: a dev stack has them with `-c alarmEmail=…` or `-c alarms=true` (docs/DEPLOY.md, *Dashboard and alarms*).',
            width,
            height,
          }),
    );
  }
}
