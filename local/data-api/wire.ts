/**
 * Translation between the Data API's JSON (restJson1, as @aws-sdk/client-rds-data sends and reads it) and Postgres
 * text values, the way the real service does it for Aurora PostgreSQL:
 * - parameters: stringValue binds as varchar (so a uuid or jsonb column needs a typeHint, as on AWS), longValue as
 *   int8, doubleValue as float8, booleanValue as bool, blobValue as bytea; typeHint UUID/TIMESTAMP/DATE/TIME/DECIMAL/
 *   JSON binds the string as that type;
 * - results: integers as longValue (stringValue with `longReturnType: STRING`), floats as doubleValue, numeric as
 *   stringValue (or a number with `decimalReturnType: DOUBLE_OR_LONG`), bool as booleanValue, bytea as blobValue,
 *   timestamps as UTC text without an offset, arrays as arrayValue, everything else as stringValue.
 *
 * int8 values are kept as digit strings all the way into the response body ({@link WireInteger}) so nothing is
 * rounded on this side.
 */

import { decodeArray } from '../../shared/db/postgres-types.js';
import type { Backend, RawField, TypeInfo } from './backend.js';

/** An integer to be written into JSON as a bare number with exactly these digits. */
export class WireInteger {
  constructor(readonly digits: string) {}
}

/** A JSON number spelled as Postgres spelled it (floats, numerics read as DOUBLE_OR_LONG). */
export class WireNumber {
  constructor(readonly text: string) {}
}

type WireScalar = string | boolean | WireInteger | WireNumber | null;

export type WireArray =
  | { readonly stringValues: Array<string | null> }
  | { readonly longValues: Array<WireInteger | null> }
  | { readonly doubleValues: Array<WireNumber | string | null> }
  | { readonly booleanValues: Array<boolean | null> }
  | { readonly arrayValues: WireArray[] };

export type WireField =
  | { readonly isNull: true }
  | { readonly stringValue: string }
  | { readonly longValue: WireInteger }
  | { readonly doubleValue: WireNumber | string }
  | { readonly booleanValue: boolean }
  | { readonly blobValue: string }
  | { readonly arrayValue: WireArray };

export interface ResultOptions {
  readonly longAsString: boolean;
  readonly decimalAsNumber: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Serialising a response body

const markerPrefix = '\u0000wire-number:';
const markerPattern = /"\\u0000wire-number:([^"\\]+)"/g;

/** JSON.stringify that writes WireInteger / WireNumber values as bare JSON numbers, digit for digit. */
export function stringifyWire(value: unknown): string {
  // Postgres text can never contain NUL, so the marker cannot collide with data.
  const json = JSON.stringify(value, (_key, item: unknown) => {
    if (item instanceof WireInteger) return `${markerPrefix}${item.digits}`;
    if (item instanceof WireNumber) return `${markerPrefix}${item.text}`;
    return item;
  });
  return json.replace(markerPattern, (_match, digits: string) => digits);
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters

export interface SqlParameterInput {
  readonly name?: string;
  readonly value?: Record<string, unknown>;
  readonly typeHint?: string;
}

const oid = {
  bool: 16, bytea: 17, int8: 20, json: 114, float8: 701, varchar: 1043, date: 1082, time: 1083, timestamp: 1114,
  numeric: 1700, uuid: 2950, unknown: 0,
} as const;

const hintTypes: Record<string, number> = {
  UUID: oid.uuid, TIMESTAMP: oid.timestamp, DATE: oid.date, TIME: oid.time, DECIMAL: oid.numeric, JSON: oid.json,
};

export class ParameterError extends Error {
  constructor(message: string, readonly awsErrorName: 'BadRequestException' | 'ValidationException') {
    super(message);
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** One Data API parameter as Postgres text and the type it binds as. */
export function bindParameter(parameter: SqlParameterInput): { text: string | null; type: number } {
  const value = parameter.value ?? {};
  const hinted = parameter.typeHint ? hintTypes[parameter.typeHint] : undefined;
  if (parameter.typeHint && hinted === undefined) {
    throw new ParameterError(`Invalid typeHint ${parameter.typeHint}`, 'ValidationException');
  }
  if (value.isNull === true) return { text: null, type: oid.unknown };
  if (typeof value.stringValue === 'string') return { text: value.stringValue, type: hinted ?? oid.varchar };
  if (typeof value.longValue === 'number') return { text: BigInt(value.longValue).toString(), type: oid.int8 };
  if (typeof value.doubleValue === 'number' || typeof value.doubleValue === 'string') {
    return { text: String(value.doubleValue), type: oid.float8 };
  }
  if (typeof value.booleanValue === 'boolean') return { text: String(value.booleanValue), type: oid.bool };
  if (typeof value.blobValue === 'string') return { text: `\\x${hex(Buffer.from(value.blobValue, 'base64'))}`, type: oid.bytea };
  if (value.arrayValue !== undefined) throw new ParameterError('Array parameters are not supported', 'ValidationException');
  throw new ParameterError(`Parameter ${parameter.name ?? ''} has no value`, 'BadRequestException');
}

// ---------------------------------------------------------------------------------------------------------------
// Results

const integerTypes = new Set(['int2', 'int4', 'int8', 'oid']);
const floatTypes = new Set(['float4', 'float8']);

/** Postgres timestamptz text (any offset) as UTC text without an offset, fractional digits kept. */
export function timestamptzToUtc(text: string): string {
  const match = /^(\d{4,}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d(?::\d\d)?(?::\d\d)?)$/.exec(text);
  if (!match) return text; // infinity, -infinity, BC dates
  const [, wall = '', fraction = '', offset = '+00'] = match;
  const [hours = '0', minutes = '0', seconds = '0'] = offset.slice(1).split(':');
  const sign = offset.startsWith('-') ? -1 : 1;
  const offsetMs = sign * ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
  const utc = new Date(Date.parse(`${wall.replace(' ', 'T')}Z`) - offsetMs);
  return `${utc.toISOString().slice(0, 19).replace('T', ' ')}${fraction}`;
}

function finiteOrName(text: string): WireNumber | string {
  // JSON has no NaN or Infinity; the SDK reads these names back as the numbers.
  if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return text;
  return new WireNumber(text);
}

function scalarValue(text: string, typeName: string, options: ResultOptions): WireScalar {
  if (integerTypes.has(typeName)) return options.longAsString ? text : new WireInteger(text);
  if (floatTypes.has(typeName)) return finiteOrName(text);
  if (typeName === 'numeric') return options.decimalAsNumber && text !== 'NaN' ? new WireNumber(text) : text;
  if (typeName === 'bool') return text === 't';
  if (typeName === 'timestamptz') return timestamptzToUtc(text);
  if (typeName === 'bytea') return Buffer.from(text.slice(2), 'hex').toString('base64');
  return text;
}

type ArrayTree = Array<string | null | ArrayTree>;

/** Postgres array text as nested arrays of element text (NULL elements as null). */
function parseArrayLiteral(text: string): ArrayTree {
  return decodeArray(text, (element) => element) as ArrayTree;
}

function arrayValue(tree: ArrayTree, elementType: string, options: ResultOptions): WireArray {
  if (tree.some((item) => Array.isArray(item))) {
    return { arrayValues: tree.map((item) => arrayValue(Array.isArray(item) ? item : [], elementType, options)) };
  }
  const texts = tree as Array<string | null>;
  // Whether AWS applies longReturnType to array elements is not documented; honouring it keeps int8 arrays exact.
  if (integerTypes.has(elementType)) {
    if (options.longAsString) return { stringValues: texts };
    return { longValues: texts.map((t) => (t === null ? null : new WireInteger(t))) };
  }
  if (floatTypes.has(elementType)) return { doubleValues: texts.map((t) => (t === null ? null : finiteOrName(t))) };
  if (elementType === 'bool') return { booleanValues: texts.map((t) => (t === null ? null : t === 't')) };
  const plain = { longAsString: true, decimalAsNumber: false };
  return { stringValues: texts.map((t) => (t === null ? null : String(scalarValue(t, elementType, plain)))) };
}

export interface ColumnType {
  readonly info: TypeInfo;
  readonly element?: TypeInfo;
}

export async function resolveColumnTypes(backend: Backend, fields: readonly RawField[]): Promise<ColumnType[]> {
  return Promise.all(
    fields.map(async (field) => {
      const info = await backend.typeInfo(field.dataTypeID);
      return info.elementOid ? { info, element: await backend.typeInfo(info.elementOid) } : { info };
    }),
  );
}

export function toField(text: string | null, column: ColumnType, options: ResultOptions): WireField {
  if (text === null) return { isNull: true };
  if (column.element) return { arrayValue: arrayValue(parseArrayLiteral(text), column.element.name, options) };
  const typeName = column.info.name;
  const value = scalarValue(text, typeName, options);
  if (value === null) return { isNull: true };
  if (typeName === 'bytea') return { blobValue: String(value) };
  if (typeof value === 'boolean') return { booleanValue: value };
  if (value instanceof WireInteger) return { longValue: value };
  if (floatTypes.has(typeName)) return { doubleValue: value };
  // A numeric read as DOUBLE_OR_LONG: Long when its scale is 0, Double otherwise.
  if (value instanceof WireNumber) return /^-?\d+$/.test(value.text) ? { longValue: new WireInteger(value.text) } : { doubleValue: value };
  return { stringValue: value };
}

function jsonArray(tree: ArrayTree, elementType: string, options: ResultOptions): unknown[] {
  return tree.map((item) => (Array.isArray(item) ? jsonArray(item, elementType, options) : item === null ? null : scalarValue(item, elementType, options)));
}

/** One column's value in `formattedRecords` (formatRecordsAs: JSON). */
export function toJsonValue(text: string | null, column: ColumnType, options: ResultOptions): unknown {
  if (text === null) return null;
  if (column.element) return jsonArray(parseArrayLiteral(text), column.element.name, options);
  return scalarValue(text, column.info.name, options);
}

// JDBC type codes, which the Data API reports in ColumnMetadata.type.
const jdbcTypes: Record<string, number> = {
  bool: -7, int2: 5, int4: 4, int8: -5, oid: -5, float4: 7, float8: 8, numeric: 2, bpchar: 1, varchar: 12, text: 12,
  name: 12, date: 91, time: 92, timetz: 92, timestamp: 93, timestamptz: 93, bytea: -2,
};
const signedTypes = new Set(['int2', 'int4', 'int8', 'float4', 'float8', 'numeric']);
const caseSensitiveTypes = new Set(['text', 'varchar', 'bpchar', 'name', 'char', 'json', 'jsonb', 'xml']);

export function columnMetadata(field: RawField, column: ColumnType): Record<string, unknown> {
  const typeName = column.info.name;
  return {
    name: field.name,
    label: field.name,
    typeName,
    type: column.element ? 2003 : (jdbcTypes[typeName] ?? 1111),
    arrayBaseColumnType: column.element ? (jdbcTypes[column.element.name] ?? 1111) : 0,
    schemaName: '',
    tableName: '',
    isAutoIncrement: false,
    isSigned: signedTypes.has(typeName),
    isCurrency: typeName === 'money',
    isCaseSensitive: caseSensitiveTypes.has(typeName),
    nullable: 2,
    precision: 0,
    scale: 0,
  };
}
