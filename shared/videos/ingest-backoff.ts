/**
 * When a retried ingest message should come back (the SQS visibility the ingest function sets on it), and the
 * in-container gate that stops concurrent ingests from calling Mux while it throttles.
 *
 * The rule (docs/RELIABILITY.md, "Retry-After"): the n-th receive that must be retried waits
 *   max(Retry-After, floor × 2^(n−1)) × (1 + up to 20 % jitter), at most the queue's visibility timeout,
 * where floor = visibility / 2^(maxReceiveCount−1). With AWS's 720 s and 5 receives the floors are 45, 90, 180, 360
 * and 720 s: a throttle that ends within its Retry-After costs that Retry-After (seconds, not 720 s), and however short
 * Mux's Retry-After, the five receives span at least ~2 visibility timeouts (~23 min) before the message is
 * dead-lettered, so a sustained throttle cannot burn the redrive budget in five Retry-Afters. Without a Retry-After
 * (5xx, a timeout) the floor alone applies, with "equal jitter" (half fixed, half random) so a burst does not come back
 * in lockstep.
 */

export interface QueueRetrySettings {
  /** The queue's visibility timeout, seconds (what a failed message waits when nothing else is said). */
  readonly visibilityTimeoutSeconds: number;
  /** The redrive policy's maxReceiveCount. */
  readonly maxReceiveCount: number;
}

/** SQS's range for ChangeMessageVisibility's VisibilityTimeout (12 h). */
export const maxVisibilitySeconds = 43_200;

export interface RetryDelayInput {
  /** ApproximateReceiveCount of the delivery being retried (1 on the first). */
  readonly receiveCount: number;
  /** Mux's Retry-After, ms; undefined when Mux gave none. */
  readonly retryAfterMs?: number | undefined;
  /** In [0, 1). */
  readonly random?: () => number;
}

/** Whole seconds the message should stay invisible, within SQS's limits and the queue's visibility timeout. */
export function retryDelaySeconds(settings: QueueRetrySettings, input: RetryDelayInput): number {
  const random = input.random ?? Math.random;
  const ceiling = Math.min(maxVisibilitySeconds, Math.max(0, settings.visibilityTimeoutSeconds));
  const receives = Math.max(1, settings.maxReceiveCount);
  const floor = ceiling / 2 ** (receives - 1);
  const attempt = Math.min(Math.max(1, Math.floor(input.receiveCount)), receives);
  const backoff = floor * 2 ** (attempt - 1);
  let delay: number;
  if (input.retryAfterMs !== undefined) {
    // Never earlier than Mux asked; the jitter only spreads a burst that was told the same instant.
    const base = Math.max(input.retryAfterMs / 1000, backoff);
    delay = base * (1 + 0.2 * random());
  } else {
    delay = backoff / 2 + (backoff / 2) * random();
  }
  return Math.min(ceiling, Math.max(0, Math.ceil(delay)));
}

/**
 * Per container: once Mux answers 429 with Retry-After, ingests in the same container do not call Mux until that
 * time; they are retried with the time that is left. Containers do not share it (Lambda has no cheap shared
 * memory): at most the event source's maxConcurrency (5) containers each spend one call to learn of a throttle.
 */
export class MuxThrottleGate {
  #until = 0;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Mux asked to wait `retryAfterMs` from now. */
  throttled(retryAfterMs: number): void {
    this.#until = Math.max(this.#until, this.#now() + retryAfterMs);
  }

  /** Ms left before Mux may be called again; 0 when it may be called now. */
  waitMs(): number {
    return Math.max(0, this.#until - this.#now());
  }
}
