/**
 * An EventPublisher that keeps what it is given, for tests of the outbox without an EventBridge endpoint (the local
 * one is test/local/eventbridge.test.ts's). `fail` makes the next publishes report failures; `hang` makes them never
 * return, the way a function that dies mid-publish never gets to acknowledge.
 */
import type { EventPublisher, PublishOutcome } from '../../shared/events/publisher.js';
import type { VideoEvent } from '../../shared/events/video-events.js';

export interface RecordingPublisher extends EventPublisher {
  readonly events: VideoEvent[];
  /** The next `count` publishes fail (nothing is kept). */
  fail(count: number, code?: string): void;
  /** The next publish keeps its events (`afterPut`) or not (`beforePut`) and never returns. */
  hang(when: 'beforePut' | 'afterPut'): void;
}

export function recordingPublisher(): RecordingPublisher {
  const events: VideoEvent[] = [];
  let failures = 0;
  let failureCode = 'ThrottlingException';
  let hanging: 'beforePut' | 'afterPut' | null = null;
  return {
    enabled: true,
    events,
    fail(count, code = 'ThrottlingException') {
      failures = count;
      failureCode = code;
    },
    hang(when) {
      hanging = when;
    },
    async publish(batch): Promise<PublishOutcome> {
      if (hanging !== null) {
        const when = hanging;
        hanging = null;
        if (when === 'afterPut') events.push(...batch);
        return new Promise<never>(() => {});
      }
      if (failures > 0) {
        failures -= 1;
        return { published: [], failed: batch.map((event) => ({ eventId: event.detail.eventId, code: failureCode, message: 'injected' })) };
      }
      events.push(...batch);
      return { published: batch.map((event) => event.detail.eventId), failed: [] };
    },
  };
}
