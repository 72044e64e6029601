/**
 * reelay's lifecycle events, as apps receive them on Amazon EventBridge: the source, the detail-types (EventBridge's
 * Title Case convention, like S3's `Object Created`) and the `detail` every one of them carries. docs/EVENTS.md
 * publishes the same contract as JSON Schema; test/events/video-events.test.ts checks the two agree.
 */
import type { VideoJson } from '../videos/presenter.js';

export const eventSource = 'reelay';

/**
 * What a video became, as an event says it. The video statuses of the API, except that `deleting` (a deletion being
 * carried out) is announced once, as `deleted`: from the app's side the video is gone when DELETE is accepted.
 */
export const eventStatuses = ['awaiting_upload', 'uploaded', 'processing', 'ready', 'errored', 'cancelled', 'deleted'] as const;
export type EventStatus = (typeof eventStatuses)[number];

/** The detail-type of each status. */
export const detailTypes = {
  awaiting_upload: 'Video Upload Created',
  uploaded: 'Video Uploaded',
  processing: 'Video Processing',
  ready: 'Video Ready',
  errored: 'Video Errored',
  cancelled: 'Video Upload Cancelled',
  deleted: 'Video Deleted',
} as const satisfies Record<EventStatus, string>;

export type DetailType = (typeof detailTypes)[EventStatus];
export const detailTypeNames: readonly DetailType[] = Object.values(detailTypes);

export function isEventStatus(value: unknown): value is EventStatus {
  return typeof value === 'string' && (eventStatuses as readonly string[]).includes(value);
}

/** The `detail` of every reelay event. */
export interface VideoEventDetail {
  /** Stable across redeliveries (at-least-once): deduplicate on it. */
  readonly eventId: string;
  readonly videoId: string;
  /** The `sub` of the user who uploaded the video. */
  readonly ownerId: string;
  readonly status: EventStatus;
  /** When the change was committed (ISO 8601, UTC). */
  readonly occurredAt: string;
  /** The video as GET /api/videos/{id} presents it at that moment, without playback tokens. */
  readonly video: VideoJson;
  /**
   * Fields left out to keep the event within EventBridge's entry size (`captions.transcriptText` of a long video):
   * read them from the API. Absent when nothing was left out.
   */
  readonly omitted?: readonly string[];
}

/** One event ready to be put on the bus. */
export interface VideoEvent {
  readonly detailType: DetailType;
  readonly detail: VideoEventDetail;
}
