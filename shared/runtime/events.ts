/**
 * The lifecycle events of a publishing function (uploads, ingest, mux-webhook, video-deletes, reconcile), built from
 * its parsed configuration: the publisher (EventBridge, or none when EVENT_BUS_NAME is unset) and how a video is
 * presented in an event. The data layer gets the outbox through {@link FunctionDatabaseSeams} (database.ts).
 */
import type { EventBusSettings } from '../events/config.js';
import { EventBridgePublisher } from '../events/eventbridge-publisher.js';
import { noPublisher, type EventPublisher } from '../events/publisher.js';
import type { Logger } from '../log.js';
import type { MuxPlaybackPolicy } from '../mux/assets.js';
import { presentVideo } from '../videos/presenter.js';
import type { VideoRecord } from '../db/video-fields.js';
import type { VideoJson } from '../videos/presenter.js';

/** What a publishing function's `createHandler(env, options)` accepts for its events. */
export interface EventFunctionOptions {
  /** Instead of the publisher EVENT_BUS_NAME names (tests, crash simulations). */
  readonly eventPublisher?: EventPublisher;
}

export interface EventPublishing {
  readonly publisher: EventPublisher;
  readonly present: (video: VideoRecord) => VideoJson;
}

/** The function's publishing: the injected publisher, or PutEvents to the configured bus, or none. */
export function functionEventPublishing(
  settings: EventBusSettings | undefined,
  playbackPolicy: MuxPlaybackPolicy,
  logger: Logger,
  options: EventFunctionOptions = {},
): EventPublishing {
  const publisher = options.eventPublisher ?? (settings === undefined ? noPublisher : new EventBridgePublisher(settings, { logger }));
  // Events carry the stored URLs as the API shows them, never a token: a token in an event would outlive its purpose.
  return { publisher, present: (video) => presentVideo(video, playbackPolicy) };
}
