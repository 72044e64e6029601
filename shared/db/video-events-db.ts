/**
 * The events outbox's rows (migration 0006): the SQL that records a lifecycle event inside the statement that
 * changes a video, and the statements that acknowledge, list, and prune events. What an event says, and how it is
 * put on the bus, is shared/events/.
 *
 * An event carries the row as it was at the change (`to_jsonb` of the updated or inserted row): the first delivery
 * and every republication are built from that same snapshot, so they say the same thing.
 */
import { sqlValue, type Executor, type Row } from './driver.js';
import { decodeTimestamp } from './timestamp-text.js';
import { schemaTables, utcNow } from './schema.js';
import { videoFromRow, type VideoRecord } from './video-fields.js';
import { isEventStatus, type EventStatus } from '../events/video-events.js';

/** An event as the outbox holds it. */
export interface RecordedEvent {
  readonly eventId: string;
  readonly videoId: string;
  readonly status: EventStatus;
  readonly occurredAt: Date;
  /** The video as it was when the event was recorded. */
  readonly video: VideoRecord;
}

/** A status change on a schema without the outbox (before 0006): published directly, best effort. */
export interface UnrecordedChange {
  readonly status: EventStatus;
  readonly video: VideoRecord;
}

/** The columns a statement that recorded an event returns beside the video's, prefixed so they never meet one. */
const returned = {
  eventId: 'reelay_event_id',
  status: 'reelay_event_status',
  video: 'reelay_event_video',
  occurredAt: 'reelay_event_occurred_at',
} as const;

/** The column a locked pre-image of the row gives its status under (video-write.ts). */
export const previousStatusColumn = 'reelay_previous_status';

/** What a statement returns beside the video's own columns. */
const addedColumns: ReadonlySet<string> = new Set([...Object.values(returned), previousStatusColumn]);

/**
 * A CTE body recording one event per row of `source` (a CTE of `videos` rows) that meets `condition`, with the event
 * status `status` (SQL). `RETURNING` gives what {@link eventJoin} selects.
 */
export function recordEventsSql(source: string, status: string, condition = 'TRUE'): string {
  return `INSERT INTO video_events (video_id, status, video)
          SELECT ${source}.id, ${status}, to_jsonb(${source}) - '${previousStatusColumn}' FROM ${source} WHERE ${condition}
          RETURNING event_id, video_id, status, video, occurred_at`;
}

/** The select list naming the recorded event's columns of the CTE `events` (joined on the video id). */
export function eventColumns(events: string): string {
  return `${events}.event_id AS ${returned.eventId}, ${events}.status AS ${returned.status}, ${events}.video AS ${returned.video}, ${events}.occurred_at AS ${returned.occurredAt}`;
}

/** SQL: the status of a video row as an event states it (`deleting` is announced as `deleted`). */
export function eventStatusOf(column: string): string {
  return `CASE WHEN ${column} = 'deleting' THEN 'deleted' ELSE ${column} END`;
}

/**
 * SQL condition: the row's status changed in this statement to one that is announced. The pre-image's status is
 * `previousStatusColumn` (video-write.ts locks and reads it).
 */
export function statusChangedSql(row: string): string {
  return `${row}.status IS DISTINCT FROM ${row}.${previousStatusColumn}`;
}

/** The event a statement recorded, from its returned row; null when it recorded none. */
export function recordedEventOf(row: Row | undefined): RecordedEvent | null {
  const eventId = row?.[returned.eventId];
  if (row === undefined || eventId === null || eventId === undefined) return null;
  return eventFromColumns(String(eventId), row[returned.status], row[returned.video], row[returned.occurredAt]);
}

/** The row without the event's columns (what the video's own decoders and schema checks look at). */
export function withoutEventColumns(row: Row): Row {
  const own: Row = {};
  for (const [key, value] of Object.entries(row)) {
    if (!addedColumns.has(key)) own[key] = value;
  }
  return own;
}

/** On a schema without the outbox: the change the statement made, to publish directly; null when none. */
export function unrecordedChangeOf(row: Row | undefined): UnrecordedChange | null {
  if (row === undefined || row.id === null || row.id === undefined || !(previousStatusColumn in row)) return null;
  const status = row.status === 'deleting' ? 'deleted' : row.status;
  if (row[previousStatusColumn] === row.status || !isEventStatus(status)) return null;
  return { status, video: videoFromRow(withoutEventColumns(row)) };
}

function eventFromColumns(eventId: string, status: unknown, video: unknown, occurredAt: unknown): RecordedEvent {
  if (!isEventStatus(status)) throw new TypeError(`video_events row ${eventId} has status ${String(status)}, not an event status`);
  const snapshot = videoFromSnapshot(video);
  return { eventId, videoId: snapshot.id, status, occurredAt: occurredAt instanceof Date ? occurredAt : decodeTimestamp(String(occurredAt)), video: snapshot };
}

const snapshotTimestamps: ReadonlySet<string> = new Set(
  schemaTables.find((table) => table.name === 'videos')?.columns.filter((column) => column.type.startsWith('timestamp')).map((column) => column.name) ?? [],
);

/**
 * A row snapshot (`to_jsonb(videos row)`) as a record: JSON has no timestamps (they are ISO text without an offset,
 * UTC by reelay's convention) and numbers where the drivers give decimals as text.
 */
export function videoFromSnapshot(snapshot: unknown): VideoRecord {
  if (snapshot === null || typeof snapshot !== 'object' || Array.isArray(snapshot)) throw new TypeError('a video snapshot must be a JSON object');
  const row: Row = {};
  for (const [column, value] of Object.entries(snapshot as Record<string, unknown>)) {
    if (value !== null && snapshotTimestamps.has(column)) row[column] = decodeTimestamp(String(value));
    else if (column === 'transcript_confidence' && typeof value === 'number') row[column] = String(value);
    else row[column] = value;
  }
  return videoFromRow(row);
}

/** SQL: the UPDATE acknowledging the events whose ids the JSON array parameter `:<param>` lists (unpublished ones only). */
export function acknowledgeSql(param: string): string {
  return `UPDATE video_events SET published_at = ${utcNow}, publish_attempts = publish_attempts + 1
           WHERE event_id IN (SELECT CAST(value AS uuid) FROM jsonb_array_elements_text(CAST(:${param} AS jsonb))) AND published_at IS NULL`;
}

/** Marks events published (the function that put them on the bus, or the sweep). Only unpublished rows change. */
export async function acknowledgeEvents(executor: Executor, eventIds: readonly string[]): Promise<number> {
  if (eventIds.length === 0) return 0;
  const { rowCount } = await executor.execute(acknowledgeSql('ids'), { ids: sqlValue.json([...eventIds]) }, { idempotent: true });
  return rowCount;
}

/** Counts a failed attempt of the sweep (for the diagnostics and the log: an event that keeps failing stands out). */
export async function countFailedAttempts(executor: Executor, eventIds: readonly string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await executor.execute(
    `UPDATE video_events SET publish_attempts = publish_attempts + 1
      WHERE event_id IN (SELECT CAST(value AS uuid) FROM jsonb_array_elements_text(CAST(:ids AS jsonb))) AND published_at IS NULL`,
    { ids: sqlValue.json([...eventIds]) },
    { idempotent: true },
  );
}

/** Unpublished events recorded at least `olderThanSeconds` ago, oldest first: what the sweep republishes. */
export async function listUnpublished(executor: Executor, options: { readonly olderThanSeconds: number; readonly limit: number }): Promise<RecordedEvent[]> {
  const { rows } = await executor.execute(
    `SELECT event_id, status, video, occurred_at FROM video_events
      WHERE published_at IS NULL AND occurred_at < ${utcNow} - CAST(:olderThanSeconds AS integer) * interval '1 second'
      ORDER BY occurred_at, event_id LIMIT :limit`,
    { olderThanSeconds: options.olderThanSeconds, limit: options.limit },
    { idempotent: true },
  );
  return rows.map((row) => eventFromColumns(String(row.event_id), row.status, row.video, row.occurred_at));
}

/** How many events are unpublished (for the gauge and the diagnostics). */
export async function countUnpublished(executor: Executor): Promise<number> {
  const { rows } = await executor.execute('SELECT count(*)::int AS unpublished FROM video_events WHERE published_at IS NULL', {}, { idempotent: true });
  return Number(rows[0]?.unpublished ?? 0);
}

/** Removes events published more than `olderThanDays` ago, at most `limit` per call; returns how many. */
export async function prunePublished(executor: Executor, options: { readonly olderThanDays: number; readonly limit: number }): Promise<number> {
  const { rowCount } = await executor.execute(
    `DELETE FROM video_events WHERE event_id IN (
       SELECT event_id FROM video_events
        WHERE published_at < ${utcNow} - CAST(:olderThanDays AS integer) * interval '1 day'
        ORDER BY published_at LIMIT :limit)`,
    { olderThanDays: options.olderThanDays, limit: options.limit },
    { idempotent: true },
  );
  return rowCount;
}

/**
 * Where the data layer hands the events its statements recorded, once committed (shared/events/outbox.ts puts them on
 * the bus). Its methods never throw: the change is committed whatever happens to its event.
 */
export interface LifecycleEventSink {
  /** Publishes and acknowledges events the outbox holds. */
  recorded(events: readonly RecordedEvent[]): Promise<void>;
  /** Publishes, best effort, changes made on a schema without the outbox. */
  unrecorded(changes: readonly UnrecordedChange[]): Promise<void>;
}

/** No publishing (tests of the data layer alone): recorded events stay for the sweep. */
export const noLifecycleEvents: LifecycleEventSink = { recorded: async () => {}, unrecorded: async () => {} };
