/**
 * The INSERT of a new video, on whatever schema the database has at the moment the statement runs.
 *
 * With every Mux column known to exist, it names its columns (the others take their defaults). While the container
 * believes columns missing, it sends the whole record as one JSON document and lets PostgreSQL fit it to the live
 * row type (`jsonb_populate_record(NULL::videos, …)` ignores keys that are not columns): a migration applied since
 * the last catalog read is used at once, with no extra call, and the returned row (`RETURNING *`, every live
 * column) tells the container that its cached answer is stale.
 */
import type { SchemaCapabilities } from './capabilities.js';
import { hasColumn } from './capabilities.js';
import { sqlValue, type Executor, type JsonValue, type ParamValue, type Params, type Row } from './driver.js';
import { isDatabaseError, SqlState } from '../errors.js';
import { basicVideoColumns, muxColumnNames, muxColumns } from './schema.js';
import { basicColumns, encodeColumn, muxFieldColumns, videoFromRow, type MuxField } from './video-fields.js';
import type { NewVideo } from './video-types.js';
import { SqlParams } from './video-write.js';
import { eventColumns, recordedEventOf, recordEventsSql, withoutEventColumns, type RecordedEvent, type UnrecordedChange } from './video-events-db.js';
import { hasTable } from './capabilities.js';
import { isEventStatus } from '../events/video-events.js';

export interface InsertOutcome {
  readonly row: Row;
  /** The given Mux fields that went into columns; the others are the caller's to defer. */
  readonly writable: readonly MuxField[];
  /** Mux columns the row was written without. */
  readonly missingColumns: readonly string[];
  /** The live schema differs from `capabilities`: the caller's cache is stale. */
  readonly schemaChanged: boolean;
  /** The `Video Upload Created` event the statement recorded in the outbox. */
  readonly event: RecordedEvent | null;
  /** Without the outbox (before 0006): the creation, to publish directly. */
  readonly change: UnrecordedChange | null;
}

/** The INSERT, and in the same statement its `Video Upload Created` event when the outbox exists. */
function recordingCreation(sql: string, outbox: boolean): string {
  if (!outbox) return sql;
  return `WITH created AS (${sql}), reelay_events AS (${recordEventsSql('created', 'created.status')})
          SELECT created.*, ${eventColumns('reelay_events')} FROM created LEFT JOIN reelay_events ON reelay_events.video_id = created.id`;
}

const modelColumns: ReadonlySet<string> = new Set([...basicVideoColumns, ...muxColumns].map((column) => column.name));

/** The INSERT naming the basic columns and the Mux fields in `writable` (those whose column exists). */
export function insertVideoStatement(input: NewVideo, writable: readonly MuxField[]): { sql: string; params: Params } {
  const columns: string[] = [];
  const params = new SqlParams('p');
  const placeholders: string[] = [];
  const add = (column: string, value: ParamValue) => {
    columns.push(column);
    placeholders.push(params.add(value));
  };
  for (const [field, value] of basicValues(input)) if (value !== undefined) add(basicColumns[field].column, encodeColumn(basicColumns[field], value));
  for (const field of writable) add(muxFieldColumns[field].column, encodeColumn(muxFieldColumns[field], input.mux?.[field]));
  return { sql: `INSERT INTO videos (${columns.join(', ')}) VALUES (${placeholders.join(', ')}) RETURNING *`, params: params.values as Params };
}

/**
 * The INSERT that fits the record to the live row type. Explicit NULLs would replace column defaults, so the model's
 * defaults (schema.ts) are merged under the given values, in SQL, where they are evaluated as PostgreSQL would.
 */
export function adaptiveInsertVideoStatement(input: NewVideo): { sql: string; params: Params } {
  const document: Record<string, JsonValue> = {};
  for (const [field, value] of basicValues(input)) if (value !== null && value !== undefined) document[basicColumns[field].column] = asJson(value);
  for (const [field, value] of Object.entries(input.mux ?? {}) as [MuxField, unknown][]) {
    if (value !== null && value !== undefined) document[muxFieldColumns[field].column] = asJson(value);
  }
  const defaults = [...basicVideoColumns, ...muxColumns]
    .flatMap((column) => ('default' in column && !(column.name in document) ? [`'${column.name}', ${column.default}`] : []));
  return {
    sql: `INSERT INTO videos
          SELECT given.* FROM jsonb_populate_record(NULL::videos, jsonb_build_object(${defaults.join(', ')}) || CAST(:document AS jsonb)) AS given
          RETURNING *`,
    params: { document: sqlValue.json(document) },
  };
}

/** Inserts `input`, writing every given Mux field the live schema has a column for. */
export async function insertVideo(executor: Executor, capabilities: SchemaCapabilities, input: NewVideo, given: readonly MuxField[]): Promise<InsertOutcome> {
  const outbox = hasTable(capabilities, 'video_events');
  // The event the statement recorded, or (without the outbox) the creation of the final row, to publish directly.
  const announced = (returned: Row, row: Row): Pick<InsertOutcome, 'event' | 'change'> =>
    outbox
      ? { event: recordedEventOf(returned), change: null }
      : { event: null, change: { status: isEventStatus(row.status) ? row.status : 'awaiting_upload', video: videoFromRow(row) } };
  const created = (returned: Row) => {
    const row = withoutEventColumns(returned);
    return { row, ...announced(returned, row) };
  };
  if (capabilities.mux.exist) {
    const writable = given.filter((field) => hasColumn(capabilities, 'videos', muxFieldColumns[field].column));
    const insert = insertVideoStatement(input, writable);
    const { rows } = await executor.execute(recordingCreation(insert.sql, outbox), insert.params);
    return { ...created(rows[0] as Row), writable, missingColumns: [], schemaChanged: false };
  }
  let returned: Row;
  try {
    const insert = adaptiveInsertVideoStatement(input);
    returned = (await executor.execute(recordingCreation(insert.sql, outbox), insert.params)).rows[0] as Row;
  } catch (error) {
    // A NOT NULL column this code does not know (a schema newer than the code) has no value in the document.
    if (!isDatabaseError(error, SqlState.notNullViolation)) throw error;
    const insert = insertVideoStatement(input, []);
    const { rows } = await executor.execute(recordingCreation(insert.sql, outbox), insert.params);
    return { ...created(rows[0] as Row), writable: [], missingColumns: capabilities.mux.missing, schemaChanged: true };
  }
  let row = withoutEventColumns(returned);
  const unknown = Object.keys(row).filter((column) => !modelColumns.has(column));
  if (unknown.length > 0) {
    // Columns this code does not know got NULL, not their defaults: give them their defaults (rare: a schema newer
    // than the code, found by a container that still believed it older).
    const sets = unknown.map((column) => `"${column.replaceAll('"', '""')}" = DEFAULT`).join(', ');
    row = (await executor.execute(`UPDATE videos SET ${sets} WHERE id = :id RETURNING *`, { id: sqlValue.uuid(String(row.id)) })).rows[0] as Row;
  }
  const missingColumns = muxColumnNames.filter((column) => !(column in row));
  const writable = given.filter((field) => muxFieldColumns[field].column in row);
  const schemaChanged = missingColumns.join() !== capabilities.mux.missing.join() || unknown.length > 0;
  return { row, writable, missingColumns, schemaChanged, ...announced(returned, row) };
}

function basicValues(input: NewVideo): [keyof typeof basicColumns, unknown][] {
  return (Object.keys(basicColumns) as (keyof typeof basicColumns)[])
    .filter((field) => field !== 'createdAt' && field !== 'updatedAt')
    .map((field) => [field, field === 'status' ? (input.status ?? 'awaiting_upload') : input[field]]);
}

function asJson(value: unknown): JsonValue {
  return value instanceof Date ? value.toISOString() : (value as JsonValue);
}
