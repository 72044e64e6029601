/**
 * Reading CDK context (`-c key=value` or cdk.json): CLI context arrives as strings and cdk.json context as JSON, so
 * every reader accepts both, and every error names the key.
 */
import type { ContextKey } from './config.js';

export type ContextReader = (key: ContextKey) => unknown;

export function contextError(key: ContextKey, expected: string, value: unknown): Error {
  return new Error(`context "${key}" must be ${expected}, got ${JSON.stringify(value)}`);
}

export function readString(read: ContextReader, key: ContextKey): string | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw contextError(key, 'a string', value);
  return value.trim();
}

export function readList(read: ContextReader, key: ContextKey): string[] | undefined {
  const value = read(key);
  if (value === undefined || value === null) return undefined;
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (!items || items.some((item) => typeof item !== 'string')) throw contextError(key, 'a list or comma-separated string', value);
  return (items as string[]).map((item) => item.trim()).filter((item) => item !== '');
}

export function readNumber(read: ContextReader, key: ContextKey, fallback: number, min: number, max: number): number {
  const value = read(key);
  if (value === undefined || value === null || value === '') return fallback;
  const parsed = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) throw contextError(key, `a number in [${min}, ${max}]`, value);
  return parsed;
}

export function readBoolean(read: ContextReader, key: ContextKey, fallback: boolean): boolean {
  const value = read(key);
  if (value === undefined || value === null || value === '') return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw contextError(key, 'true or false', value);
}
