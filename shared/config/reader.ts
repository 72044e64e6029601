/**
 * The one reader of configuration values: every environment variable reelay takes is read through these functions,
 * from an environment object the function's edge passes in (functions/<name>/handler.ts, shared/runtime/); nothing
 * here touches `process.env`. Each returns undefined when the variable is unset or blank (the caller applies its
 * default with `??`) and throws a {@link ConfigurationError} naming the variable and what it accepts otherwise.
 *
 * Written by hand rather than with zod: the health function reads its level through this module, and zod would be
 * the largest thing in that bundle (docs/PERFORMANCE.md, P2). Standalone functions, so a bundle keeps only the ones
 * it calls.
 */
import { ConfigurationError } from '../errors.js';

export { ConfigurationError };

/** A function's environment: `process.env` in Lambda, a plain object in tests and the local stack. */
export type Env = Readonly<Record<string, string | undefined>>;

function invalid(name: string, accepted: string, raw: string): ConfigurationError {
  return new ConfigurationError(`${name} must be ${accepted}, got ${JSON.stringify(raw)}`, { variable: name, accepted });
}

/** The value, trimmed; undefined when unset or blank. */
export function readString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The value, trimmed; a {@link ConfigurationError} when unset or blank. */
export function requireString(env: Env, name: string): string {
  const value = readString(env, name);
  if (value === undefined) throw new ConfigurationError(`${name} is required`, { variable: name, accepted: 'a non-empty value' });
  return value;
}

export interface IntegerRange {
  readonly min?: number;
  readonly max?: number;
}

function rangeText({ min, max }: IntegerRange): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return ` of at least ${min}`;
  if (max !== undefined) return ` of at most ${max}`;
  return '';
}

function integerIn(name: string, raw: string, range: IntegerRange, accepted: string): number {
  const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || (range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max)) {
    throw invalid(name, accepted, raw);
  }
  return value;
}

/** A whole number (digits only: no fractions, exponents or units) within `range`. */
export function readInteger(env: Env, name: string, range: IntegerRange = {}): number | undefined {
  const raw = readString(env, name);
  return raw === undefined ? undefined : integerIn(name, raw, range, `a whole number${rangeText(range)}`);
}

/** A span of time as a whole number of `unit` (the variable's name says which: `_MS`, `_SECONDS`). */
export function readDuration(env: Env, name: string, unit: 'milliseconds' | 'seconds', range: IntegerRange = {}): number | undefined {
  const raw = readString(env, name);
  return raw === undefined ? undefined : integerIn(name, raw, range, `a whole number of ${unit}${rangeText(range)}`);
}

/** A number greater than 0, fractions allowed (`1.5` hours). */
export function readPositiveNumber(env: Env, name: string): number | undefined {
  const raw = readString(env, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw invalid(name, 'a number greater than 0', raw);
  return value;
}

const truthy = ['1', 'true', 'yes'];
const falsy = ['0', 'false', 'no'];

/** true / false (also 1 / 0 and yes / no, in any case). */
export function readFlag(env: Env, name: string): boolean | undefined {
  const raw = readString(env, name);
  if (raw === undefined) return undefined;
  const lower = raw.toLowerCase();
  if (truthy.includes(lower)) return true;
  if (falsy.includes(lower)) return false;
  throw invalid(name, 'true or false', raw);
}

/** One of `values`, exactly (case matters). */
export function readEnum<T extends string>(env: Env, name: string, values: readonly T[]): T | undefined {
  const raw = readString(env, name);
  if (raw === undefined) return undefined;
  if ((values as readonly string[]).includes(raw)) return raw as T;
  throw invalid(name, `one of ${values.join(', ')}`, raw);
}

/** An absolute http(s) URL, returned as written without trailing slashes. */
export function readHttpUrl(env: Env, name: string): string | undefined {
  const raw = readString(env, name);
  if (raw === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw invalid(name, 'an http(s) URL', raw);
  return raw.replace(/\/+$/, '');
}

/** Comma-separated items, each trimmed, blanks dropped; undefined when the variable is unset or blank. */
export function readList(env: Env, name: string): string[] | undefined {
  const raw = readString(env, name);
  return raw === undefined ? undefined : raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
}
