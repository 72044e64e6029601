/**
 * Fault family (issue N): Mux unavailable for longer than the queue's redrive budget, and an S3 event that never
 * arrives. With reconcile on its schedule, the messages that dead-letter are drained (redriven, or deleted once their
 * video is past ingest) and the videos left `uploaded` are backfilled: every video is `ready` within about one
 * reconcile period of the fault's end, the DLQ is empty afterwards, no asset is made twice. A lost S3 event leaves
 * its video `awaiting_upload` with its object in S3 until the stranded sweep finds it — on a schedule whose runs
 * would otherwise skip, since nothing else touches the database (reconcile leaves itself an `upload` marker while a
 * video awaits its upload).
 *
 * Timings: SQS runs in real time with the production ratios scaled 360× (the function is told a 2 s visibility
 * timeout for AWS's 720 s, and 5 receives), reconcile runs every 2.5 s (AWS: 15 min) and sweeps `uploaded` and
 * `awaiting_upload` videos once 2 s old (AWS: 10 min). Each fault lasts at least 15 s, 7.5 visibility timeouts (AWS:
 * 90 min), and until every message was dead-lettered once (a busy machine may take longer to use five receives).
 * A time measured here is ×360 in production terms (the figures state both).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { eventually, type TestStack } from '../support/local-stack.js';
import {
  expectEndState,
  finalVideo,
  logCounts,
  mapWithLimit,
  productionTimeFactor,
  recordFigures,
  reconcilePeriodMs,
  smallVideo,
  startReliabilityStack,
  titles,
  uploadVideo,
  visibilityTimeoutSeconds,
} from './support.js';

const scenario = 'N. Mux unavailable, events lost';
const videos = 8;
/** The fault lasts at least this long, and until every message has been dead-lettered once. */
const faultMs = 15_000;
/** Mux's timeout in the functions: a dropped connection fails at once, a hang would wait this long. */
const muxTimeoutMs = 1_500;
const observedEvents = [
  'local_sqs.dead_lettered',
  'ingest.mux_unavailable',
  'ingest.mux_throttled',
  'reconcile.sweep_failed',
  'dead_letters.handled',
  'dead_letters.kept',
  'reconcile.stranded_upload',
  'local_stack.notification_lost',
];

/** Seconds in production terms, to the minute: measured ms × the scale. */
const productionMinutes = (ms: number) => Math.round((ms * productionTimeFactor) / 60_000);

describe('Mux unavailable longer than five visibility timeouts, and a lost S3 event', () => {
  let stack: TestStack;
  let alice: string;

  beforeAll(async () => {
    stack = await startReliabilityStack({ scheduledReconcile: true, lambdaEnv: { MUX_TIMEOUT_MS: String(muxTimeoutMs) } });
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
  });
  afterAll(() => stack?.dispose());

  // Each fault is (re)started for `ms` from now: a throttle's Retry-After is always the time really left.
  const faults: ReadonlyArray<{ name: string; fault: string; inject: (stack: TestStack, ms: number) => void }> = [
    { name: 'a Mux throttle (429 with Retry-After)', fault: 'asset calls answered 429 (Retry-After: seconds left)', inject: (s, ms) => s.muxEmulator.faults.throttleFor(ms) },
    { name: 'a Mux outage (503 to every call)', fault: 'asset calls answered 503', inject: (s, ms) => s.muxEmulator.faults.outageFor(ms) },
    { name: 'a Mux outage (connection dropped)', fault: 'asset calls refused (connection reset)', inject: (s, ms) => s.muxEmulator.faults.outageFor(ms, { connection: 'reset' }) },
  ];

  it.for(faults)('$name until every message dead-lettered: dead letters drained, DLQ empty, every video ready soon after its end', async ({ name, fault, inject }, context: TestContext) => {
    await stack.idle();
    const logMark = stack.logs.length;
    const requestMark = stack.muxEmulator.requests.length;
    const faultStart = Date.now();
    let faultEnd = faultStart + faultMs;
    inject(stack, faultMs);
    const uploads = await mapWithLimit(titles(`outage-${name}`, videos), videos, (title) => uploadVideo(stack, alice, title, { bytes: smallVideo }));
    // On a busy machine five receives can take longer than 15 s: the window is extended, 2 s at a time, until each
    // message was dead-lettered once, and then left to end.
    const deadLettered = () => logCounts(stack, logMark, ['local_sqs.dead_lettered'])['local_sqs.dead_lettered'] ?? 0;
    while (deadLettered() < videos && Date.now() - faultStart < 90_000) {
      if (faultEnd - Date.now() < 1_000) {
        inject(stack, 2_000);
        faultEnd = Date.now() + 2_000;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, faultEnd - Date.now())));
    const faultLastedMs = faultEnd - faultStart;
    const readyAt = await Promise.all(
      uploads.map(async (upload) => {
        await finalVideo(stack, alice, upload.id, 30_000);
        return Date.now();
      }),
    );
    const lastReadyAfterEndMs = Math.max(...readyAt) - faultEnd;
    // A message on its last receive when the fault ended may still dead-letter (its video claimed by the backfill
    // meanwhile): once the queue has settled, the drain of the next scheduled run (after its sweeps) deletes what is
    // left, since every video is past ingest.
    await stack.idle();
    await eventually(async () => (stack.sqs.deadLetters.length === 0 ? true : undefined), () => `the DLQ still holds ${stack.sqs.deadLetters.length}`, 4 * reconcilePeriodMs);
    const dlqEmptyAfterEndMs = Date.now() - faultEnd;

    const end = await expectEndState(stack, alice, uploads, 'ready');
    const refused = stack.muxEmulator.requests.slice(requestMark).filter((request) => request.status !== 200 && request.status !== 201).length;
    const seen = logCounts(stack, logMark, observedEvents);
    expect(refused, 'the fault was met').toBeGreaterThan(0);
    expect(faultLastedMs, 'longer than five visibility timeouts').toBeGreaterThan(5 * visibilityTimeoutSeconds * 1000);
    expect(seen['dead_letters.handled'], 'the drain handled them').toBeGreaterThanOrEqual(videos);
    // Measured alone: within one period (see the figures). The bound allows for a run that started just before the
    // end and spent its Mux calls (and their SDK retries) on the fault, and for a busy machine.
    expect(deadLettered(), 'every message dead-lettered').toBeGreaterThanOrEqual(videos);
    expect(lastReadyAfterEndMs, 'ready within a few reconcile periods of the end').toBeLessThan(4 * reconcilePeriodMs);
    recordFigures(context, {
      scenario,
      case: `${name} until every message dead-lettered (≥ ${faultMs / 1000} s, ${faultMs / 1000 / visibilityTimeoutSeconds} visibility timeouts), reconcile every ${reconcilePeriodMs / 1000} s (production ×1/${productionTimeFactor})`,
      injected: { [fault]: refused },
      observed: {
        'fault lasted (ms)': faultLastedMs,
        'messages dead-lettered': seen['local_sqs.dead_lettered'] ?? 0,
        'retries given back to SQS (Mux unavailable)': seen['ingest.mux_unavailable'] ?? 0,
        'ingests deferred by the container’s throttle gate': seen['ingest.mux_throttled'] ?? 0,
        'sweeps failed while Mux was down': seen['reconcile.sweep_failed'] ?? 0,
        'dead letters drained (redriven or deleted)': seen['dead_letters.handled'] ?? 0,
        'dead letters kept for an operator': seen['dead_letters.kept'] ?? 0,
        'last video ready after the fault ended (ms)': lastReadyAfterEndMs,
        'last video ready after the fault ended (production minutes)': productionMinutes(lastReadyAfterEndMs),
        'DLQ empty after the fault ended (ms)': dlqEmptyAfterEndMs,
      },
      checked: end.checked,
      lost: end.lost,
      extraAssets: end.extraAssets,
    });
  });

  it('a lost S3 event: the object is in S3, no message ever arrives; the stranded sweep makes the video ready', async (context) => {
    await stack.idle();
    const logMark = stack.logs.length;
    const lostEvents = 4;
    stack.loseNextNotifications(lostEvents);
    const uploadedAt = Date.now();
    const uploads = await mapWithLimit(titles('outage-lost-event', lostEvents), lostEvents, (title) => uploadVideo(stack, alice, title, { bytes: smallVideo }));
    const readyAt = await Promise.all(
      uploads.map(async (upload) => {
        await finalVideo(stack, alice, upload.id, 30_000);
        return Date.now();
      }),
    );
    const lastReadyMs = Math.max(...readyAt) - uploadedAt;
    const end = await expectEndState(stack, alice, uploads, 'ready');
    const seen = logCounts(stack, logMark, observedEvents);
    expect(seen['local_stack.notification_lost'], 'every notification was lost').toBe(lostEvents);
    expect(seen['reconcile.stranded_upload'], 'the stranded sweep found each object').toBe(lostEvents);
    // Swept once 2 s old, by a run a period later (on a busy machine a run can outlast its period; the next waits).
    expect(lastReadyMs, 'ready within the sweep’s age and a few reconcile periods').toBeLessThan(2_000 + 4 * reconcilePeriodMs);
    recordFigures(context, {
      scenario,
      case: `a lost S3 event (stranded sweep after 2 s, reconcile every ${reconcilePeriodMs / 1000} s; production ×1/${productionTimeFactor})`,
      injected: { 'object-created notifications lost': seen['local_stack.notification_lost'] ?? 0 },
      observed: {
        'uploads found in S3 by the stranded sweep': seen['reconcile.stranded_upload'] ?? 0,
        'last video ready after its upload (ms)': lastReadyMs,
        'last video ready after its upload (production minutes)': productionMinutes(lastReadyMs),
      },
      checked: end.checked,
      lost: end.lost,
      extraAssets: end.extraAssets,
    });
  });
});
