/**
 * The Data API ⇄ JavaScript value mapping of driver.ts, in one place (as postgres-types.ts is for the
 * Postgres-protocol drivers): parameters become `SqlParameter`s with the type hints the Data API needs, and result
 * fields are typed from the column's `typeName`. Integers arrive as text (`longReturnType: STRING`, see
 * data-api-driver.ts), so int8 is decoded exactly.
 */
import type { ArrayValue, ColumnMetadata, Field, SqlParameter } from '@aws-sdk/client-rds-data';
import { isTypedValue, type ParamValue, type Params, type Row, type TypedValue } from './driver.js';

// ---------------------------------------------------------------------------------------------------------------
// Parameters

/** `YYYY-MM-DD HH:MM:SS.FFF` in UTC: the only timestamp text the TIMESTAMP type hint accepts. */
export function formatDataApiTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').slice(0, 23);
}

function encodeTyped(value: TypedValue): Pick<SqlParameter, 'value' | 'typeHint'> {
  switch (value.hint) {
    case 'uuid':
      return { value: { stringValue: String(value.value) }, typeHint: 'UUID' };
    case 'decimal':
      return { value: { stringValue: String(value.value) }, typeHint: 'DECIMAL' };
    case 'date':
      return { value: { stringValue: String(value.value) }, typeHint: 'DATE' };
    case 'timestamp': {
      const date = value.value instanceof Date ? value.value : new Date(String(value.value));
      return { value: { stringValue: formatDataApiTimestamp(date) }, typeHint: 'TIMESTAMP' };
    }
    case 'json':
      return { value: { stringValue: JSON.stringify(value.value) }, typeHint: 'JSON' };
  }
}

function encodeValue(value: ParamValue): Pick<SqlParameter, 'value' | 'typeHint'> {
  if (value === null || value === undefined) return { value: { isNull: true } };
  if (isTypedValue(value)) return encodeTyped(value);
  if (typeof value === 'string') return { value: { stringValue: value } };
  if (typeof value === 'boolean') return { value: { booleanValue: value } };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? { value: { longValue: value } } : { value: { doubleValue: value } };
  }
  if (typeof value === 'bigint') {
    const safe = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER);
    // The SDK writes longValue as a JS number, so larger values travel as exact text typed DECIMAL.
    return safe ? { value: { longValue: Number(value) } } : { value: { stringValue: value.toString() }, typeHint: 'DECIMAL' };
  }
  if (value instanceof Date) return { value: { stringValue: formatDataApiTimestamp(value) }, typeHint: 'TIMESTAMP' };
  if (value instanceof Uint8Array) return { value: { blobValue: value } };
  // The Data API has no array parameters (and plain objects have no SQL type): callers must say how to send them.
  throw new TypeError(`Unsupported parameter value ${Object.prototype.toString.call(value)}: pass lists and objects as sqlValue.json(...)`);
}

export function encodeDataApiParameters(params: Params = {}): SqlParameter[] {
  return Object.entries(params).map(([name, value]) => ({ name, ...encodeValue(value) }));
}

// ---------------------------------------------------------------------------------------------------------------
// Results

type ScalarKind = 'integer' | 'bigint' | 'float' | 'numeric' | 'boolean' | 'timestamp' | 'json' | 'bytea' | 'text';

const scalarKinds: Record<string, ScalarKind> = {
  int2: 'integer', int4: 'integer', smallint: 'integer', integer: 'integer', oid: 'integer',
  serial: 'integer', serial2: 'integer', serial4: 'integer', smallserial: 'integer',
  int8: 'bigint', bigint: 'bigint', bigserial: 'bigint', serial8: 'bigint',
  float4: 'float', float8: 'float', real: 'float', 'double precision': 'float',
  numeric: 'numeric', decimal: 'numeric',
  bool: 'boolean', boolean: 'boolean',
  timestamp: 'timestamp', timestamptz: 'timestamp',
  json: 'json', jsonb: 'json',
  bytea: 'bytea',
};

/** The element type of a Postgres array type name (`_int8` → `int8`), or undefined for a scalar type. */
function arrayElementType(typeName: string): string | undefined {
  return typeName.startsWith('_') ? typeName.slice(1) : undefined;
}

const timestampPattern =
  /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d(?::?\d\d)?(?::?\d\d)?)?$/;

/** Parses Data API timestamp text; text without an offset is UTC (timestamp without time zone reads as UTC). */
export function parseDataApiTimestamp(text: string): Date {
  const match = timestampPattern.exec(text.trim());
  if (!match) return new Date(Number.NaN);
  const [, year, month, day, hour, minute, second, fraction = '', offset] = match;
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  let epoch = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second), millis);
  if (offset && offset !== 'Z') {
    const sign = offset.startsWith('-') ? -1 : 1;
    const [hours = '0', minutes = '0', seconds = '0'] = offset.slice(1).match(/\d\d/g) ?? [];
    epoch -= sign * ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
  }
  return new Date(epoch);
}

function decodeScalar(value: string | number | boolean, typeName: string): unknown {
  switch (scalarKinds[typeName] ?? 'text') {
    case 'integer':
    case 'float':
      return typeof value === 'number' ? value : Number(value);
    case 'bigint':
      return typeof value === 'boolean' ? BigInt(value ? 1 : 0) : BigInt(value);
    case 'numeric':
      return String(value);
    case 'boolean':
      return typeof value === 'boolean' ? value : value === 't' || value === 'true';
    case 'timestamp':
      return parseDataApiTimestamp(String(value));
    case 'json':
      return JSON.parse(String(value));
    case 'bytea':
      // Only array elements get here: a bytea field arrives as blobValue, an element as base64 text.
      return new Uint8Array(Buffer.from(String(value), 'base64'));
    case 'text':
      return value;
  }
}

function decodeArray(array: ArrayValue, elementType: string): unknown[] {
  if (array.arrayValues) return array.arrayValues.map((inner) => (inner === null ? null : decodeArray(inner, elementType)));
  const elements: ReadonlyArray<string | number | boolean | null> | undefined =
    array.stringValues ?? array.longValues ?? array.doubleValues ?? array.booleanValues;
  return (elements ?? []).map((element) => (element === null || element === undefined ? null : decodeScalar(element, elementType)));
}

function decodeField(field: Field, typeName: string): unknown {
  if (field.isNull) return null;
  if (field.arrayValue !== undefined) return decodeArray(field.arrayValue, arrayElementType(typeName) ?? typeName);
  if (field.blobValue !== undefined) return new Uint8Array(field.blobValue);
  const scalar = field.stringValue ?? field.longValue ?? field.doubleValue ?? field.booleanValue;
  return scalar === undefined ? null : decodeScalar(scalar, typeName);
}

export function decodeDataApiRecords(records: readonly Field[][], columns: readonly ColumnMetadata[]): Row[] {
  const names = columns.map((column, index) => column.label ?? column.name ?? `?column?${index}`);
  const types = columns.map((column) => (column.typeName ?? '').toLowerCase());
  return records.map((record) => {
    const row: Row = {};
    record.forEach((field, index) => {
      row[names[index] ?? `?column?${index}`] = decodeField(field, types[index] ?? '');
    });
    return row;
  });
}
