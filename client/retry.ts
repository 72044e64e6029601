/**
 * Retries with capped exponential backoff and full jitter (a random pause between 0 and the cap), so many clients
 * that failed together do not come back together (https://aws.amazon.com/builders-library/timeouts-retries-and-backoff-with-jitter/).
 */

export interface RetryPolicy {
  /** Tries in all, the first included (default 5). */
  readonly attempts?: number;
  /** The cap of the first pause, doubled per try (default 500 ms). */
  readonly baseDelayMs?: number;
  /** The largest pause (default 10 s). */
  readonly maxDelayMs?: number;
}

export interface RetryTools {
  /** Waits `ms`, or rejects when `signal` aborts. Replaceable for tests. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A number in [0, 1). */
  readonly random?: () => number;
}

export interface ResolvedRetry {
  readonly attempts: number;
  /** The pause before try `attempt + 1` (attempt counts from 1), or `retryAfterMs` when the server named one. */
  delay(attempt: number, retryAfterMs?: number): number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function resolveRetry(policy: RetryPolicy = {}, tools: RetryTools = {}): ResolvedRetry {
  const attempts = Math.max(1, policy.attempts ?? 5);
  const base = policy.baseDelayMs ?? 500;
  const max = policy.maxDelayMs ?? 10_000;
  const random = tools.random ?? Math.random;
  return {
    attempts,
    delay: (attempt, retryAfterMs) => (retryAfterMs !== undefined ? Math.min(retryAfterMs, max) : Math.floor(random() * Math.min(max, base * 2 ** (attempt - 1)))),
    sleep: tools.sleep ?? abortableSleep,
  };
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
