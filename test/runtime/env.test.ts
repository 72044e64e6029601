import { describe, expect, it } from 'vitest';
import { wholeNumberFromEnv } from '../../shared/runtime/env.js';

describe('wholeNumberFromEnv', () => {
  it('reads a whole number, and treats unset or blank as not given', () => {
    expect(wholeNumberFromEnv({ N: ' 42 ' }, 'N')).toBe(42);
    expect(wholeNumberFromEnv({}, 'N')).toBeUndefined();
    expect(wholeNumberFromEnv({ N: '  ' }, 'N')).toBeUndefined();
  });

  it('accepts zero only when the minimum is 0', () => {
    expect(wholeNumberFromEnv({ N: '0' }, 'N', 0)).toBe(0);
    expect(() => wholeNumberFromEnv({ N: '0' }, 'N')).toThrow(/N must be a whole number of at least 1, got "0"/);
  });

  it('refuses fractions, negatives and words', () => {
    for (const raw of ['1.5', '-3', 'ten', '1e400']) expect(() => wholeNumberFromEnv({ N: raw }, 'N', 0)).toThrow(TypeError);
  });
});
