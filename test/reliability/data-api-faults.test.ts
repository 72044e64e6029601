/**
 * Fault family 1: the Data API misbehaving as Aurora Serverless v2 does — DatabaseResumingException for the
 * first calls after a pause at 0 ACU, throttling, 503s, statement timeouts, and calls refused because the
 * transaction "is still running a query". Uploads and Mux webhooks must succeed after the driver's retries (or,
 * where the driver must not repeat a write whose outcome is unknown, after the client's and Mux's own retries),
 * within the driver's budget, and end with one row and one asset per video.
 */
import { randomUUID } from 'node:crypto';
import { BeginTransactionCommand, ExecuteStatementCommand, RDSDataClient, RollbackTransactionCommand } from '@aws-sdk/client-rds-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultKind } from '../../local/data-api/server.js';
import type { TestStack } from '../support/local-stack.js';
import { expectEndState, logCounts, mapWithLimit, recordFigures, smallVideo, stackDatabase, startReliabilityStack, titles, uploadVideo } from './support.js';

const scenario = '1. Data API faults';
const videosPerCase = 12;
const driverEvents = ['dataapi.retry', 'dataapi.retries_exhausted', 'ingest.failed', 'mux_webhook.duplicate', 'local_sqs.redelivery_scheduled'];

describe('uploads and webhooks through a misbehaving Data API', () => {
  let stack: TestStack;
  let alice: string;

  beforeAll(async () => {
    stack = await startReliabilityStack();
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
  });
  afterAll(() => stack?.dispose());

  /** The webhook deliveries the emulator had to repeat because reelay answered a 5xx. */
  const webhookRetries = (since: number) =>
    stack.muxEmulator.deliveries.slice(since).reduce((total, delivery) => total + delivery.attempts.filter((attempt) => attempt.status !== null && attempt.status >= 500).length, 0);

  const cases: ReadonlyArray<{ name: string; kind: FaultKind; count: number; unusedRowsAllowed: boolean }> = [
    // The first calls after idle: every one of them is refused until the cluster has resumed.
    { name: 'DatabaseResumingException for the first calls after idle', kind: 'resuming', count: 8, unusedRowsAllowed: false },
    { name: 'ThrottlingException', kind: 'throttling', count: 8, unusedRowsAllowed: false },
    { name: 'ServiceUnavailableError', kind: 'unavailable', count: 8, unusedRowsAllowed: false },
    // The statement ran, its answer was lost: a write is not repeated blindly, so the client (or Mux) retries, and a
    // create whose INSERT ran leaves a row the client never learned of (reported by diagnostics as a stuck upload).
    { name: 'StatementTimeoutException after the statement ran', kind: 'statement-timeout', count: 8, unusedRowsAllowed: true },
  ];

  it.for(cases)('$name: every upload and webhook succeeds after retries', async ({ name, kind, count, unusedRowsAllowed }, context) => {
    await stack.idle();
    const logMark = stack.logs.length;
    const deliveryMark = stack.muxEmulator.deliveries.length;
    // Spread over every operation the functions make (API calls, ingest, webhooks), not just the first request.
    stack.dataApi.faults.failNext(kind, count, { operations: ['ExecuteStatement'] });
    const uploads = await mapWithLimit(titles(`data-api-${kind}`, videosPerCase), 4, async (title, index) => {
      // Later uploads meet faults queued in between: the injected errors land on ingest and webhook calls too.
      if (index === videosPerCase / 2) stack.dataApi.faults.failNext(kind, count / 2, { operations: ['ExecuteStatement'] });
      return uploadVideo(stack, alice, title, { bytes: smallVideo });
    });
    const injected = count + count / 2 - stack.dataApi.faults.pending();
    const end = await expectEndState(stack, alice, uploads, 'ready', { unusedRowsAllowed });
    const seen = logCounts(stack, logMark, driverEvents);
    // Within bounds: a call either succeeds inside its retry budget or the request answers 503 with Retry-After
    // (checked by the client); nothing runs into a function timeout or fails with a 500.
    const failed = stack.logs.slice(logMark).filter((line) => line.event === 'http.request.failed');
    expect(failed, 'no request failed with a 500').toEqual([]);
    expect(injected).toBeGreaterThan(0);
    recordFigures(context, {
      scenario,
      case: name,
      injected: { [kind]: injected },
      observed: {
        'driver retries': seen['dataapi.retry'] ?? 0,
        'calls past the retry budget (answered 503)': seen['dataapi.retries_exhausted'] ?? 0,
        'client retries of a 503': uploads.reduce((total, upload) => total + upload.retriedAnswers, 0),
        'Mux webhook redeliveries after a 5xx': webhookRetries(deliveryMark),
        'duplicate webhooks ignored': seen['mux_webhook.duplicate'] ?? 0,
        'ingest attempts that failed (SQS redelivered them)': seen['ingest.failed'] ?? 0,
        'SQS redeliveries': seen['local_sqs.redelivery_scheduled'] ?? 0,
        'unused rows (create answered 503 after its INSERT ran)': end.unusedRows,
      },
      checked: end.checked,
      lost: end.lost,
      extraAssets: end.extraAssets,
    });
  });

  it('"Transaction is still running a query": the driver never overlaps calls on a transaction, under latency', async (context) => {
    const target = { resourceArn: stack.env.RDS_RESOURCE_ARN, secretArn: stack.env.RDS_SECRET_ARN, database: stack.env.RDS_DATABASE };
    stack.dataApi.faults.setLatency(150);
    const raw = new RDSDataClient({ endpoint: stack.env.DATA_API_ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    const driver = await stackDatabase(stack);
    const overlapping = 6;
    try {
      // The fault is real: a client that sends a second call while the first runs is refused.
      const { transactionId } = await raw.send(new BeginTransactionCommand(target));
      const refusals = await Promise.allSettled(
        Array.from({ length: overlapping }, () => raw.send(new ExecuteStatementCommand({ ...target, transactionId, sql: 'SELECT count(*) FROM videos' }))),
      );
      const refused = refusals.filter((result) => result.status === 'rejected' && /still running a query/.test(String(result.reason))).length;
      expect(refused).toBe(overlapping - 1);
      await raw.send(new RollbackTransactionCommand({ ...target, transactionId }));

      // The product's driver, given the same overlapping work, queues it: every statement runs, in order.
      const results = await driver.transaction((tx) =>
        Promise.all(Array.from({ length: overlapping }, (_, index) => tx.execute<{ n: number }>(`SELECT CAST(${index} AS int) AS n FROM videos LIMIT 1`))),
      );
      expect(results).toHaveLength(overlapping);

      // And the migration engine's transactions (the product's only ones) run beside upload traffic unharmed.
      const before = stack.logs.length;
      const [migration, uploads] = await Promise.all([
        stack.request('GET', '/api/database/run-mux-migration', { token: await stack.tokens.mint('ops', { admin: true }) }),
        mapWithLimit(titles('still-running', 4), 4, (title) => uploadVideo(stack, alice, title, { bytes: smallVideo })),
      ]);
      expect(migration.status, migration.text).toBe(200);
      expect(stack.logs.slice(before).filter((line) => JSON.stringify(line).includes('still running'))).toEqual([]);
      const end = await expectEndState(stack, alice, uploads, 'ready');
      recordFigures(context, {
        scenario,
        case: 'Transaction is still running a query (overlapping calls on one transaction, 150 ms latency)',
        injected: { 'overlapping calls': overlapping },
        observed: { 'refused by the Data API (raw client)': refused, 'refused through the product driver': 0 },
        checked: overlapping + end.checked,
        lost: end.lost,
        extraAssets: end.extraAssets,
      });
    } finally {
      stack.dataApi.faults.setLatency(0);
      raw.destroy();
      await driver.close();
    }
  });
});
