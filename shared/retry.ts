/**
 * The one retry policy: exponential backoff with full jitter, bounded by a deadline.
 *
 * Full jitter — each wait is random(0, min(cap, base · 2^n)) — spreads out callers that failed together (containers
 * waiting out the same database resume, runners racing for one lock), so they do not retry in lockstep
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 *
 * The deadline is the Lambda invocation's remaining time (`context.getRemainingTimeInMillis()`) minus a safety
 * margin, so a retry never outlives the function that makes it; outside Lambda (CLI, tests, the local stack when no
 * context is known) the caller's fixed budget applies. No attempt starts after the deadline, and the last wait is cut
 * to it. Clock, randomness and sleep are injectable, so tests run without real waits.
 */
import { currentInvocation, invocationOf, runInvocation } from './invocation.js';

export interface RetryClock {
  now(): number;
  /** In [0, 1]. */
  random(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: RetryClock = {
  now: () => Date.now(),
  random: () => Math.random(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RetryPolicy {
  /** The ceiling of the first wait; it doubles per retry up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Attempts in all, the first included. Default: unbounded (the deadline decides). */
  readonly maxAttempts?: number;
  /** Time for all attempts and waits when no invocation deadline is known (outside Lambda). */
  readonly budgetMs: number;
  /** A limit that holds inside Lambda too, for callers that must answer quickly whatever time is left. */
  readonly limitMs?: number;
  /** Kept back from the invocation's remaining time: room to answer (or log) after giving up. Default 2 000. */
  readonly safetyMarginMs?: number;
}

export interface RetryAttemptInfo {
  /** 1-based number of the attempt that failed. */
  readonly attempt: number;
  readonly elapsedMs: number;
}

export interface RetryOptions {
  readonly policy: RetryPolicy;
  /** True when the failure may be retried; false rethrows the error as it is (throwing here replaces it). */
  readonly retryable: (error: unknown, info: RetryAttemptInfo) => boolean;
  /** Before each wait (for logs). */
  readonly onRetry?: (error: unknown, info: RetryAttemptInfo & { readonly delayMs: number }) => void | Promise<void>;
  /** A retryable failure with no attempt or time left: what it returns is thrown. Default: the error itself. */
  readonly onExhausted?: (error: unknown, info: RetryAttemptInfo) => unknown;
  readonly clock?: RetryClock;
  /** The invocation's remaining time in ms, or undefined outside Lambda. Default: {@link invocationRemainingMs}. */
  readonly remainingTimeMs?: () => number | undefined;
}

/** The wait before retry `retry` (0-based): random(0, min(cap, base · 2^retry)). */
export function fullJitterDelay(policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, retry: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(random() * ceiling);
}

/** The time by which the last attempt must have started, on `clock`. */
export function retryDeadline(policy: RetryPolicy, startedAt: number, remainingMs: number | undefined): number {
  const available = remainingMs === undefined ? policy.budgetMs : remainingMs - (policy.safetyMarginMs ?? 2_000);
  return startedAt + Math.max(0, Math.min(available, policy.limitMs ?? Number.POSITIVE_INFINITY));
}

export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  const deadline = retryDeadline(options.policy, startedAt, (options.remainingTimeMs ?? invocationRemainingMs)());
  const maxAttempts = options.policy.maxAttempts ?? Number.POSITIVE_INFINITY;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      const info = { attempt, elapsedMs: clock.now() - startedAt };
      if (!options.retryable(error, info)) throw error;
      const left = deadline - clock.now();
      if (attempt >= maxAttempts || left <= 0) throw options.onExhausted ? await options.onExhausted(error, info) : error;
      const delayMs = Math.min(left, fullJitterDelay(options.policy, attempt - 1, () => clock.random()));
      await options.onRetry?.(error, { ...info, delayMs });
      await clock.sleep(delayMs);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The invocation's remaining time. Drivers are built once per container, but the deadline belongs to the current
// invocation (shared/invocation.ts): the Lambda entry point runs each invocation inside it, and the retry reads it.

/** Runs `work` with `context` (a Lambda context, or anything else: then no deadline is known) as the invocation. */
export function withInvocation<R>(context: unknown, work: () => Promise<R>): Promise<R> {
  return runInvocation(invocationOf(context), work);
}

/** The current invocation's remaining time in ms; undefined outside an invocation. */
export function invocationRemainingMs(): number | undefined {
  return currentInvocation()?.remainingMs?.();
}
