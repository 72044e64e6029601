/**
 * The one write of a video's own text: its title and description, and nothing else. Both are basic columns (every
 * schema has them since 0001), so the statement needs no capability detection and works on a legacy schema as on
 * the latest.
 *
 * One UPDATE that sets only the fields given: concurrent edits are last-write-wins per field, and an edit never
 * overwrites what the pipeline writes to the same row meanwhile (PostgreSQL re-reads the row an UPDATE waited for, so
 * each statement changes only its own columns on the newest version). Ownership is part of the WHERE, so a refused
 * edit writes nothing. `updated_at` is left alone on purpose: ingest and reconcile take over a stuck video by that
 * clock (a stale claim, an upload nobody ingested, the retry window of an errored asset), so an edit must not move it.
 * Running the statement twice gives the same row, so the driver may repeat it after an unknown outcome.
 */
import { sqlValue, type Executor, type ParamValue } from './driver.js';
import { videoFromRow, type VideoRecord, type VideoStatus } from './video-fields.js';

/** What an edit may change; an absent field is left as it is, a null description clears it. */
export interface VideoTextChange {
  readonly title?: string | undefined;
  readonly description?: string | null | undefined;
}

export interface VideoTextUpdate {
  readonly id: string;
  readonly change: VideoTextChange;
  /** Only a video of this owner is changed; omit to change anyone's (admins). */
  readonly ownerId?: string;
  /** Statuses in which the video is not changed (the update finds no row). */
  readonly refuseStatuses?: readonly VideoStatus[];
}

/** The row after the edit, or null when no video matched (missing, another owner's, or in a refused status). */
export async function updateVideoText(executor: Executor, update: VideoTextUpdate): Promise<VideoRecord | null> {
  const params: Record<string, ParamValue> = { id: sqlValue.uuid(update.id) };
  const sets: string[] = [];
  if (update.change.title !== undefined) {
    sets.push('title = :title');
    params.title = update.change.title;
  }
  if (update.change.description !== undefined) {
    sets.push('description = :description');
    params.description = update.change.description;
  }
  if (sets.length === 0) throw new TypeError('updateVideoText: the change names no field');
  const where = ['id = :id'];
  if (update.ownerId !== undefined) {
    where.push('owner_id = :ownerId');
    params.ownerId = update.ownerId;
  }
  const refused = update.refuseStatuses ?? [];
  if (refused.length > 0) {
    where.push(`status NOT IN (${refused.map((_, index) => `:refused${index}`).join(', ')})`);
    refused.forEach((status, index) => (params[`refused${index}`] = status));
  }
  const { rows } = await executor.execute(`UPDATE videos SET ${sets.join(', ')} WHERE ${where.join(' AND ')} RETURNING *`, params, { idempotent: true });
  return rows[0] ? videoFromRow(rows[0]) : null;
}
