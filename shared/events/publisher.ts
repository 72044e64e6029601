/**
 * Putting events on the bus, behind a narrow interface: the outbox (outbox.ts) depends on this, never on the SDK.
 * {@link EventBridgePublisher} (eventbridge-publisher.ts) is the real one; tests and the local stack pass the same
 * class pointed at the local endpoint, or {@link noPublisher}.
 */
import type { VideoEvent } from './video-events.js';

export interface PublishFailure {
  readonly eventId: string;
  /** EventBridge's ErrorCode of the entry (`ThrottlingException`, `InternalFailure`, …) or the error's name. */
  readonly code: string;
  readonly message: string;
}

export interface PublishOutcome {
  /** reelay event ids (`detail.eventId`) that EventBridge accepted. */
  readonly published: readonly string[];
  /** Those it did not, after the publisher's retries: left for the reconcile sweep. */
  readonly failed: readonly PublishFailure[];
}

export interface EventPublisher {
  /** False for {@link noPublisher}: no bus is configured, events stay recorded and unacknowledged. */
  readonly enabled: boolean;
  /** Puts the events on the bus. Never throws: what could not be put is in `failed`. */
  publish(events: readonly VideoEvent[]): Promise<PublishOutcome>;
}

/** No bus (EVENT_BUS_NAME unset): nothing is published, so nothing is acknowledged. */
export const noPublisher: EventPublisher = {
  enabled: false,
  publish: async (events) => ({ published: [], failed: events.map((event) => ({ eventId: event.detail.eventId, code: 'NoEventBus', message: 'EVENT_BUS_NAME is not set' })) }),
};
