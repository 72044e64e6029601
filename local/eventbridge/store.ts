/**
 * The local EventBridge's state: the events it received (bounded, oldest first), the faults queued for the next
 * PutEvents calls, and counters of what it was asked.
 */

/** An event as EventBridge hands it to a rule's targets (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html). */
export interface EventEnvelope {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  /** ISO 8601 to the second, as EventBridge writes it (`2026-12-03T10:00:00Z`). */
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, unknown>;
}

/** A received event, with the bus it was put on (not part of EventBridge's envelope). */
export interface ReceivedEvent {
  readonly bus: string;
  /** When the local endpoint accepted it (ISO 8601, ms). */
  readonly receivedAt: string;
  readonly event: EventEnvelope;
}

export interface EventFilter {
  /** Only events received at or after this instant (ISO 8601, or a Date). */
  readonly since?: string | Date;
  /** Only events whose `detail.videoId` is this. */
  readonly videoId?: string;
  readonly detailType?: string;
  readonly source?: string;
}

/**
 * - `whole: true` (default): the call fails as a whole, HTTP 400 ThrottlingException (or 500 for InternalException);
 *   with `afterAccepting` the events are kept first, as when the answer is lost after the service took them.
 * - `whole: false`: the call answers 200 and the entries at `entries` (default all) fail with `code` (default
 *   ThrottlingException, e.g. InternalFailure), counted in FailedEntryCount; those events are not kept.
 */
export interface PutEventsFault {
  readonly code?: string;
  readonly whole?: boolean;
  /** Indexes in the request of the entries a partial failure fails. */
  readonly entries?: readonly number[];
  readonly afterAccepting?: boolean;
}

export interface PutEventsCounters {
  /** PutEvents requests that reached the operation (authenticated and routed). */
  calls: number;
  /** Calls answered with an error as a whole (validation, unknown bus, injected faults). */
  failedCalls: number;
  /** Entries answered with an EventId. */
  acceptedEntries: number;
  /** Entries answered with an ErrorCode. */
  failedEntries: number;
}

export interface EventBridgeFaults {
  /** The next `count` PutEvents calls fail as `fault` says. Queued faults are used in the order they were added. */
  failNextPutEvents(count: number, fault?: PutEventsFault): void;
  /** Faults still queued. */
  pending(): number;
  clear(): void;
}

export class EventBridgeStore {
  readonly #events: ReceivedEvent[] = [];
  readonly #faults: PutEventsFault[] = [];
  /** Events dropped from the front when the store is full. */
  dropped = 0;
  readonly counters: PutEventsCounters = { calls: 0, failedCalls: 0, acceptedEntries: 0, failedEntries: 0 };

  constructor(readonly capacity: number) {}

  readonly faults: EventBridgeFaults = {
    failNextPutEvents: (count, fault = {}) => {
      for (let index = 0; index < count; index += 1) this.#faults.push(fault);
    },
    pending: () => this.#faults.length,
    clear: () => {
      this.#faults.length = 0;
    },
  };

  /** @internal The fault the current call suffers, if any. */
  takeFault(): PutEventsFault | undefined {
    return this.#faults.shift();
  }

  add(received: ReceivedEvent): void {
    this.#events.push(received);
    // The oldest goes: a shift of 10 000 references is microseconds, far below an HTTP call's cost.
    if (this.#events.length > this.capacity) {
      this.#events.shift();
      this.dropped += 1;
    }
  }

  /** Oldest first. */
  list(filter: EventFilter = {}): ReceivedEvent[] {
    const since = filter.since === undefined ? undefined : new Date(filter.since).getTime();
    return this.#events.filter(
      ({ receivedAt, event }) =>
        (since === undefined || Date.parse(receivedAt) >= since) &&
        (filter.videoId === undefined || event.detail.videoId === filter.videoId) &&
        (filter.detailType === undefined || event['detail-type'] === filter.detailType) &&
        (filter.source === undefined || event.source === filter.source),
    );
  }

  /** Forgets every event; returns how many there were. */
  clear(): number {
    const count = this.#events.length;
    this.#events.length = 0;
    return count;
  }
}
