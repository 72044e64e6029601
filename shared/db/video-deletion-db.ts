/**
 * The rows of a deletion (shared/videos/video-deletion.ts): marking a video `deleting`, finding the deletions still
 * to finish, and removing the row. Only basic columns (0001) are read or written, so every statement works on every
 * schema. The row is deleted, not kept as a tombstone; `deferred_mux_data` rows go with it (ON DELETE CASCADE, 0002).
 */
import { sqlValue, type Executor } from './driver.js';
import { utcNow } from './schema.js';
import { videoFromRow, type VideoRecord, type VideoStatus } from './video-fields.js';
import {
  acknowledgeSql,
  eventColumns,
  previousStatusColumn,
  recordedEventOf,
  recordEventsSql,
  withoutEventColumns,
  type RecordedEvent,
  type UnrecordedChange,
} from './video-events-db.js';

export interface MarkedForDeletion {
  /** The row as it is now (status `deleting`). */
  readonly video: VideoRecord;
  /** The status it had when this statement marked it (`deleting` when it was already being deleted). */
  readonly previousStatus: VideoStatus;
  /** The `Video Deleted` event the first mark recorded in the outbox. */
  readonly event: RecordedEvent | null;
  /** Without the outbox: the first mark, to publish directly. */
  readonly change: UnrecordedChange | null;
}

/**
 * Marks the video `deleting` and says what it was, in one statement. The row is locked by the inner SELECT … FOR
 * UPDATE, so of two concurrent marks the second reads the first one's `deleting` (PostgreSQL re-reads a locked row
 * in READ COMMITTED). Null when no video matched (missing, or another owner's when `ownerId` is given). `updated_at`
 * is set only on the first mark: it dates the deletion, which reconcile's grace period is measured from. With
 * `outbox`, the first mark also records the `Video Deleted` event, in the same statement.
 */
export async function markDeleting(
  executor: Executor,
  target: { readonly id: string; readonly ownerId?: string },
  options: { readonly outbox?: boolean } = {},
): Promise<MarkedForDeletion | null> {
  const owned = target.ownerId === undefined ? '' : ' AND owner_id = :ownerId';
  const mark = `UPDATE videos AS v
        SET status = 'deleting',
            updated_at = CASE WHEN before.status = 'deleting' THEN v.updated_at ELSE ${utcNow} END
       FROM (SELECT id, status FROM videos WHERE id = :id${owned} FOR UPDATE) AS before
      WHERE v.id = before.id
  RETURNING v.*, before.status AS ${previousStatusColumn}`;
  const sql = options.outbox === true
    ? `WITH marked AS (${mark}),
            reelay_events AS (${recordEventsSql('marked', `'deleted'`, `marked.${previousStatusColumn} <> 'deleting'`)})
       SELECT marked.*, ${eventColumns('reelay_events')} FROM marked LEFT JOIN reelay_events ON reelay_events.video_id = marked.id`
    : mark;
  const { rows } = await executor.execute(
    sql,
    { id: sqlValue.uuid(target.id), ...(target.ownerId === undefined ? {} : { ownerId: target.ownerId }) },
    { idempotent: true },
  );
  const row = rows[0];
  if (row === undefined) return null;
  const previousStatus = String(row[previousStatusColumn]) as VideoStatus;
  const video = videoFromRow(withoutEventColumns(row));
  const first = previousStatus !== 'deleting';
  return {
    video,
    previousStatus,
    event: options.outbox === true ? recordedEventOf(row) : null,
    change: options.outbox !== true && first ? { status: 'deleted', video } : null,
  };
}

/**
 * Removes the row of a video being deleted; false when it was gone already (or is not `deleting`). `acknowledge`
 * names published events to mark in the same statement (a data-modifying CTE runs whatever the DELETE finds), so a
 * deletion finished by its request costs no extra call for its event.
 */
export async function deleteVideoRow(executor: Executor, id: string, acknowledge: readonly string[] = []): Promise<boolean> {
  const acknowledging = acknowledge.length === 0
    ? ''
    : `WITH acknowledged AS (${acknowledgeSql('acknowledge')} RETURNING event_id) `;
  const { rowCount } = await executor.execute(
    `${acknowledging}DELETE FROM videos WHERE id = :id AND status = 'deleting'`,
    { id: sqlValue.uuid(id), ...(acknowledge.length === 0 ? {} : { acknowledge: sqlValue.json([...acknowledge]) }) },
    { idempotent: true },
  );
  return rowCount > 0;
}

/** Deletions marked at least `olderThanSeconds` ago, oldest first: what reconcile finishes. */
export async function listDeleting(executor: Executor, options: { readonly olderThanSeconds: number; readonly limit: number }): Promise<VideoRecord[]> {
  const { rows } = await executor.execute(
    `SELECT * FROM videos
      WHERE status = 'deleting' AND updated_at < ${utcNow} - CAST(:olderThanSeconds AS integer) * interval '1 second'
      ORDER BY updated_at, id LIMIT :limit`,
    { olderThanSeconds: options.olderThanSeconds, limit: options.limit },
    { idempotent: true },
  );
  return rows.map(videoFromRow);
}
