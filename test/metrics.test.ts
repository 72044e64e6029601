/**
 * The EMF line format (shared/metrics.ts through shared/log.ts), checked against the rules of the specification
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
 * and the local stack's reading of those lines (local/stack/metrics.ts).
 */
import { describe, expect, it } from 'vitest';
import { runInvocation } from '../shared/invocation.js';
import { createLogger, type LogFields } from '../shared/log.js';
import { countMetrics, emfMetrics, gaugeMetrics, metricsNamespace, noMetrics } from '../shared/metrics.js';
import { MetricsRecorder, recordingLogger } from '../local/stack/metrics.js';

/** A logger at `level` whose lines are kept as written (strings), for checking them as CloudWatch reads them. */
function capture(level: 'debug' | 'info' | 'warn' | 'error' = 'info') {
  const lines: string[] = [];
  const logger = createLogger({ level, sink: (line) => lines.push(line) }).child({ function: 'uploads' });
  return { lines, logger, documents: () => lines.map((line) => JSON.parse(line) as LogFields) };
}

/** What the specification requires of a document, as a list of violations (empty when it is valid EMF). */
function emfViolations(document: LogFields): string[] {
  const problems: string[] = [];
  const aws = document._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
  if (typeof aws !== 'object' || aws === null) return ['no _aws object'];
  if (typeof aws.Timestamp !== 'number' || !Number.isInteger(aws.Timestamp)) problems.push('Timestamp is not integer ms');
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0) return [...problems, 'no CloudWatchMetrics'];
  for (const directive of aws.CloudWatchMetrics as Array<{ Namespace?: unknown; Dimensions?: unknown; Metrics?: unknown }>) {
    if (typeof directive.Namespace !== 'string' || directive.Namespace.length === 0) problems.push('Namespace');
    if (!Array.isArray(directive.Dimensions)) problems.push('Dimensions is not an array of arrays');
    for (const set of (directive.Dimensions as unknown[][] | undefined) ?? []) {
      if (!Array.isArray(set) || set.length > 30) problems.push('a dimension set is not an array of at most 30 names');
      for (const name of set) if (typeof document[name as string] !== 'string') problems.push(`dimension ${String(name)} has no string member`);
    }
    const metrics = directive.Metrics as Array<{ Name?: unknown; Unit?: unknown }> | undefined;
    if (!Array.isArray(metrics) || metrics.length > 100) problems.push('Metrics');
    for (const metric of metrics ?? []) {
      if (typeof metric.Name !== 'string') problems.push('a metric has no Name');
      else if (typeof document[metric.Name] !== 'number') problems.push(`${metric.Name} has no number member`);
      if (metric.Unit !== undefined && metric.Unit !== 'Count') problems.push(`unexpected unit ${String(metric.Unit)}`);
    }
  }
  return problems;
}

describe('EMF lines', () => {
  it('writes one valid EMF document per data point: namespace, Service dimension, unit, ms timestamp, value on top', () => {
    const { logger, lines, documents } = capture();
    const metrics = emfMetrics({ service: 'uploads', logger, now: () => 1_764_743_000_123 });
    metrics.count('FallbackCreates', 1, { properties: { videoId: '7d3c7c3e-0000-4000-8000-000000000001', missingColumns: ['mux_asset_id'] } });
    expect(lines).toHaveLength(1);
    const [document] = documents();
    expect(emfViolations(document!)).toEqual([]);
    expect(document).toMatchObject({
      _aws: {
        Timestamp: 1_764_743_000_123,
        CloudWatchMetrics: [{ Namespace: 'Reelay', Dimensions: [['Service']], Metrics: [{ Name: 'FallbackCreates', Unit: 'Count' }] }],
      },
      Service: 'uploads',
      FallbackCreates: 1,
      // Ids are plain members, never dimensions.
      videoId: '7d3c7c3e-0000-4000-8000-000000000001',
      missingColumns: ['mux_asset_id'],
      // It is an ordinary reelay log line too.
      level: 'info',
      event: 'metric',
      function: 'uploads',
    });
    expect(metricsNamespace).toBe('Reelay');
  });

  it('adds the one extra dimension to the same set, and keeps the video id out of every set', () => {
    const { logger, documents } = capture();
    const metrics = emfMetrics({ service: 'ingest', logger });
    metrics.count('IngestOutcomes', 1, { dimensions: { Outcome: 'created' }, properties: { videoId: 'v-1', messageId: 'm-1' } });
    metrics.gauge('DeferredPayloadsPending', 3);
    const [ingest, pending] = documents();
    expect(emfViolations(ingest!)).toEqual([]);
    expect(ingest).toMatchObject({ Service: 'ingest', Outcome: 'created', IngestOutcomes: 1 });
    const directive = (ingest!._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> }).CloudWatchMetrics[0]!;
    expect(directive.Dimensions).toEqual([['Service', 'Outcome']]);
    expect(directive.Dimensions.flat()).not.toContain('videoId');
    expect(pending).toMatchObject({ DeferredPayloadsPending: 3, Service: 'ingest' });
    expect(emfViolations(pending!)).toEqual([]);
  });

  it('properties cannot overwrite the value, a dimension or the directive', () => {
    const { logger, documents } = capture();
    emfMetrics({ service: 'uploads', logger }).count('FallbackCreates', 2, { properties: { FallbackCreates: 'x', Service: 'forged', _aws: 'nope' } });
    const [document] = documents();
    expect(emfViolations(document!)).toEqual([]);
    expect(document).toMatchObject({ FallbackCreates: 2, Service: 'uploads' });
  });

  it('is written at every log level, with the invocation’s request id', async () => {
    const { logger, lines, documents } = capture('error');
    const metrics = emfMetrics({ service: 'uploads', logger });
    logger.info('dropped.at.error');
    await runInvocation({ requestId: 'req-1', coldStart: true, xrayTraceId: undefined, remainingMs: undefined }, async () => {
      metrics.count('WebhooksApplied');
    });
    expect(lines).toHaveLength(1);
    expect(documents()[0]).toMatchObject({ requestId: 'req-1', coldStart: true, WebhooksApplied: 1 });
  });

  it('drops a non-finite value instead of writing a line CloudWatch would reject', () => {
    const { logger, lines } = capture();
    const metrics = emfMetrics({ service: 'reconcile', logger });
    metrics.gauge('DeferredPayloadsPending', Number.NaN);
    metrics.count('ReconcileFailed', Number.POSITIVE_INFINITY);
    expect(lines).toEqual([]);
    noMetrics.count('FallbackCreates');
  });

  it('names every metric once, counters and gauges apart', () => {
    const names = [...countMetrics, ...gaugeMetrics];
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[A-Z][A-Za-z]+$/);
  });
});

describe('the local stack’s totals (GET /_local/metrics)', () => {
  it('adds up the documents the functions log, per namespace, metric and dimension set', () => {
    const recorder = new MetricsRecorder();
    const { logger, lines } = capture();
    const recording = recordingLogger(logger, recorder);
    // As the local stack hands it to a function: a child, through which functionMetrics writes.
    const uploads = emfMetrics({ service: 'uploads', logger: recording.child({ function: 'uploads' }), now: () => 1_000 });
    const ingest = emfMetrics({ service: 'ingest', logger: recording, now: () => 2_000 });
    uploads.count('FallbackCreates');
    uploads.count('FallbackCreates', 2);
    ingest.count('IngestOutcomes', 1, { dimensions: { Outcome: 'created' } });
    ingest.count('IngestOutcomes', 1, { dimensions: { Outcome: 'retry' } });
    ingest.gauge('DeferredPayloadsPending', 4);
    ingest.gauge('DeferredPayloadsPending', 1);
    // The lines still reach the log as they would in Lambda.
    expect(lines).toHaveLength(6);
    const { metrics, invalidLines } = recorder.snapshot();
    expect(invalidLines).toBe(0);
    expect(metrics).toEqual([
      { namespace: 'Reelay', metric: 'DeferredPayloadsPending', unit: 'Count', dimensions: { Service: 'ingest' }, sum: 5, sampleCount: 2, min: 1, max: 4, last: 1, lastAt: new Date(2_000).toISOString() },
      { namespace: 'Reelay', metric: 'FallbackCreates', unit: 'Count', dimensions: { Service: 'uploads' }, sum: 3, sampleCount: 2, min: 1, max: 2, last: 2, lastAt: new Date(1_000).toISOString() },
      { namespace: 'Reelay', metric: 'IngestOutcomes', unit: 'Count', dimensions: { Outcome: 'created', Service: 'ingest' }, sum: 1, sampleCount: 1, min: 1, max: 1, last: 1, lastAt: new Date(2_000).toISOString() },
      { namespace: 'Reelay', metric: 'IngestOutcomes', unit: 'Count', dimensions: { Outcome: 'retry', Service: 'ingest' }, sum: 1, sampleCount: 1, min: 1, max: 1, last: 1, lastAt: new Date(2_000).toISOString() },
    ]);
  });

  it('reads EMF as CloudWatch does: invalid documents are counted and skipped, a set without its values is skipped', () => {
    const recorder = new MetricsRecorder();
    recorder.record({ _aws: { Timestamp: 'soon', CloudWatchMetrics: [] } });
    recorder.record({ _aws: { Timestamp: 1, CloudWatchMetrics: [{ Namespace: 'Reelay', Dimensions: [['Service']], Metrics: [{ Name: 'FallbackCreates' }] }] }, FallbackCreates: 1 });
    recorder.record({ _aws: { Timestamp: 1, CloudWatchMetrics: [{ Namespace: 'Other', Dimensions: [[]], Metrics: [{ Name: 'Values', Unit: 'Count' }] }] }, Values: [1, 2, 3] });
    const snapshot = recorder.snapshot();
    expect(snapshot.invalidLines).toBe(1);
    expect(snapshot.metrics).toEqual([expect.objectContaining({ namespace: 'Other', metric: 'Values', dimensions: {}, sum: 6, sampleCount: 3 })]);
  });
});
