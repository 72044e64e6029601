/**
 * The `Reelay` namespace as the stack reads it: the metrics the functions write as EMF lines (shared/metrics.ts),
 * with the `Service` dimension that is reelay's name of the function (functions/routes.json), not the Lambda name
 * CloudFormation generates, so alarms and graphs need no reference to the function resources.
 *
 * infra/ never imports runtime code, so the names are written out here; test/infra/metrics.test.ts checks that each
 * one is a metric (and dimension) that shared/metrics.ts emits.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

export const metricsNamespace = 'Reelay';

/** The metrics the alarms and the dashboard read. */
export const dashboardMetricNames = [
  'FallbackCreates',
  'DeferredPayloadsWritten',
  'DeferredPayloadsRestored',
  'DeferredPayloadsPending',
  'WebhooksApplied',
  'WebhooksIgnored',
  'WebhooksDuplicate',
  'WebhooksRejected',
  'WebhooksUnknownAsset',
  'WebhooksRefused',
  'IngestOutcomes',
  'DataApiRetries',
  'DataApiResumes',
  'DataApiRetriesExhausted',
  'ReconcileRecovered',
  'ReconcileRefreshed',
  'ReconcileCaptions',
  'ReconcileRetried',
  'ReconcileBackfilled',
  'ReconcileStranded',
  'ReconcileFailed',
  'EventsPublished',
  'EventsDeferred',
  'EventsRepublished',
  'EventsPublishedDirectly',
  'EventsUnacknowledged',
] as const;
export type MetricName = (typeof dashboardMetricNames)[number];
export type DimensionName = 'Outcome' | 'Reason';

export interface ReelayMetricOptions {
  readonly service: string;
  readonly statistic?: 'Sum' | 'Maximum' | 'Minimum' | 'Average' | 'SampleCount';
  readonly period?: Duration;
  readonly dimensions?: Partial<Record<DimensionName, string>>;
  readonly label?: string;
}

export function reelayMetric(name: MetricName, options: ReelayMetricOptions): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: metricsNamespace,
    metricName: name,
    dimensionsMap: { Service: options.service, ...options.dimensions },
    statistic: options.statistic ?? 'Sum',
    period: options.period ?? Duration.minutes(5),
    ...(options.label ? { label: options.label } : {}),
  });
}

/**
 * Every series of a metric whatever its `Service` (and `extra` dimension): a SEARCH expression, so a graph shows
 * the functions that emitted it without listing them. Graphs only: alarms cannot use SEARCH.
 */
export function reelayMetricSearch(name: MetricName, options: { readonly extra?: DimensionName; readonly statistic?: string; readonly period?: Duration } = {}): cloudwatch.MathExpression {
  const period = options.period ?? Duration.minutes(5);
  const dimensions = ['Service', ...(options.extra ? [options.extra] : [])];
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${[metricsNamespace, ...dimensions].join(',')}} MetricName="${name}"', '${options.statistic ?? 'Sum'}', ${period.toSeconds()})`,
    // A dynamic label per series: the metric and its dimension values, e.g. "DataApiRetries uploads resuming".
    label: [name, ...dimensions.map((dimension) => `\${PROP('Dim.${dimension}')}`)].join(' '),
    period,
    usingMetrics: {},
  });
}
