/**
 * `Retry-After` (RFC 9110 §10.2.3): either delay-seconds (a non-negative integer) or an HTTP-date. Read into the
 * milliseconds to wait from `now`; a date in the past means "now" (0); anything else is no advice (undefined).
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must accept; Date.parse reads all three.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The header from whatever a client put on its error: a fetch `Headers`, or a plain record (lower-case names). */
export function retryAfterFromHeaders(headers: unknown, now: number = Date.now()): number | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  if (typeof (headers as Headers).get === 'function') return parseRetryAfter((headers as Headers).get('retry-after'), now);
  const value = (headers as Record<string, unknown>)['retry-after'];
  return typeof value === 'string' ? parseRetryAfter(value, now) : undefined;
}
