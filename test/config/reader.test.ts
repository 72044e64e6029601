import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  readDuration,
  readEnum,
  readFlag,
  readHttpUrl,
  readInteger,
  readList,
  readPositiveNumber,
  readString,
  requireString,
} from '../../shared/config/reader.js';

/** The error `read` throws, for assertions on its fields. */
function thrown(read: () => unknown): ConfigurationError {
  try {
    read();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('the configuration reader', () => {
  it('treats unset and blank as not given, and trims what is set', () => {
    expect(readString({}, 'X')).toBeUndefined();
    expect(readString({ X: '   ' }, 'X')).toBeUndefined();
    expect(readString({ X: ' value ' }, 'X')).toBe('value');
    expect(readInteger({ X: '' }, 'X')).toBeUndefined();
    expect(readFlag({ X: ' ' }, 'X')).toBeUndefined();
    expect(readEnum({}, 'X', ['a'])).toBeUndefined();
    expect(readHttpUrl({}, 'X')).toBeUndefined();
    expect(readList({ X: '' }, 'X')).toBeUndefined();
  });

  it('requires a value where one is needed, naming the variable', () => {
    expect(requireString({ BUCKET: 'b' }, 'BUCKET')).toBe('b');
    const error = thrown(() => requireString({ BUCKET: '  ' }, 'BUCKET'));
    expect(error).toMatchObject({ message: 'BUCKET is required', variable: 'BUCKET', code: 'config_invalid' });
  });

  it('reads whole numbers within a range, and nothing else', () => {
    expect(readInteger({ N: ' 42 ' }, 'N', { min: 1 })).toBe(42);
    expect(readInteger({ N: '0' }, 'N', { min: 0 })).toBe(0);
    expect(thrown(() => readInteger({ N: '0' }, 'N', { min: 1 }))).toMatchObject({
      message: 'N must be a whole number of at least 1, got "0"',
      variable: 'N',
      accepted: 'a whole number of at least 1',
    });
    expect(thrown(() => readInteger({ N: '11' }, 'N', { min: 1, max: 10 })).message).toBe('N must be a whole number from 1 to 10, got "11"');
    for (const raw of ['1.5', '-3', 'ten', '1e3', '0x10', String(2 ** 60)]) expect(() => readInteger({ N: raw }, 'N', { min: 0 })).toThrow(ConfigurationError);
  });

  it('reads durations in the unit the name gives', () => {
    expect(readDuration({ T_MS: '250' }, 'T_MS', 'milliseconds', { min: 0 })).toBe(250);
    expect(thrown(() => readDuration({ T_SECONDS: '1h' }, 'T_SECONDS', 'seconds', { min: 60, max: 3600 }))).toMatchObject({
      message: 'T_SECONDS must be a whole number of seconds from 60 to 3600, got "1h"',
      variable: 'T_SECONDS',
      accepted: 'a whole number of seconds from 60 to 3600',
    });
  });

  it('reads positive numbers, fractions allowed', () => {
    expect(readPositiveNumber({ H: '1.5' }, 'H')).toBe(1.5);
    for (const raw of ['0', '-1', 'Infinity', 'soon']) {
      expect(thrown(() => readPositiveNumber({ H: raw }, 'H'))).toMatchObject({ variable: 'H', accepted: 'a number greater than 0' });
    }
  });

  it('reads flags in the usual spellings and names them otherwise', () => {
    for (const raw of ['1', 'true', 'TRUE', 'yes']) expect(readFlag({ F: raw }, 'F')).toBe(true);
    for (const raw of ['0', 'false', 'No']) expect(readFlag({ F: raw }, 'F')).toBe(false);
    expect(thrown(() => readFlag({ F: 'maybe' }, 'F'))).toMatchObject({ message: 'F must be true or false, got "maybe"', accepted: 'true or false' });
  });

  it('reads one of a set of values, listing them when it is not', () => {
    expect(readEnum({ Q: 'plus' }, 'Q', ['basic', 'plus'] as const)).toBe('plus');
    expect(thrown(() => readEnum({ Q: 'Plus' }, 'Q', ['basic', 'plus']))).toMatchObject({
      message: 'Q must be one of basic, plus, got "Plus"',
      variable: 'Q',
      accepted: 'one of basic, plus',
    });
  });

  it('reads http(s) URLs without their trailing slashes', () => {
    expect(readHttpUrl({ U: 'http://127.0.0.1:4000//' }, 'U')).toBe('http://127.0.0.1:4000');
    expect(readHttpUrl({ U: 'https://api.example.com/v1' }, 'U')).toBe('https://api.example.com/v1');
    for (const raw of ['not a url', 'ftp://host', 'file:///etc/passwd']) {
      expect(thrown(() => readHttpUrl({ U: raw }, 'U'))).toMatchObject({ message: `U must be an http(s) URL, got ${JSON.stringify(raw)}`, accepted: 'an http(s) URL' });
    }
  });

  it('reads comma-separated lists, trimming items and dropping blanks', () => {
    expect(readList({ L: ' a, b ,,c ' }, 'L')).toEqual(['a', 'b', 'c']);
  });

  it('quotes the raw value so blanks and control characters show', () => {
    expect(thrown(() => readInteger({ N: '1\u00002' }, 'N')).message).toBe('N must be a whole number, got "1\\u00002"');
  });
});
