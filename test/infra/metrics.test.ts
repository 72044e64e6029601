/**
 * The safety-net alarms and the dashboard in the synthesised template, and that they read metrics the functions
 * really emit (infra/ cannot import shared/metrics.ts, so the names are compared here); which stacks have them
 * (infra/monitoring-config.ts: prod always, dev only when someone is told or asks).
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { readConfigFrom, type ContextKey } from '../../infra/config.js';
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
  let prod: Synthesized;
  beforeAll(() => {
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
    prod.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
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
    prod.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
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

  it('has one dashboard with every metric (issue J’s events included) and the state of every alarm (prod)', () => {
    prod.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const { widgets } = dashboardBody(prod);
    const graphs = widgets.filter((widget) => widget.type === 'metric');
    const shown = JSON.stringify(graphs.map((widget) => widget.properties.metrics));
    for (const name of dashboardMetricNames) expect(shown, name).toContain(name);
    // Series with a closed extra dimension are searched, so every outcome and reason appears without a list.
    expect(shown).toContain(`SEARCH('{Reelay,Service,Outcome} MetricName=\\"IngestOutcomes\\"'`);
    expect(shown).toContain(`SEARCH('{Reelay,Service,Reason} MetricName=\\"DataApiRetries\\"'`);

    const alarmWidget = widgets.find((widget) => widget.type === 'alarm');
    const alarmCount = resourcesOfType(prod.json, 'AWS::CloudWatch::Alarm').length;
    expect(alarmCount).toBeGreaterThan(0);
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

/** The warnings synthesis attached to the stack's constructs (what `cdk synth` and `cdk deploy` print). */
function warningsOf(synth: Synthesized): string[] {
  return synth.stack.node
    .findAll()
    .flatMap((construct) => construct.node.metadata)
    .filter((entry) => entry.type === 'aws:cdk:warning')
    .map((entry) => String(entry.data));
}

/** Each alarm's namespace and metric, sorted: the same set on every stack that has alarms. */
function alarmMetrics(synth: Synthesized): string[] {
  return resourcesOfType(synth.json, 'AWS::CloudWatch::Alarm')
    .map(([, alarm]) => `${String(alarm.Properties?.Namespace)} ${String(alarm.Properties?.MetricName)}`)
    .sort();
}

function widgetTypes(synth: Synthesized): string[] {
  return dashboardBody(synth).widgets.map((widget) => widget.type);
}

describe('which stacks have alarms and a dashboard', () => {
  const read = (context: Partial<Record<ContextKey, unknown>>) => readConfigFrom((key) => context[key]).monitoring;
  let dev: Synthesized;
  let devWithEmail: Synthesized;
  let devAsked: Synthesized;
  let devDashboardOnly: Synthesized;
  let prodBare: Synthesized;
  let prod: Synthesized;
  beforeAll(() => {
    dev = synthesize();
    devWithEmail = synthesize({ alarmEmail: 'dev@example.com' });
    devAsked = synthesize({ alarms: 'true', dashboard: 'true' });
    devDashboardOnly = synthesize({ dashboard: true });
    prodBare = synthesize({ stage: 'prod', dashboard: 'false' });
    prod = synthesize({ stage: 'prod', alarmEmail: 'ops@example.com', corsOrigins: 'https://video.example.com' });
  });

  it('reads the defaults per stage: prod both, dev alarms only with an e-mail, the dashboard only when asked', () => {
    expect(read({})).toEqual({ alarms: false, dashboard: false });
    expect(read({ alarmEmail: 'dev@example.com' })).toEqual({ alarms: true, dashboard: false });
    expect(read({ alarms: 'true' })).toEqual({ alarms: true, dashboard: false });
    expect(read({ dashboard: true })).toEqual({ alarms: false, dashboard: true });
    expect(read({ stage: 'prod' })).toEqual({ alarms: true, dashboard: true });
    expect(read({ stage: 'prod', alarms: 'true', dashboard: 'false' })).toEqual({ alarms: true, dashboard: false });
  });

  it('refuses alarms=false on prod, alarms=false with an alarm e-mail, and values that are not booleans', () => {
    expect(() => read({ stage: 'prod', alarms: 'false' })).toThrow('context "alarms" may not be false on the prod stage');
    expect(() => read({ stage: 'prod', alarms: false, alarmEmail: 'ops@example.com' })).toThrow(/may not be false on the prod stage/);
    expect(() => read({ alarms: 'false', alarmEmail: 'dev@example.com' })).toThrow('context "alarms" must be true (or unset) with alarmEmail');
    expect(() => read({ alarms: 'off' })).toThrow('context "alarms" must be true or false, got "off"');
    expect(() => read({ dashboard: 'yes' })).toThrow('context "dashboard" must be true or false, got "yes"');
    // Synthesis refuses too (the same reader), rather than deploying a prod stack nobody watches.
    expect(() => synthesize({ stage: 'prod', alarms: 'false' })).toThrow(/may not be false on the prod stage/);
  });

  it('dev by default: no alarm, no topic, no dashboard, and no warning about it', () => {
    dev.template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    dev.template.resourceCountIs('AWS::SNS::Topic', 0);
    dev.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(warningsOf(dev).filter((warning) => warning.includes('reelay:'))).toEqual([]);
  });

  it('dev with alarmEmail: every alarm prod has, sent to the address; no dashboard', () => {
    expect(alarmMetrics(prod).length).toBeGreaterThan(20);
    expect(alarmMetrics(devWithEmail)).toEqual(alarmMetrics(prod));
    devWithEmail.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'dev@example.com' });
    for (const [, alarm] of resourcesOfType(devWithEmail.json, 'AWS::CloudWatch::Alarm')) expect(alarm.Properties?.AlarmActions).toHaveLength(1);
    devWithEmail.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });

  it('dev with alarms=true and dashboard=true: the alarms without a topic, and the dashboard with their state', () => {
    expect(alarmMetrics(devAsked)).toEqual(alarmMetrics(prod));
    devAsked.template.resourceCountIs('AWS::SNS::Topic', 0);
    for (const [, alarm] of resourcesOfType(devAsked.json, 'AWS::CloudWatch::Alarm')) expect(alarm.Properties?.AlarmActions).toBeUndefined();
    devAsked.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const alarmWidget = dashboardBody(devAsked).widgets.find((widget) => widget.type === 'alarm');
    expect((alarmWidget?.properties.alarms as unknown[] | undefined)?.length).toBe(alarmMetrics(devAsked).length);
  });

  it('dev with the dashboard alone: every graph, and a note where the alarms’ state would be', () => {
    devDashboardOnly.template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    devDashboardOnly.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    // An alarm-status widget of no alarm would be an empty box: the note says how to get them; the graphs are unchanged.
    expect(widgetTypes(devDashboardOnly)).not.toContain('alarm');
    expect(widgetTypes(devDashboardOnly).filter((type) => type === 'metric')).toEqual(widgetTypes(prod).filter((type) => type === 'metric'));
    const notes = dashboardBody(devDashboardOnly).widgets.map((widget) => String(widget.properties.markdown ?? ''));
    expect(notes.some((markdown) => markdown.includes('-c alarms=true'))).toBe(true);
  });

  it('prod keeps its alarms without an e-mail or a dashboard, and warns about both', () => {
    expect(alarmMetrics(prodBare)).toEqual(alarmMetrics(prod));
    prodBare.template.resourceCountIs('AWS::SNS::Topic', 0);
    prodBare.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    const warnings = warningsOf(prodBare);
    expect(warnings).toContainEqual(expect.stringContaining('No alarmEmail on the prod stage'));
    expect(warnings).toContainEqual(expect.stringContaining('dashboard=false on the prod stage'));
    expect(warningsOf(prod).filter((warning) => warning.includes('reelay:'))).toEqual([]);
  });
});
