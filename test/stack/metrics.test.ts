/**
 * Metrics end to end: an upload through the local stack on the legacy schema (0001), over HTTP. The functions log
 * EMF lines (shared/metrics.ts) as they would in Lambda; the test reads those lines from the stack's log, finds the
 * fallback create and the deferred Mux payloads of its video, and checks that `GET /_local/metrics` adds up the same
 * lines. After the migration, reconcile reports the pending gauge and its results, and creates stop falling back.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogFields } from '../../shared/log.js';
import type { MetricTotal, MetricsSnapshot } from '../../local/stack/metrics.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { createUpload, putSingle, uploadRequest, videoBytes, waitForVideo, type SingleUpload } from './support.js';

interface EmfLine extends LogFields {
  readonly _aws: { readonly Timestamp: number; readonly CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
}

const isEmf = (line: LogFields): line is EmfLine => typeof line._aws === 'object' && line._aws !== null;

/** The EMF lines logged so far whose (single) metric is `name`. */
function emfLines(stack: TestStack, name: string): EmfLine[] {
  return stack.logs.filter(isEmf).filter((line) => line._aws.CloudWatchMetrics.some((directive) => directive.Metrics.some((metric) => metric.Name === name)));
}

/** What CloudWatch would add up from the logged lines, per metric and dimension values (the test's own reading). */
function totalsFromLines(stack: TestStack): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of stack.logs.filter(isEmf)) {
    for (const directive of line._aws.CloudWatchMetrics) {
      for (const set of directive.Dimensions) {
        for (const metric of directive.Metrics) {
          const key = `${directive.Namespace}/${metric.Name}/${set.map((dimension) => `${dimension}=${String(line[dimension])}`).sort().join(',')}`;
          totals.set(key, (totals.get(key) ?? 0) + Number(line[metric.Name]));
        }
      }
    }
  }
  return totals;
}

const keyOf = (total: MetricTotal) =>
  `${total.namespace}/${total.metric}/${Object.entries(total.dimensions).map(([name, value]) => `${name}=${value}`).sort().join(',')}`;

describe('metrics of an upload on the legacy schema, through the local stack', () => {
  let stack: TestStack;
  let alice: string;
  let admin: string;
  let videoId: string;
  const bytes = videoBytes(96 * 1024);

  beforeAll(async () => {
    stack = await startTestStack({ schema: 'legacy', lambdaEnv: { CAPABILITY_TTL_MS: '1' } });
    [alice, admin] = await Promise.all([stack.tokens.mint(`alice-${randomUUID()}`), stack.tokens.mint(`ops-${randomUUID()}`, { admin: true })]);
  });
  afterAll(() => stack?.dispose());

  it('logs a FallbackCreates metric for the create, with the video id as a property and not a dimension', async () => {
    const created = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Counted' }));
    expect(created.schema.usedFallback).toBe(true);
    videoId = created.video.id;
    const [fallback, ...more] = emfLines(stack, 'FallbackCreates');
    expect(more).toEqual([]);
    expect(fallback).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'Reelay', Dimensions: [['Service']], Metrics: [{ Name: 'FallbackCreates', Unit: 'Count' }] }] },
      Service: 'uploads',
      FallbackCreates: 1,
      videoId,
      function: 'uploads',
      // The invocation's request id, as on every line of the function.
      requestId: expect.any(String),
    });
    expect(fallback?._aws.Timestamp).toEqual(expect.any(Number));
    expect(Math.abs(Date.now() - (fallback?._aws.Timestamp ?? 0))).toBeLessThan(60_000);
    expect(fallback?.missingColumns).toEqual(expect.arrayContaining(['mux_asset_id']));

    // Put the file: ingest and the webhooks defer the Mux fields the table cannot hold.
    expect((await putSingle(created.upload as SingleUpload, bytes)).status).toBe(200);
    await waitForVideo(stack, alice, videoId, (video) => video.status === 'ready');
    await stack.idle();
  });

  it('logs the deferred payloads of that video, from the functions that deferred them', () => {
    const deferrals = emfLines(stack, 'DeferredPayloadsWritten').filter((line) => line.videoId === videoId);
    expect(deferrals.length).toBeGreaterThan(0);
    for (const line of deferrals) {
      expect(line).toMatchObject({ DeferredPayloadsWritten: 1, stored: false, _aws: { CloudWatchMetrics: [{ Namespace: 'Reelay', Dimensions: [['Service']] }] } });
      expect(line.fields).toEqual(expect.arrayContaining([expect.any(String)]));
    }
    // The create deferred the Mux fields it was given, ingest the asset id, the webhooks the asset's fields.
    expect(new Set(deferrals.map((line) => line.Service))).toEqual(new Set(['uploads', 'ingest', 'mux-webhook']));
    expect(emfLines(stack, 'IngestOutcomes').filter((line) => line.videoId === videoId)).toEqual([expect.objectContaining({ Service: 'ingest', Outcome: 'created', IngestOutcomes: 1 })]);
    expect(emfLines(stack, 'WebhooksApplied').length).toBeGreaterThan(0);
  });

  it('serves the same totals at GET /_local/metrics', async () => {
    const response = await stack.request<MetricsSnapshot>('GET', '/_local/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const served = new Map(response.body.metrics.map((total) => [keyOf(total), total.sum]));
    expect(response.body.invalidLines).toBe(0);
    expect(served).toEqual(totalsFromLines(stack));
    expect(served.get('Reelay/FallbackCreates/Service=uploads')).toBe(1);
    expect(served.get('Reelay/IngestOutcomes/Outcome=created,Service=ingest')).toBe(1);
    expect(served.get('Reelay/DeferredPayloadsWritten/Service=ingest')).toBeGreaterThan(0);
  });

  it('after the migration: no more fallback creates, and reconcile reports its results and the pending gauge', async () => {
    const applied = await stack.request('POST', '/api/database/run-mux-migration', { token: admin });
    expect(applied.status, applied.text).toBe(200);
    const created = await createUpload(stack, alice, uploadRequest(bytes, { title: 'Migrated' }));
    expect(created.schema.usedFallback).toBe(false);
    expect(emfLines(stack, 'FallbackCreates')).toHaveLength(1);

    await stack.invoke.reconcile();
    const [pending] = emfLines(stack, 'DeferredPayloadsPending');
    expect(pending).toMatchObject({ Service: 'reconcile', DeferredPayloadsPending: 0 });
    // The video processed before the migration got its Mux fields back from Mux.
    expect(emfLines(stack, 'ReconcileRecovered')).toEqual([expect.objectContaining({ Service: 'reconcile', ReconcileRecovered: 1 })]);
    expect(emfLines(stack, 'ReconcileFailed')).toEqual([expect.objectContaining({ ReconcileFailed: 0 })]);
    const totals = (await stack.request<MetricsSnapshot>('GET', '/_local/metrics')).body.metrics;
    expect(totals.find((total) => total.metric === 'DeferredPayloadsPending')).toMatchObject({ dimensions: { Service: 'reconcile' }, last: 0, sampleCount: 1 });
  });
});
