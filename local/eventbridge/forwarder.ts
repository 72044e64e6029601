/**
 * The local rule `{ "source": ["reelay"] }` → EVENTS_FORWARD_URL: what the CDK app's optional API destination does
 * in AWS, for a developer's own app. Each event is POSTed as the whole envelope (an API destination without an input
 * transformer sends the event as is), one at a time in the order received, from a bounded queue, so PutEvents never
 * waits for it. As an API destination: a 5 s timeout per request, retries with backoff and jitter on a network error,
 * a timeout, 401, 407, 409, 429 or 5xx, none on other answers. Unlike one: a few retries (not 24 h / 185), and what
 * still fails, or does not fit in the queue, is logged and dropped (there is no dead-letter queue).
 */
import type { Logger } from '../../shared/log.js';
import type { EventEnvelope } from './store.js';

export interface ForwarderOptions {
  readonly url: string;
  readonly logger: Logger;
  /** Events waiting to be sent; more are dropped (logged). Default 1 000. */
  readonly queueLimit?: number;
  /** Waits before the retries (full jitter up to each). Default 200 ms, 1 s, 3 s. */
  readonly retryDelaysMs?: readonly number[];
  readonly timeoutMs?: number;
}

export interface ForwardAttempt {
  readonly eventId: string;
  readonly attempt: number;
  /** The HTTP status, or null for a network error or timeout. */
  readonly status: number | null;
  readonly error?: string;
}

export interface ForwarderState {
  readonly url: string;
  /** Events delivered with a 2xx. */
  delivered: number;
  /** Events given up on after their retries, or refused with a status that is not retried. */
  failed: number;
  /** Events that did not fit in the queue. */
  dropped: number;
  /** Every attempt, bounded to the last 1 000. */
  readonly attempts: ForwardAttempt[];
}

const retriedStatuses = new Set([401, 407, 409, 429]);
const isRetriedStatus = (status: number) => status >= 500 || retriedStatuses.has(status);
const attemptsKept = 1_000;

export class EventForwarder {
  readonly state: ForwarderState;
  readonly #options: Required<Omit<ForwarderOptions, 'logger'>> & { logger: Logger };
  readonly #queue: EventEnvelope[] = [];
  readonly #stopped = new AbortController();
  #running: Promise<void> | null = null;
  /** Set and cleared inside #drain, with no await between its last look at the queue and the clearing. */
  #draining = false;

  constructor(options: ForwarderOptions) {
    this.#options = { queueLimit: 1_000, retryDelaysMs: [200, 1_000, 3_000], timeoutMs: 5_000, ...options };
    this.state = { url: options.url, delivered: 0, failed: 0, dropped: 0, attempts: [] };
  }

  /** Queues the event; never waits and never throws. */
  forward(event: EventEnvelope): void {
    if (this.#stopped.signal.aborted) return;
    if (this.#queue.length >= this.#options.queueLimit) {
      this.state.dropped += 1;
      this.#options.logger.warn('eventbridge.forward_dropped', { id: event.id, url: this.state.url, queued: this.#queue.length, reason: 'queue full' });
      return;
    }
    this.#queue.push(event);
    if (!this.#draining) this.#running = this.#drain();
  }

  /** Resolves when every queued event was delivered or given up on. */
  async whenIdle(): Promise<void> {
    while (this.#draining) await this.#running;
  }

  /** Stops sending: queued events are dropped, an attempt in flight is aborted. */
  async close(): Promise<void> {
    this.#stopped.abort();
    this.#queue.length = 0;
    await this.#running;
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      for (let event = this.#queue.shift(); event !== undefined; event = this.#queue.shift()) {
        await this.#deliver(event);
      }
    } finally {
      this.#draining = false;
    }
  }

  async #deliver(event: EventEnvelope): Promise<void> {
    const { retryDelaysMs, logger } = this.#options;
    for (let attempt = 1; ; attempt += 1) {
      if (this.#stopped.signal.aborted) return;
      const outcome = await this.#post(event, attempt);
      if (outcome.status !== null && outcome.status >= 200 && outcome.status < 300) {
        this.state.delivered += 1;
        return;
      }
      const retried = outcome.status === null || isRetriedStatus(outcome.status);
      const delay = retryDelaysMs[attempt - 1];
      if (!retried || delay === undefined) {
        this.state.failed += 1;
        logger.warn('eventbridge.forward_failed', { id: event.id, url: this.state.url, attempts: attempt, status: outcome.status, error: outcome.error });
        return;
      }
      logger.info('eventbridge.forward_retry', { id: event.id, attempt, status: outcome.status, error: outcome.error });
      await sleep(Math.round(Math.random() * delay), this.#stopped.signal);
    }
  }

  async #post(event: EventEnvelope, attempt: number): Promise<ForwardAttempt> {
    let record: ForwardAttempt;
    try {
      const response = await fetch(this.state.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Amazon/EventBridge/ApiDestinations' },
        body: JSON.stringify(event),
        signal: AbortSignal.any([this.#stopped.signal, AbortSignal.timeout(this.#options.timeoutMs)]),
      });
      // The body is not read by EventBridge either; draining it frees the connection.
      await response.arrayBuffer().catch(() => undefined);
      record = { eventId: event.id, attempt, status: response.status };
    } catch (error) {
      record = { eventId: event.id, attempt, status: null, error: error instanceof Error ? error.message : String(error) };
    }
    this.state.attempts.push(record);
    if (this.state.attempts.length > attemptsKept) this.state.attempts.shift();
    return record;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal.addEventListener('abort', stop, { once: true });
  });
}
