/**
 * The safety-net alarms and the dashboard in the synthesised template, and that they read metrics the functions
 * really emit (infra/ cannot import shared/metrics.ts, so the names are compared here).
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { reconcileEvery } from '../../infra/constructs/functions.js';
import { dashboardMetricNames, metricsNamespace as infraNamespace } from '../../infra/constructs/reelay-metrics.js';
import { loadManifest } from '../../infra/manifest.js';
import { metricServices } from '../../infra/stack.js';
import { countMetrics, gaugeMetrics, metricsNamespace } from '../../shared/metrics.js';
import { resourcesOfType, synthesize, type Synthesized } from './support/synth.js';

/** The dashboard body with its `Fn::Join` of region references flattened to text (the references as `${Region}`). */
function dashboardBody(synth: Synthesized): { widgets: Array<{ type: string; properties: Record<string, unknown> }> } {
  const [[, dashboard] = []] = resourcesOfType(synth.json, 'AWS::CloudWatch::Dashboard');
  const body = dashboard?.Properties?.DashboardBody as { 'Fn::Join': [string, unknown[]] } | string;
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '${Region}')).join('');
  return JSON.parse(text) as { widgets: Array<{ type: string; properties: Record<string, unknown> }> };
}

describe('metrics in the stack', () => {
  let dev: Synthesized;
  let prod: Synthesized;
  beforeAll(() => {
    dev = synthesize();
    prod = synthesize({ stage: 'prod', alarmEmail: 'ops@example.com', corsOrigins: 'https://video.example.com' });
  });

  it('reads only metrics and functions that exist', () => {
    expect(infraNamespace).toBe(metricsNamespace);
    const emitted: readonly string[] = [...countMetrics, ...gaugeMetrics];
    for (const name of dashboardMetricNames) expect(emitted).toContain(name);
    // Every metric the functions emit is on the dashboard.
    expect([...dashboardMetricNames].sort()).toEqual([...emitted].sort());
    const functions = loadManifest().functions.map((fn) => fn.name);
    for (const service of Object.values(metricServices)) expect(functions).toContain(service);
  });

  it('alarms when deferred payloads are still pending after an hour of reconcile runs', () => {
    const runsPerHour = 3600 / reconcileEvery.toSeconds();
    expect(runsPerHour).toBe(4);
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Reelay',
      MetricName: 'DeferredPayloadsPending',
      Dimensions: [{ Name: 'Service', Value: 'reconcile' }],
      Statistic: 'Minimum',
      Period: reconcileEvery.toSeconds(),
      EvaluationPeriods: runsPerHour,
      DatapointsToAlarm: runsPerHour,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on the first fallback create (the deploy applied every migration before the uploads function)', () => {
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Reelay',
      MetricName: 'FallbackCreates',
      Dimensions: [{ Name: 'Service', Value: 'uploads' }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmDescription: Match.stringLikeRegexp('migration'),
    });
  });

  it('sends the safety-net alarms to the topic like the others (prod)', () => {
    const reelayAlarms = resourcesOfType(prod.json, 'AWS::CloudWatch::Alarm').filter(([, alarm]) => alarm.Properties?.Namespace === 'Reelay');
    expect(reelayAlarms.map(([, alarm]) => alarm.Properties?.MetricName).sort()).toEqual(['DeferredPayloadsPending', 'EventsUnacknowledged', 'FallbackCreates']);
    for (const [, alarm] of reelayAlarms) expect(alarm.Properties?.AlarmActions).toHaveLength(1);
  });

  it('has one dashboard with every metric (issue J’s events included) and the state of every alarm', () => {
    dev.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const { widgets } = dashboardBody(dev);
    const graphs = widgets.filter((widget) => widget.type === 'metric');
    const shown = JSON.stringify(graphs.map((widget) => widget.properties.metrics));
    for (const name of dashboardMetricNames) expect(shown, name).toContain(name);
    // Series with a closed extra dimension are searched, so every outcome and reason appears without a list.
    expect(shown).toContain(`SEARCH('{Reelay,Service,Outcome} MetricName=\\"IngestOutcomes\\"'`);
    expect(shown).toContain(`SEARCH('{Reelay,Service,Reason} MetricName=\\"DataApiRetries\\"'`);

    const alarmWidget = widgets.find((widget) => widget.type === 'alarm');
    const alarmCount = resourcesOfType(dev.json, 'AWS::CloudWatch::Alarm').length;
    expect((alarmWidget?.properties.alarms as unknown[] | undefined)?.length).toBe(alarmCount);
    // Events: published and deferred by any publisher (searched), republished and unacknowledged by reconcile's sweep.
    expect(shown).toContain(`SEARCH('{Reelay,Service} MetricName=\\"EventsPublished\\"'`);
    expect(shown).toContain(`SEARCH('{Reelay,Service,Reason} MetricName=\\"EventsDeferred\\"'`);
    expect(shown).toContain('"Reelay","EventsUnacknowledged","Service","reconcile"');
    // Without a webhook there is nothing to graph of its deliveries; the place says how to add one.
    const texts = widgets.filter((widget) => widget.type === 'text').map((widget) => String(widget.properties.markdown));
    expect(texts.some((markdown) => markdown.includes('eventsWebhookUrl'))).toBe(true);
    expect(shown).not.toContain('AWS/Events');
  });
});
