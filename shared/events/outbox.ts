/**
 * The transactional outbox's other half. The data layer records each lifecycle event in the statement that changes
 * the video (shared/db/video-events-db.ts); once that statement has committed, this puts the event on the bus and
 * acknowledges it (`published_at`): the change and the acknowledgement are the request's only Data API calls. What
 * could not be published stays unacknowledged, is noted as work pending (so reconcile sweeps even while the database
 * is paused), and is republished by {@link EventOutbox.sweep}. A crash between the commit and the acknowledgement
 * leaves the same: the sweep delivers it, with the same `eventId` (at least once).
 *
 * Before migration 0006 there is no outbox: a change is published directly, best effort, and the log says so.
 */
import { hasTable, type CapabilityCache } from '../db/capabilities.js';
import {
  acknowledgeEvents,
  countFailedAttempts,
  countUnpublished,
  listUnpublished,
  prunePublished,
  type LifecycleEventSink,
  type RecordedEvent,
  type UnrecordedChange,
} from '../db/video-events-db.js';
import type { Executor } from '../db/driver.js';
import type { VideoRecord } from '../db/video-fields.js';
import type { Logger } from '../log.js';
import { noMetrics, type Metrics } from '../metrics.js';
import type { PendingWorkNotes } from '../storage/pending-work.js';
import type { VideoJson } from '../videos/presenter.js';
import type { EventPublisher, PublishOutcome } from './publisher.js';
import { detailTypes, type EventStatus, type VideoEvent, type VideoEventDetail } from './video-events.js';

/**
 * The largest `detail` reelay sends. EventBridge takes 256 KiB per entry (and per call, which the publisher's batches
 * respect); a long transcript is the one field that can approach it, and it is left out above this size.
 */
export const maxDetailBytes = 200 * 1024;

export interface EventOutboxOptions {
  readonly executor: Executor;
  readonly publisher: EventPublisher;
  /** The video as the API shows it, without tokens (presentVideo with the deployment's playback policy). */
  readonly present: (video: VideoRecord) => VideoJson;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Where an unpublished event is noted for reconcile (shared/storage/pending-work.ts). */
  readonly pendingWork?: PendingWorkNotes;
  /** What the schema has: the sweeps do nothing on a schema without the outbox. */
  readonly capabilities?: CapabilityCache;
}

export interface SweepOptions {
  /** Events younger than this are left to the function that recorded them (it may be publishing right now). */
  readonly olderThanSeconds: number;
  readonly limit: number;
}

export interface SweepResult {
  readonly republished: number;
  /** Still unpublished after this sweep (its failures, and whatever the page did not reach). */
  readonly failed: number;
  /** True when the page was full: there may be more. */
  readonly more: boolean;
  /** Unpublished events left after the sweep (the gauge behind the "events unacknowledged" alarm); null without the outbox. */
  readonly unacknowledged: number | null;
  /** Published events older than the retention, removed. */
  readonly pruned: number;
}

/** How long published events are kept (for an operator's look at what was sent); default 7 days. */
export const defaultEventRetentionDays = 7;

/** The event an outbox row stands for: its detail-type, and the detail every delivery of it carries. */
export function videoEvent(
  source: { readonly eventId: string; readonly status: EventStatus; readonly occurredAt: Date; readonly video: VideoRecord },
  present: (video: VideoRecord) => VideoJson,
): VideoEvent {
  const video = present(source.video);
  const detail: VideoEventDetail = {
    eventId: source.eventId,
    videoId: source.video.id,
    ownerId: source.video.ownerId,
    status: source.status,
    occurredAt: source.occurredAt.toISOString(),
    video,
  };
  return { detailType: detailTypes[source.status], detail: fitted(detail) };
}

function fitted(detail: VideoEventDetail): VideoEventDetail {
  if (Buffer.byteLength(JSON.stringify(detail)) <= maxDetailBytes || detail.video.captions?.transcriptText == null) return detail;
  return { ...detail, video: { ...detail.video, captions: { ...detail.video.captions, transcriptText: null } }, omitted: ['captions.transcriptText'] };
}

export class EventOutbox implements LifecycleEventSink {
  readonly #executor: Executor;
  readonly #publisher: EventPublisher;
  readonly #present: (video: VideoRecord) => VideoJson;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #pendingWork: PendingWorkNotes | undefined;
  readonly #capabilities: CapabilityCache | undefined;

  constructor(options: EventOutboxOptions) {
    this.#executor = options.executor;
    this.#publisher = options.publisher;
    this.#present = options.present;
    this.#logger = options.logger;
    this.#metrics = options.metrics ?? noMetrics;
    this.#pendingWork = options.pendingWork;
    this.#capabilities = options.capabilities;
  }

  /** Publishes and acknowledges events just recorded. Never throws. */
  async recorded(events: readonly RecordedEvent[]): Promise<void> {
    const published = await this.publish(events);
    await this.acknowledge(published);
  }

  /**
   * Puts recorded events on the bus without acknowledging them; returns the ids that were published, for a caller that
   * acknowledges them in a statement it runs anyway (a deletion removes the row and acknowledges in one call).
   * Never throws.
   */
  async publish(events: readonly RecordedEvent[]): Promise<readonly string[]> {
    if (events.length === 0 || !this.#publisher.enabled) return [];
    const outcome = await this.#put(events.map((event) => videoEvent(event, this.#present)));
    this.#metrics.count('EventsPublished', outcome.published.length);
    if (outcome.failed.length > 0) await this.#deferred(outcome.failed.length, 'publish_failed');
    this.#logger.info('events.published', { events: events.map((event) => ({ eventId: event.eventId, videoId: event.videoId, status: event.status })), failed: outcome.failed });
    return outcome.published;
  }

  /** Marks published events acknowledged. A failure leaves them to the sweep (a duplicate delivery). Never throws. */
  async acknowledge(eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    try {
      await acknowledgeEvents(this.#executor, eventIds);
    } catch (error) {
      this.#logger.warn('events.acknowledge_failed', { eventIds, error });
      await this.#deferred(eventIds.length, 'acknowledge_failed');
    }
  }

  /** Before the outbox exists: publish the change now, once, with a new event id. Never throws. */
  async unrecorded(changes: readonly UnrecordedChange[]): Promise<void> {
    if (changes.length === 0 || !this.#publisher.enabled) return;
    const events = changes.map((change) =>
      videoEvent({ eventId: crypto.randomUUID(), status: change.status, occurredAt: change.video.updatedAt, video: change.video }, this.#present),
    );
    const outcome = await this.#put(events);
    this.#metrics.count('EventsPublishedDirectly', outcome.published.length);
    // Nothing keeps an event that fails here: the log line is all that is left of it.
    this.#logger.warn('events.published_directly', {
      reason: 'the schema has no events outbox (migration 0006 not applied): published best effort, not recorded',
      events: events.map((event) => ({ eventId: event.detail.eventId, videoId: event.detail.videoId, detailType: event.detailType })),
      failed: outcome.failed,
    });
  }

  /**
   * Republishes events left unpublished, oldest first, then prunes old published ones and counts what is left
   * (reconcile). Throws only when the database cannot be read.
   */
  async sweep(options: SweepOptions & { readonly retentionDays?: number }): Promise<SweepResult> {
    if (this.#capabilities !== undefined && !hasTable(await this.#capabilities.get(), 'video_events')) {
      return { republished: 0, failed: 0, more: false, unacknowledged: null, pruned: 0 };
    }
    let republished = 0;
    let failed = 0;
    let more = false;
    if (this.#publisher.enabled) {
      const events = await listUnpublished(this.#executor, options);
      if (events.length > 0) {
        const outcome = await this.#put(events.map((event) => videoEvent(event, this.#present)));
        await acknowledgeEvents(this.#executor, outcome.published);
        await countFailedAttempts(this.#executor, outcome.failed.map((failure) => failure.eventId));
        this.#metrics.count('EventsRepublished', outcome.published.length);
        this.#logger.info('events.republished', { republished: outcome.published.length, failed: outcome.failed });
        republished = outcome.published.length;
        failed = outcome.failed.length;
        more = events.length === options.limit;
      }
    }
    const pruned = await prunePublished(this.#executor, { olderThanDays: options.retentionDays ?? defaultEventRetentionDays, limit: 1000 });
    const unacknowledged = await countUnpublished(this.#executor);
    this.#metrics.gauge('EventsUnacknowledged', unacknowledged);
    return { republished, failed, more, unacknowledged, pruned };
  }

  async #put(events: readonly VideoEvent[]): Promise<PublishOutcome> {
    try {
      return await this.#publisher.publish(events);
    } catch (error) {
      // A publisher never throws by contract; one that does must still not fail a committed change.
      this.#logger.warn('events.publisher_threw', { error });
      return { published: [], failed: events.map((event) => ({ eventId: event.detail.eventId, code: 'PublisherError', message: String(error) })) };
    }
  }

  async #deferred(count: number, reason: 'publish_failed' | 'acknowledge_failed'): Promise<void> {
    this.#metrics.count('EventsDeferred', count, { dimensions: { Reason: reason } });
    await this.#pendingWork?.note('events', { count, reason });
  }
}
