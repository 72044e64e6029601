/**
 * The one UPDATE of `videos` (the INSERT is video-insert.ts): a write names the row and its guarded change ({@link WritePlan}), gives the Mux fields
 * it carries and how they merge into their columns ({@link MuxWriteMode}); every field whose column exists is written,
 * the rest are returned for deferral. With a Mux webhook event, the update is wrapped in the statement that records it
 * (see VideoDB.applyMuxEvent).
 *
 * The row is locked and read before it is changed (`UPDATE … FROM (SELECT … FOR UPDATE)`), so the statement knows the
 * status it moved the video from: when it changed, the same statement records the lifecycle event in the outbox
 * (video-events-db.ts), or, before the outbox exists, returns the change for a direct publish. Locking makes a
 * concurrent writer's pre-image its predecessor's result (PostgreSQL re-reads a locked row), never a stale one.
 */
import { hasColumn, hasTable, type SchemaCapabilities } from './capabilities.js';
import type { Executor, ParamValue, Params, Row } from './driver.js';
import { utcNow } from './schema.js';
import { encodeColumn, muxFieldColumns, muxFieldNames, type MuxField, type MuxFields } from './video-fields.js';
import type { MuxEventKey } from './video-types.js';
import { earliestFields, muxStatusRank } from '../videos/status-rules.js';
import { eventColumns, eventStatusOf, previousStatusColumn, recordedEventOf, recordEventsSql, statusChangedSql, unrecordedChangeOf, type RecordedEvent, type UnrecordedChange } from './video-events-db.js';

/** Named parameters collected while a statement is built: `add(value)` returns its placeholder (`:v1`, …). */
export class SqlParams {
  readonly values: Record<string, ParamValue> = {};
  #count = 0;

  constructor(private readonly prefix = 'v') {}

  add(value: ParamValue): string {
    this.#count += 1;
    const name = `${this.prefix}${this.#count}`;
    this.values[name] = value;
    return `:${name}`;
  }
}

/**
 * How a Mux field's value goes into its column. `overwrite`: the value. `progress`: the value, but `readyAt` keeps
 * its earliest time. `restore` (deferred data, adopted assets): only empty columns are filled, a Mux status only
 * moves forward, `audioEnhanced` only turns on, `ingestAttempts` only grows, `readyAt` keeps the earliest time.
 */
export type MuxWriteMode = 'overwrite' | 'progress' | 'restore';

function assignMuxColumn(mode: MuxWriteMode, field: MuxField, column: string, value: string): string {
  if (mode === 'overwrite') return value;
  if (earliestFields.has(field)) return `LEAST(${column}, ${value})`;
  if (mode === 'progress') return value;
  if (field === 'status') return `CASE WHEN ${muxStatusRank(column)} < ${muxStatusRank(value)} THEN ${value} ELSE ${column} END`;
  if (field === 'audioEnhanced') return `(coalesce(${column}, FALSE) OR ${value})`;
  if (field === 'ingestAttempts') return `GREATEST(${column}, ${value})`;
  return `coalesce(${column}, ${value})`;
}

export interface WritePlan {
  /** The WHERE that finds the row; null when the schema cannot locate any (an event is then only recorded). */
  readonly where: string | null;
  /** SET clauses besides the Mux fields and `updated_at`. */
  readonly sets: readonly string[];
  /** The compare-and-set condition the row must meet. */
  readonly guard: string;
}

export interface VideoWrite {
  /** The row and its change on this schema; null: nothing to update (the event is only recorded). */
  readonly plan: ((capabilities: SchemaCapabilities, params: SqlParams) => WritePlan) | null;
  readonly mux?: Partial<MuxFields> | undefined;
  readonly muxMode?: MuxWriteMode;
  readonly event?: MuxEventKey;
}

export interface WriteOutcome {
  /** The row after the update; undefined when none matched or a guard refused. */
  readonly row: Row | undefined;
  /** The given Mux fields that were written (the others have no column yet). */
  readonly writable: readonly MuxField[];
  readonly recorded: boolean;
  readonly duplicate: boolean;
  /** A video is bound to the event's asset (or, without an event, was updated). */
  readonly bound: boolean;
  /** The lifecycle event the statement recorded in the outbox (its status changed). */
  readonly event: RecordedEvent | null;
  /** Without the outbox (before 0006): the status change to publish directly. */
  readonly change: UnrecordedChange | null;
}

export function givenMuxFields(partial: Partial<MuxFields> | undefined): MuxField[] {
  return partial ? muxFieldNames.filter((field) => partial[field] !== undefined) : [];
}

/** Runs one write on the schema `capabilities` describes. */
export async function executeVideoWrite(executor: Executor, capabilities: SchemaCapabilities, write: VideoWrite): Promise<WriteOutcome> {
  let params = new SqlParams();
  const planned = write.plan?.(capabilities, params) ?? null;
  const located = planned !== null && planned.where !== null ? { ...planned, where: planned.where } : null;
  if (located === null) params = new SqlParams();
  const writable = located === null ? [] : givenMuxFields(write.mux).filter((field) => hasColumn(capabilities, 'videos', muxFieldColumns[field].column));
  let update: string | null = null;
  if (located !== null) {
    const sets = [...located.sets];
    for (const field of writable) {
      const column = muxFieldColumns[field].column;
      const value = params.add(encodeColumn(muxFieldColumns[field], write.mux?.[field]));
      sets.push(`${column} = ${assignMuxColumn(write.muxMode ?? 'overwrite', field, column, value)}`);
    }
    sets.push(`updated_at = ${utcNow}`);
    update = `UPDATE videos SET ${sets.join(', ')}
                FROM (SELECT id AS reelay_locked_id, status AS ${previousStatusColumn} FROM videos WHERE ${located.where} FOR UPDATE) AS reelay_before
               WHERE videos.id = reelay_before.reelay_locked_id AND ${located.guard}`;
  }
  const returning = `RETURNING videos.*, reelay_before.${previousStatusColumn}`;
  const outbox = hasTable(capabilities, 'video_events');
  // The event CTE and its columns: recorded when the status changed (on a schema with the outbox).
  const events = outbox ? `, reelay_events AS (${recordEventsSql('applied', eventStatusOf('applied.status'), statusChangedSql('applied'))})` : '';
  const eventSelect = outbox ? `, ${eventColumns('reelay_events')}` : '';
  const eventJoin = outbox ? ' LEFT JOIN reelay_events ON reelay_events.video_id = applied.id' : '';
  const values = params.values as Params;
  const done = (row: Row | undefined, recorded: boolean, duplicate: boolean, bound: boolean): WriteOutcome => ({
    row,
    writable,
    recorded,
    duplicate,
    bound,
    event: outbox ? recordedEventOf(row) : null,
    change: outbox ? null : unrecordedChangeOf(row),
  });
  if (write.event === undefined) {
    if (update === null) return done(undefined, false, false, false);
    const { rows } = await executor.execute(`WITH applied AS (${update} ${returning})${events} SELECT applied.*${eventSelect} FROM applied${eventJoin}`, values);
    return done(rows[0], false, false, rows.length > 0);
  }
  // Whether a video is bound to the event's asset, seen in the statement's snapshot (before its own update), so an
  // event for an asset that no video owns can be told from one a guard refused.
  const bound = `EXISTS (SELECT 1 FROM videos WHERE ${located?.where ?? 'FALSE'})`;
  const single = (first: Row | undefined, recorded: boolean, duplicate: boolean) =>
    done(first?.id == null ? undefined : first, recorded, duplicate, first?.reelay_event_bound === true);
  if (!hasTable(capabilities, 'mux_webhook_events')) {
    if (update === null) return done(undefined, false, false, false);
    const { rows } = await executor.execute(
      `WITH applied AS (${update} ${returning})${events}
       SELECT ${bound} AS reelay_event_bound, applied.*${eventSelect} FROM (SELECT 1) AS single LEFT JOIN applied ON TRUE${eventJoin}`,
      values,
    );
    return single(rows[0], false, false);
  }
  const record = `INSERT INTO mux_webhook_events (event_id, type, object_id, processed_at)
    VALUES (${params.add(write.event.id)}, ${params.add(write.event.type)}, ${params.add(write.event.objectId)}, ${utcNow})
    ON CONFLICT (event_id) DO NOTHING RETURNING event_id`;
  if (update === null) {
    const { rowCount } = await executor.execute(record, values);
    return done(undefined, rowCount > 0, rowCount === 0, false);
  }
  const { rows } = await executor.execute(
    `WITH recorded AS (${record}),
          applied AS (${update} AND EXISTS (SELECT 1 FROM recorded) ${returning})${events}
     SELECT (SELECT count(*) FROM recorded)::int AS reelay_event_recorded, ${bound} AS reelay_event_bound, applied.*${eventSelect}
       FROM (SELECT 1) AS single LEFT JOIN applied ON TRUE${eventJoin}`,
    values,
  );
  const recorded = Number(rows[0]?.reelay_event_recorded ?? 0) > 0;
  return single(rows[0], recorded, !recorded);
}
