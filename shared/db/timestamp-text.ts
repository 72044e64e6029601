/** PostgreSQL's text form of a `timestamp` / `timestamptz` (ISO DateStyle, and `to_jsonb`'s `T` form) as a Date. */

// DateStyle ISO output, e.g. "2024-05-06 07:08:09.123456+05:30", "0044-03-15 12:00:00 BC", "12345-01-01 00:00:00".
const timestampPattern =
  /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?( BC)?$/;

// The bounds of a JavaScript Date, for PostgreSQL's 'infinity' and '-infinity'.
const largestDate = 8.64e15;

/**
 * A `timestamp` or `timestamptz` in ISO DateStyle as a Date. Without an offset the wall-clock time is taken as UTC
 * (reelay stores UTC in `timestamp` columns); sub-millisecond digits are truncated.
 */
export function decodeTimestamp(text: string): Date {
  if (text === 'infinity') return new Date(largestDate);
  if (text === '-infinity') return new Date(-largestDate);
  const match = timestampPattern.exec(text);
  if (match === null) throw new RangeError(`Not an ISO timestamp: ${text}`);
  const [, year, month, day, hour, minute, second, fraction, sign, offsetHours, offsetMinutes, offsetSeconds, bc] =
    match;
  // 1 BC is year 0 in the proleptic Gregorian calendar JavaScript uses.
  const fullYear = bc === undefined ? Number(year) : 1 - Number(year);
  const millis = fraction === undefined ? 0 : Number(fraction.padEnd(3, '0').slice(0, 3));
  const date = new Date(0);
  date.setUTCFullYear(fullYear, Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second), millis);
  if (sign !== undefined) {
    const offsetSecondsTotal =
      Number(offsetHours) * 3600 + Number(offsetMinutes ?? 0) * 60 + Number(offsetSeconds ?? 0);
    // The printed time is local to the offset: subtract it to get UTC.
    date.setTime(date.getTime() - (sign === '+' ? 1 : -1) * offsetSecondsTotal * 1000);
  }
  return date;
}
