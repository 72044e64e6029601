/**
 * The shared PostgreSQL text → JavaScript decoding and parameter encoding, on the edge cases a live round trip
 * rarely produces: offsets with minutes, BC and far-future years, infinity, escape-format bytea, array bounds.
 */
import { describe, expect, it } from 'vitest';
import { sqlValue } from '../../shared/db/driver.js';
import {
  decodeArray,
  decodePostgresText,
  decodeTimestamp,
  encodeParam,
  PostgresOid,
  postgresTypeDecoders,
} from '../../shared/db/postgres-types.js';

describe('decodeTimestamp', () => {
  it('reads a timestamp without offset as UTC and truncates microseconds to milliseconds', () => {
    expect(decodeTimestamp('2024-01-02 03:04:05.678901').toISOString()).toBe('2024-01-02T03:04:05.678Z');
    expect(decodeTimestamp('2024-01-02 03:04:05').toISOString()).toBe('2024-01-02T03:04:05.000Z');
  });

  it('applies the printed offset, including minutes and seconds', () => {
    expect(decodeTimestamp('2024-01-02 08:34:05.5+05:30').toISOString()).toBe('2024-01-02T03:04:05.500Z');
    expect(decodeTimestamp('2024-01-01 23:04:05-04').toISOString()).toBe('2024-01-02T03:04:05.000Z');
    expect(decodeTimestamp('1900-01-01 00:00:00+00:19:32').toISOString()).toBe('1899-12-31T23:40:28.000Z');
  });

  it('handles years before 100, BC and after 9999', () => {
    expect(decodeTimestamp('0050-06-01 00:00:00').getUTCFullYear()).toBe(50);
    expect(decodeTimestamp('0044-03-15 12:00:00 BC').getUTCFullYear()).toBe(-43);
    expect(decodeTimestamp('12345-01-01 00:00:00+00').getUTCFullYear()).toBe(12345);
  });

  it('maps infinity to the extreme Dates and rejects anything that is not ISO output', () => {
    expect(decodeTimestamp('infinity').getTime()).toBe(8.64e15);
    expect(decodeTimestamp('-infinity').getTime()).toBe(-8.64e15);
    expect(() => decodeTimestamp('01/02/2024 03:04:05')).toThrow(RangeError);
  });
});

describe('decodeArray', () => {
  it('unquotes, unescapes and keeps NULL distinct from the string "NULL"', () => {
    expect(decodeArray('{a,"b c","d\\"e","f\\\\g",NULL,"NULL",""}', (text) => text)).toEqual([
      'a',
      'b c',
      'd"e',
      'f\\g',
      null,
      'NULL',
      '',
    ]);
  });

  it('nests, and ignores explicit lower bounds', () => {
    expect(decodeArray('{{1,2},{3,NULL}}', Number)).toEqual([
      [1, 2],
      [3, null],
    ]);
    expect(decodeArray('[0:1]={7,8}', Number)).toEqual([7, 8]);
    expect(decodeArray('{}', Number)).toEqual([]);
  });
});

describe('decodePostgresText', () => {
  it('covers every type of the table by OID and leaves other types as text', () => {
    expect(decodePostgresText(PostgresOid.int8, '9007199254740993')).toBe(9007199254740993n);
    expect(decodePostgresText(PostgresOid.numeric, '0.950')).toBe('0.950');
    expect(decodePostgresText(PostgresOid.float8, 'NaN')).toBeNaN();
    expect(decodePostgresText(PostgresOid.bool, 'f')).toBe(false);
    expect(decodePostgresText(PostgresOid.date, '2024-02-29')).toBe('2024-02-29');
    expect(decodePostgresText(PostgresOid.jsonb, '{"a":[1]}')).toEqual({ a: [1] });
    expect(decodePostgresText(PostgresOid.bytea, '\\x00ff')).toEqual(new Uint8Array([0, 255]));
    expect(decodePostgresText(PostgresOid.bytea, 'a\\\\\\000')).toEqual(new Uint8Array([0x61, 0x5c, 0]));
    expect(decodePostgresText(PostgresOid.uuidArray, '{8f2a1e3c-5b6d-4e7f-8a9b-0c1d2e3f4a5b}')).toEqual([
      '8f2a1e3c-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
    ]);
    expect(decodePostgresText(1186 /* interval */, '1 day')).toBe('1 day');
    expect(decodePostgresText(PostgresOid.int4, null)).toBeNull();
  });

  it('has a decoder for the array of every scalar it decodes', () => {
    const scalars = Object.entries(PostgresOid).filter(([name]) => !name.endsWith('Array'));
    for (const [name] of scalars) {
      const arrayOid = PostgresOid[`${name}Array` as keyof typeof PostgresOid];
      expect(postgresTypeDecoders.has(arrayOid), `${name}[]`).toBe(true);
    }
  });
});

describe('encodeParam', () => {
  it('sends every parameter kind as PostgreSQL text input, bytes as bytes', () => {
    expect(encodeParam(42)).toBe('42');
    expect(encodeParam(0.5)).toBe('0.5');
    expect(encodeParam(2n ** 64n)).toBe('18446744073709551616');
    expect(encodeParam(false)).toBe('false');
    expect(encodeParam(new Date('2024-01-02T03:04:05.006Z'))).toBe('2024-01-02T03:04:05.006Z');
    expect(encodeParam(null)).toBeNull();
    expect(encodeParam(undefined)).toBeNull();
    expect(encodeParam(new Uint8Array([1, 2]))).toEqual(new Uint8Array([1, 2]));
    expect(encodeParam(sqlValue.json({ a: [1, null] }))).toBe('{"a":[1,null]}');
    expect(encodeParam(sqlValue.json('text'))).toBe('"text"');
    expect(encodeParam(sqlValue.decimal(0.95))).toBe('0.95');
    expect(encodeParam(sqlValue.uuid('8f2a1e3c-5b6d-4e7f-8a9b-0c1d2e3f4a5b'))).toBe('8f2a1e3c-5b6d-4e7f-8a9b-0c1d2e3f4a5b');
    expect(encodeParam(sqlValue.timestamp(new Date(0)))).toBe('1970-01-01T00:00:00.000Z');
  });

  it('refuses arrays, plain objects and invalid dates with a TypeError naming the parameter', () => {
    expect(() => encodeParam([1, 2] as unknown as string, 'ids')).toThrow(/:ids .*sqlValue\.json/);
    expect(() => encodeParam({ a: 1 } as unknown as string, 'doc')).toThrow(TypeError);
    expect(() => encodeParam(new Date(Number.NaN), 'at')).toThrow(TypeError);
  });
});
