/**
 * Metrics for operators, as CloudWatch Embedded Metric Format (EMF): each data point is one JSON log line, written by
 * reelay's own logger (log.ts), that CloudWatch Logs turns into a metric in the `Reelay` namespace — no PutMetricData
 * call, no extra package at cold start (docs/ARCHITECTURE.md says why not Powertools Metrics).
 *
 * The format (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
 *
 *   {"_aws":{"Timestamp":1764743000000,"CloudWatchMetrics":[{"Namespace":"Reelay","Dimensions":[["Service"]],
 *     "Metrics":[{"Name":"FallbackCreates","Unit":"Count"}]}]},"Service":"uploads","FallbackCreates":1,"videoId":"…"}
 *
 * Dimensions are few and fixed: `Service` (reelay's name of the function: `uploads`, `ingest`, …) on every point, and
 * for a few metrics one more from a closed set (`Outcome`, `Reason`). Anything with many values (video ids, asset
 * ids) goes in as a plain property: searchable in Logs Insights, never a dimension (each dimension value is a metric
 * CloudWatch bills for).
 *
 * One line per data point, written when the fact is known: nothing is buffered, so nothing is lost when an invocation
 * times out or a container is frozen, and there is no flush to forget. At reelay's volume the extra lines cost less
 * than a buffer's bookkeeping.
 */
import type { LogFields, Logger } from './log.js';

export const metricsNamespace = 'Reelay';

/** Counters: how often something happened (CloudWatch `Sum` per period). */
export const countMetrics = [
  /** A video row written without its Mux columns (the schema is behind). VideoDB.createWithFallback. */
  'FallbackCreates',
  /** Mux fields the schema could not hold, deferred (kept in `deferred_mux_data`, or only logged before it exists). */
  'DeferredPayloadsWritten',
  /** Deferred payloads restored into the columns by reconcile. */
  'DeferredPayloadsRestored',
  /** Mux webhooks by what they did (mux-webhook function). */
  'WebhooksApplied',
  'WebhooksIgnored',
  'WebhooksDuplicate',
  'WebhooksRejected',
  /** Events about an asset bound to no reelay video (`not_owned`: another account's asset, a forged tag, …). */
  'WebhooksUnknownAsset',
  /** Bodies whose signature did not verify (answered 401). */
  'WebhooksRefused',
  /** Ingest of one S3 object, by `Outcome` (created, adopted, skipped, retry, rejected, error). */
  'IngestOutcomes',
  /** A Data API call waited and tried again, by `Reason` (resuming, throttled, unavailable, timeout). */
  'DataApiRetries',
  /** A Data API call that succeeded after waiting for the cluster to resume from 0 ACU. */
  'DataApiResumes',
  /** A Data API call given up after its retries, by `Reason`. */
  'DataApiRetriesExhausted',
  /** Reconcile results per run (the summary of shared/videos/reconcile-service.ts). */
  'ReconcileRecovered',
  /** `processing` videos whose asset was re-read from Mux and had moved on (webhooks that never came). */
  'ReconcileRefreshed',
  'ReconcileCaptions',
  'ReconcileRetried',
  'ReconcileBackfilled',
  /** `awaiting_upload` videos found uploaded in S3 (a lost S3 event) and ingested. */
  'ReconcileStranded',
  'ReconcileFailed',
  /** Lifecycle events put on the bus by the function that made the change (shared/events/outbox.ts). */
  'EventsPublished',
  /** Events whose publish failed (after retries) or was cut short: left unacknowledged for reconcile's sweep. */
  'EventsDeferred',
  /** Events reconcile's sweep put on the bus (a crash or a failed publish left them). */
  'EventsRepublished',
  /** Events published directly, best effort, on a schema without the outbox (before migration 0006). */
  'EventsPublishedDirectly',
] as const;

/** Gauges: a level observed at one moment (CloudWatch `Maximum` per period). */
export const gaugeMetrics = [
  /** Deferred payloads still waiting after a reconcile run restored what it could (emitted by every run that looks). */
  'DeferredPayloadsPending',
  /** Events still unpublished after a reconcile sweep (emitted by every run that sweeps events). */
  'EventsUnacknowledged',
] as const;

export type CountMetric = (typeof countMetrics)[number];
export type GaugeMetric = (typeof gaugeMetrics)[number];
export type MetricName = CountMetric | GaugeMetric;

/** The dimensions besides `Service`; each takes its values from a closed set chosen by the code, never from input. */
export type DimensionName = 'Outcome' | 'Reason';

export interface MetricOptions {
  readonly dimensions?: Partial<Record<DimensionName, string>>;
  /** Plain members of the line (ids, counts): searchable, not dimensions. */
  readonly properties?: LogFields;
}

export interface Metrics {
  /** Adds `value` (default 1) to a counter. */
  count(name: CountMetric, value?: number, options?: MetricOptions): void;
  /** Records the current level of a gauge. */
  gauge(name: GaugeMetric, value: number, options?: MetricOptions): void;
}

/** The EMF unit of each metric: all are counts of things (CloudWatch's `Count`). */
export type MetricUnit = 'Count';

export interface EmfDirective {
  readonly Namespace: string;
  readonly Dimensions: string[][];
  readonly Metrics: { readonly Name: string; readonly Unit: MetricUnit }[];
}

export interface EmfDocument extends LogFields {
  readonly _aws: { readonly Timestamp: number; readonly CloudWatchMetrics: EmfDirective[] };
}

/** The EMF document of one data point: the directive, then properties, dimension values and the value on top. */
export function emfDocument(
  point: { readonly service: string; readonly name: MetricName; readonly value: number; readonly timestamp: number } & MetricOptions,
): EmfDocument {
  const dimensions: Record<string, string> = { Service: point.service };
  for (const [name, value] of Object.entries(point.dimensions ?? {})) if (value !== undefined) dimensions[name] = value;
  return {
    ...point.properties,
    _aws: {
      Timestamp: point.timestamp,
      CloudWatchMetrics: [{ Namespace: metricsNamespace, Dimensions: [Object.keys(dimensions)], Metrics: [{ Name: point.name, Unit: 'Count' }] }],
    },
    ...dimensions,
    [point.name]: point.value,
  };
}

export interface EmfMetricsOptions {
  /** The `Service` dimension: reelay's name of the function. */
  readonly service: string;
  /** Writes the document as one log line at any log level (Logger.metric). */
  readonly logger: Pick<Logger, 'metric'>;
  readonly now?: () => number;
}

/** Metrics as EMF lines through the function's logger. */
export function emfMetrics(options: EmfMetricsOptions): Metrics {
  const now = options.now ?? Date.now;
  const emit = (name: MetricName, value: number, extra: MetricOptions = {}) => {
    // A NaN or infinite value would make CloudWatch reject the whole line; a bug upstream should cost the point only.
    if (!Number.isFinite(value)) return;
    options.logger.metric(emfDocument({ service: options.service, name, value, timestamp: now(), ...extra }));
  };
  return { count: (name, value = 1, extra) => emit(name, value, extra), gauge: (name, value, extra) => emit(name, value, extra) };
}

/** Records nothing: the default of every service that accepts metrics. */
export const noMetrics: Metrics = { count: () => {}, gauge: () => {} };
