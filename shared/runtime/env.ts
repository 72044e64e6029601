/** Reading tunables from a function's environment object (not necessarily process.env). */
import type { Env } from './lazy.js';

/**
 * A whole number from `env[name]`, or undefined when it is unset or blank. Anything else that is not a whole number
 * of at least `min` throws, so a bad setting fails the cold start instead of skewing every request.
 */
export function wholeNumberFromEnv(env: Env, name: string, min: 0 | 1 = 1): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new TypeError(`${name} must be a whole number of at least ${min}, got "${raw}"`);
  return value;
}
