/**
 * The PostgreSQL ⇄ JavaScript value mapping of driver.ts, in one place, keyed by type OID: the pg and PGlite
 * drivers decode every text-format column with {@link decodePostgresText}, and the local Data API endpoint can reuse
 * {@link postgresTypeDecoders} to decide how a column comes back. Parameters go the other way through
 * {@link encodeParam}, which turns every {@link ParamValue} into PostgreSQL's text input form.
 *
 * Decoding never consults the process time zone: `timestamp` (without time zone) is read as UTC, `timestamptz`
 * uses the offset the server printed.
 */
import { isTypedValue, type ParamValue } from './driver.js';

/** OIDs of the built-in types reelay maps (pg_type.oid; stable across PostgreSQL versions). */
export const PostgresOid = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
  // Arrays of the above.
  jsonArray: 199,
  boolArray: 1000,
  byteaArray: 1001,
  charArray: 1002,
  nameArray: 1003,
  int2Array: 1005,
  int4Array: 1007,
  textArray: 1009,
  bpcharArray: 1014,
  varcharArray: 1015,
  int8Array: 1016,
  float4Array: 1021,
  float8Array: 1022,
  oidArray: 1028,
  timestampArray: 1115,
  dateArray: 1182,
  timestamptzArray: 1185,
  numericArray: 1231,
  uuidArray: 2951,
  jsonbArray: 3807,
} as const;

/** Turns the text form of one non-null value into its JavaScript value. */
export type PostgresDecoder = (text: string) => unknown;

const identity: PostgresDecoder = (text) => text;

const decodeNumber: PostgresDecoder = (text) => Number(text);

const decodeBigint: PostgresDecoder = (text) => BigInt(text);

const decodeBool: PostgresDecoder = (text) => text === 't' || text === 'true';

const decodeJson: PostgresDecoder = (text) => JSON.parse(text) as unknown;

function decodeBytea(text: string): Uint8Array {
  if (text.startsWith('\\x')) return Uint8Array.from(Buffer.from(text.slice(2), 'hex'));
  return decodeByteaEscapeFormat(text);
}

/** bytea_output = 'escape': printable bytes as themselves, `\\` for a backslash, `\ooo` (octal) for the rest. */
function decodeByteaEscapeFormat(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] !== '\\') {
      bytes.push(text.charCodeAt(i));
    } else if (text[i + 1] === '\\') {
      bytes.push(0x5c);
      i += 1;
    } else {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    }
  }
  return Uint8Array.from(bytes);
}

// decodeTimestamp lives in timestamp-text.ts: the outbox (video-events-db.ts) reads snapshots with it, and this
// module's decoder table would otherwise be evaluated at every Data API function's cold start.
import { decodeTimestamp } from './timestamp-text.js';

export { decodeTimestamp };

/**
 * Parses an array literal (`{1,2,NULL}`, `{{"a","b"},{"c",NULL}}`) with `decodeElement` applied to each element.
 * Only the comma delimiter is handled: every type in the table uses it (only `box` does not).
 */
export function decodeArray(text: string, decodeElement: PostgresDecoder): unknown[] {
  // A lower bound other than 1 is printed as a prefix, e.g. "[0:1]={a,b}"; JavaScript arrays start at 0 anyway.
  const body = text.startsWith('[') ? text.slice(text.indexOf('=') + 1) : text;
  let i = 0;

  const parseLevel = (): unknown[] => {
    const items: unknown[] = [];
    i += 1; // past '{'
    while (i < body.length) {
      const ch = body[i];
      if (ch === '}') {
        i += 1;
        return items;
      }
      if (ch === ',') {
        i += 1;
      } else if (ch === '{') {
        items.push(parseLevel());
      } else if (ch === '"') {
        let value = '';
        i += 1;
        while (i < body.length && body[i] !== '"') {
          if (body[i] === '\\') i += 1;
          value += body[i];
          i += 1;
        }
        i += 1; // past the closing quote
        items.push(decodeElement(value));
      } else {
        let end = i;
        while (end < body.length && body[end] !== ',' && body[end] !== '}') end += 1;
        const raw = body.slice(i, end).trim();
        // An unquoted NULL is SQL NULL; a string "NULL" would have been quoted.
        items.push(raw.toUpperCase() === 'NULL' ? null : decodeElement(raw));
        i = end;
      }
    }
    throw new RangeError(`Unterminated array literal: ${text}`);
  };

  if (body[0] !== '{') throw new RangeError(`Not an array literal: ${text}`);
  return parseLevel();
}

const scalarDecoders: ReadonlyArray<[oids: readonly number[], decoder: PostgresDecoder, arrayOids: readonly number[]]> = [
  [[PostgresOid.bool], decodeBool, [PostgresOid.boolArray]],
  [[PostgresOid.bytea], decodeBytea, [PostgresOid.byteaArray]],
  [[PostgresOid.int8], decodeBigint, [PostgresOid.int8Array]],
  [
    [PostgresOid.int2, PostgresOid.int4, PostgresOid.oid, PostgresOid.float4, PostgresOid.float8],
    decodeNumber,
    [PostgresOid.int2Array, PostgresOid.int4Array, PostgresOid.oidArray, PostgresOid.float4Array, PostgresOid.float8Array],
  ],
  [
    [PostgresOid.numeric, PostgresOid.text, PostgresOid.varchar, PostgresOid.bpchar, PostgresOid.char, PostgresOid.name, PostgresOid.uuid, PostgresOid.date],
    identity,
    [
      PostgresOid.numericArray,
      PostgresOid.textArray,
      PostgresOid.varcharArray,
      PostgresOid.bpcharArray,
      PostgresOid.charArray,
      PostgresOid.nameArray,
      PostgresOid.uuidArray,
      PostgresOid.dateArray,
    ],
  ],
  [[PostgresOid.timestamp, PostgresOid.timestamptz], decodeTimestamp, [PostgresOid.timestampArray, PostgresOid.timestamptzArray]],
  [[PostgresOid.json, PostgresOid.jsonb], decodeJson, [PostgresOid.jsonArray, PostgresOid.jsonbArray]],
];

function buildDecoderTable(): ReadonlyMap<number, PostgresDecoder> {
  const table = new Map<number, PostgresDecoder>();
  for (const [oids, decoder, arrayOids] of scalarDecoders) {
    for (const oid of oids) table.set(oid, decoder);
    for (const oid of arrayOids) table.set(oid, (text) => decodeArray(text, decoder));
  }
  return table;
}

/**
 * Type OID → decoder for every type in driver.ts's table (and arrays of them). Types not listed come back as the
 * server's text (e.g. interval, inet, time), identically on every driver.
 */
export const postgresTypeDecoders: ReadonlyMap<number, PostgresDecoder> = buildDecoderTable();

/** Decodes one text-format value of type `oid`; `null` stays `null`. */
export function decodePostgresText(oid: number, text: string | null): unknown {
  if (text === null) return null;
  return (postgresTypeDecoders.get(oid) ?? identity)(text);
}

/** The decoder for `oid`: the table's, or the text itself for types outside the table. */
export function decoderFor(oid: number): PostgresDecoder {
  return postgresTypeDecoders.get(oid) ?? identity;
}

/** A parameter in PostgreSQL's text input form; bytes stay bytes so each driver sends them natively. */
export type EncodedParam = string | Uint8Array | null;

/**
 * One {@link ParamValue} as PostgreSQL text input. The server infers each parameter's type from where it is used,
 * as it does for an untyped literal; write a cast (`:payload::jsonb`) where the context does not decide it.
 */
export function encodeParam(value: ParamValue, name = '?'): EncodedParam {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new TypeError(`Parameter :${name} has an unsupported type (${typeof value})`);
  }
  // Both timestamp and timestamptz accept ISO 8601 with "Z": timestamptz takes the instant, timestamp drops the
  // zone and keeps the UTC wall-clock time, so neither depends on the session's TimeZone.
  if (value instanceof Date) return encodeDate(value, name);
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) {
    throw new TypeError(
      `Parameter :${name} is an array; arrays are not parameters (the Data API has none): pass sqlValue.json([...]) and unnest it in SQL`,
    );
  }
  if (isTypedValue(value)) {
    if (value.hint === 'json') return JSON.stringify(value.value);
    if (value.value instanceof Date) return encodeDate(value.value, name);
    if (typeof value.value === 'string') return value.value;
    throw new TypeError(`Parameter :${name} with type hint ${value.hint} needs a string value`);
  }
  throw new TypeError(`Parameter :${name} is an object; pass sqlValue.json(value) to send JSON`);
}

function encodeDate(value: Date, name: string): string {
  if (Number.isNaN(value.getTime())) throw new TypeError(`Parameter :${name} is an invalid Date`);
  return value.toISOString();
}

/** `\x…` hex text for a bytea value (PostgreSQL's input form), for drivers that send every parameter as text. */
export function byteaHex(bytes: Uint8Array): string {
  return `\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}
