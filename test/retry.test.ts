/**
 * The retry policy (shared/retry.ts) on a virtual clock: full-jitter bounds, the deadline (the invocation's remaining
 * time, or the fixed budget outside Lambda), attempt limits, and errors that must not be retried.
 */
import { describe, expect, it } from 'vitest';
import { fullJitterDelay, invocationRemainingMs, retry, withInvocation, type RetryPolicy } from '../shared/retry.js';
import { virtualClock } from './support/virtual-clock.js';

const policy: RetryPolicy = { baseDelayMs: 100, maxDelayMs: 1_000, budgetMs: 5_000 };
const transient = new Error('transient');

/** An operation that fails `failures` times, then returns the attempt number; records when each attempt started. */
function flaky(clock: { now(): number }, failures: number, error: unknown = transient) {
  const startedAt: number[] = [];
  return {
    startedAt,
    run: async (attempt: number) => {
      startedAt.push(clock.now());
      if (attempt <= failures) throw error;
      return attempt;
    },
  };
}

describe('fullJitterDelay', () => {
  it('is random(0, min(cap, base · 2^n)): 0 at the low end, the ceiling at the high end', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 10].map((n) => fullJitterDelay(policy, n, () => 1));
    expect(ceilings).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    expect([0, 3, 10].map((n) => fullJitterDelay(policy, n, () => 0))).toEqual([0, 0, 0]);
    expect(fullJitterDelay(policy, 2, () => 0.25)).toBe(100);
  });

  it('stays within [0, ceiling] for any random value', () => {
    for (let n = 0; n < 20; n += 1) {
      for (const r of [0, 0.001, 0.37, 0.5, 0.999, 1]) {
        const delay = fullJitterDelay(policy, n, () => r);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(Math.min(1_000, 100 * 2 ** n));
      }
    }
  });

  it('spreads callers that failed together (no lockstep)', async () => {
    const waits = await Promise.all(
      [0.1, 0.5, 0.9].map(async (r) => {
        const clock = virtualClock({ random: () => r });
        await retry(flaky(clock, 1).run, { policy, clock, retryable: () => true, remainingTimeMs: () => undefined });
        return clock.slept[0];
      }),
    );
    expect(new Set(waits).size).toBe(3);
  });
});

describe('retry', () => {
  it('returns the first success, waiting the jittered backoff between attempts', async () => {
    const clock = virtualClock({ random: () => 0.5 });
    const op = flaky(clock, 3);
    const retries: number[] = [];
    const result = await retry(op.run, {
      policy,
      clock,
      retryable: () => true,
      onRetry: (_error, info) => void retries.push(info.attempt),
      remainingTimeMs: () => undefined,
    });
    expect(result).toBe(4);
    expect(clock.slept).toEqual([50, 100, 200]);
    expect(retries).toEqual([1, 2, 3]);
  });

  it('passes a non-retryable error through at once, untouched', async () => {
    const clock = virtualClock();
    const fatal = new TypeError('bad request');
    const op = flaky(clock, 5, fatal);
    const error = await retry(op.run, { policy, clock, retryable: (e) => e !== fatal, remainingTimeMs: () => undefined }).catch((e: unknown) => e);
    expect(error).toBe(fatal);
    expect(op.startedAt).toHaveLength(1);
    expect(clock.slept).toEqual([]);
  });

  it('outside Lambda, starts no attempt after the fixed budget and cuts the last wait to it', async () => {
    const clock = virtualClock();
    const start = clock.now();
    const op = flaky(clock, 1_000);
    const exhausted: number[] = [];
    const error = await retry(op.run, {
      policy,
      clock,
      retryable: () => true,
      onExhausted: (e, info) => {
        exhausted.push(info.attempt);
        return new Error('gave up', { cause: e });
      },
      remainingTimeMs: () => undefined,
    }).then(() => new Error('succeeded'), (e: unknown) => e as Error);
    expect(error.message).toBe('gave up');
    expect(Math.max(...op.startedAt) - start).toBe(5_000);
    // 100 + 200 + 400 + 800 + 1 000 + 1 000 = 3 500, then 1 000 and the rest (500) of the budget.
    expect(clock.slept).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000, 500]);
    expect(exhausted).toEqual([9]);
  });

  it('inside Lambda, the deadline is the remaining time minus the safety margin, even past the fixed budget', async () => {
    const clock = virtualClock();
    const start = clock.now();
    const op = flaky(clock, 1_000);
    await withInvocation({ getRemainingTimeInMillis: () => 9_000 }, () =>
      retry(op.run, { policy: { ...policy, safetyMarginMs: 1_500 }, clock, retryable: () => true }).catch(() => undefined),
    );
    expect(Math.max(...op.startedAt) - start).toBe(7_500);
    const short = flaky(clock, 1_000);
    const shortStart = clock.now();
    await withInvocation({ getRemainingTimeInMillis: () => 1_000 }, () =>
      retry(short.run, { policy, clock, retryable: () => true }).catch(() => undefined),
    );
    // Less left than the margin: one attempt, no wait.
    expect(short.startedAt).toEqual([shortStart]);
  });

  it('honours a limit inside Lambda and an attempt limit', async () => {
    const clock = virtualClock();
    const start = clock.now();
    const limited = flaky(clock, 1_000);
    await withInvocation({ getRemainingTimeInMillis: () => 600_000 }, () =>
      retry(limited.run, { policy: { ...policy, limitMs: 700 }, clock, retryable: () => true }).catch(() => undefined),
    );
    expect(Math.max(...limited.startedAt) - start).toBe(700);
    const counted = flaky(clock, 1_000);
    await retry(counted.run, { policy: { ...policy, maxAttempts: 3 }, clock, retryable: () => true, remainingTimeMs: () => undefined }).catch(() => undefined);
    expect(counted.startedAt).toHaveLength(3);
  });

  it('keeps concurrent invocations apart, and knows no deadline outside one', async () => {
    expect(invocationRemainingMs()).toBeUndefined();
    const seen = await Promise.all(
      [1_000, 2_000].map((ms) =>
        withInvocation({ getRemainingTimeInMillis: () => ms }, async () => {
          await Promise.resolve();
          return invocationRemainingMs();
        }),
      ),
    );
    expect(seen).toEqual([1_000, 2_000]);
    expect(await withInvocation({ awsRequestId: 'no timer' }, async () => invocationRemainingMs())).toBeUndefined();
  });
});
