/**
 * Fault family (issue N): Mux throttles every asset call for a window shorter than one visibility timeout. Ingest
 * honours Retry-After (ChangeMessageVisibility on the local SQS's wire), so every video is `ready` within a few
 * Retry-Afters of the window's end, not a visibility timeout later; no asset is made twice, nothing dead-lettered.
 *
 * Timings: SQS runs in real time here, with the production ratios scaled 60× (the function is told a 12 s
 * visibility timeout, as 720 s / 60, and 5 receives), and Mux throttles for 3 s (a 180 s throttle in production terms).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestStack } from '../support/local-stack.js';
import { expectEndState, finalVideo, logCounts, mapWithLimit, recordFigures, smallVideo, startReliabilityStack, titles, uploadVideo } from './support.js';

const scenario = 'N. Mux throttling';
const videos = 8;
const visibilitySeconds = 12;
const throttleMs = 3_000;

describe('ingest through a Mux throttle shorter than one visibility timeout', () => {
  let stack: TestStack;
  let alice: string;

  beforeAll(async () => {
    stack = await startReliabilityStack({ sqs: { visibilityTimeoutMs: visibilitySeconds * 1000, visibilityTimeoutSeconds: visibilitySeconds } });
    alice = await stack.tokens.mint(`alice-${randomUUID()}`);
  });
  afterAll(() => stack?.dispose());

  it('every video is ready within a few Retry-Afters of the throttle’s end, with one asset each', async (context) => {
    await stack.idle();
    const logMark = stack.logs.length;
    const requestMark = stack.muxEmulator.requests.length;
    stack.muxEmulator.faults.throttleFor(throttleMs);
    const throttleEnd = Date.now() + throttleMs;
    const uploads = await mapWithLimit(titles('throttle', videos), videos, (title) => uploadVideo(stack, alice, title, { bytes: smallVideo }));
    const readyAt = await Promise.all(uploads.map(async (upload) => {
      await finalVideo(stack, alice, upload.id, 60_000);
      return Date.now();
    }));
    const lastReadyAfterEndMs = Math.max(...readyAt) - throttleEnd;

    const end = await expectEndState(stack, alice, uploads, 'ready');
    const calls = stack.muxEmulator.requests.slice(requestMark);
    const throttled = calls.filter((request) => request.status === 429).length;
    const seen = logCounts(stack, logMark, ['ingest.mux_unavailable', 'ingest.mux_throttled', 'ingest.retry_scheduled', 'local_sqs.redelivery_scheduled']);
    expect(throttled, 'the throttle was met').toBeGreaterThan(0);
    expect(seen['ingest.retry_scheduled'], 'each retry asked SQS for Mux’s time').toBeGreaterThan(0);
    // A visibility timeout would be 12 s; two Retry-Afters (3 s each) bound the wait here.
    expect(lastReadyAfterEndMs, 'ready within two Retry-Afters of the end').toBeLessThan(2 * throttleMs);
    recordFigures(context, {
      scenario,
      case: `throttle of ${throttleMs / 1000} s, visibility ${visibilitySeconds} s (production ×1/60)`,
      injected: { 'asset calls answered 429 (Retry-After: seconds left)': throttled },
      observed: {
        'retries given back to SQS (Mux unavailable)': seen['ingest.mux_unavailable'] ?? 0,
        'ingests deferred by the container’s throttle gate': seen['ingest.mux_throttled'] ?? 0,
        'visibility changes': seen['ingest.retry_scheduled'] ?? 0,
        'last video ready after the throttle ended (ms)': lastReadyAfterEndMs,
      },
      checked: end.checked,
      lost: end.lost,
      extraAssets: end.extraAssets,
    });
  });
});
