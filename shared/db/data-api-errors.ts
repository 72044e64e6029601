/**
 * Turning what the RDS Data API throws into reelay's typed errors.
 *
 * Postgres errors arrive as text inside the exception message, in one of two shapes (as reported in
 * https://github.com/drizzle-team/drizzle-orm/issues/4747 and https://github.com/typeorm/typeorm/issues/7328):
 * - Serverless v2 / provisioned, `DatabaseErrorException`: `ERROR: …; Hint: …; Position: N; SQLState: XXXXX`
 *   (Hint and Position only when Postgres gave them);
 * - Serverless v1, `BadRequestException`, JDBC style: `ERROR: …\n  Hint: …\n  Position: N`, sometimes ending in
 *   `; SQLState: XXXXX`.
 * The parser reads the trailing fields off the end, so a message that itself contains `;` stays whole.
 */

import { ReelayError, type UnavailableReason } from '../errors.js';

/** What a Postgres error reported through the Data API says, field by field. */
export interface ParsedDatabaseError {
  readonly message: string;
  /** Five-character SQLSTATE; '' when the service did not report one (Serverless v1 messages often omit it). */
  readonly sqlState: string;
  readonly hint?: string;
  readonly position?: number;
  readonly detail?: string;
}

const separator = String.raw`(?:;[ \t]*|\r?\n[ \t]*)`;
const trailingSqlState = new RegExp(`${separator}SQLState: ([0-9A-Z]{5})\\s*$`);
const trailingPosition = new RegExp(`${separator}Position: (\\d+)\\s*$`);
const severityPrefix = /^(?:ERROR|FATAL|PANIC):\s/;

/** The last `<separator>Label: value` in `text`, split off; the value may contain anything but another such field. */
function splitTrailingField(text: string, label: string): { rest: string; value?: string } {
  const field = new RegExp(`${separator}${label}: `, 'g');
  let last: RegExpExecArray | undefined;
  for (let match = field.exec(text); match !== null; match = field.exec(text)) last = match;
  if (last === undefined) return { rest: text };
  return { rest: text.slice(0, last.index), value: text.slice(last.index + last[0].length).trim() };
}

/**
 * Reads a Postgres error out of a Data API exception message, in either shape. Returns undefined when the text is
 * not a Postgres error (e.g. `Transaction is still running a query`).
 */
export function parseDataApiErrorMessage(text: string): ParsedDatabaseError | undefined {
  if (!severityPrefix.test(text)) return undefined;
  let rest = text.trimEnd();
  let sqlState = '';
  const stateMatch = trailingSqlState.exec(rest);
  if (stateMatch) {
    sqlState = stateMatch[1] as string;
    rest = rest.slice(0, stateMatch.index);
  }
  let position: number | undefined;
  const positionMatch = trailingPosition.exec(rest);
  if (positionMatch) {
    position = Number(positionMatch[1]);
    rest = rest.slice(0, positionMatch.index);
  }
  const hintSplit = splitTrailingField(rest, 'Hint');
  const detailSplit = splitTrailingField(hintSplit.rest, 'Detail');
  const message = detailSplit.rest.replace(severityPrefix, '').trim();
  return {
    message,
    sqlState,
    ...(hintSplit.value !== undefined && { hint: hintSplit.value }),
    ...(position !== undefined && { position }),
    ...(detailSplit.value !== undefined && { detail: detailSplit.value }),
  };
}

/**
 * The Data API refused or failed a call for a reason that is not a Postgres error and not transient: an unknown
 * transaction, a request it rejects (multiple statements, a response over 1 MiB), bad credentials. `awsErrorName` is
 * the SDK exception name (e.g. `TransactionNotFoundException`) to branch on.
 */
export class DataApiRequestError extends ReelayError {
  readonly code = 'data_api_request_failed';
  constructor(message: string, readonly awsErrorName: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * How a failed call should be treated:
 * - `retry-safe`: the statement never ran (the cluster is resuming, the call was throttled or refused before the
 *   database saw it), so it may always be sent again;
 * - `retry-if-idempotent`: the outcome is unknown (a timeout, a dropped connection, a 5xx), so only a statement that is
 *   safe to run twice may be sent again;
 * - `final`: retrying cannot help.
 */
export type FailureKind =
  | { readonly retry: 'retry-safe' | 'retry-if-idempotent'; readonly reason: UnavailableReason }
  | { readonly retry: 'final' };

const neverRan: Record<string, UnavailableReason> = {
  DatabaseResumingException: 'resuming',
  ThrottlingException: 'throttled',
  TooManyRequestsException: 'throttled',
  ECONNREFUSED: 'unavailable',
};

const outcomeUnknown: Record<string, UnavailableReason> = {
  StatementTimeoutException: 'timeout',
  TimeoutError: 'timeout',
  RequestTimeout: 'timeout',
  RequestTimeoutException: 'timeout',
  ETIMEDOUT: 'timeout',
  ServiceUnavailableError: 'unavailable',
  ServiceUnavailableException: 'unavailable',
  InternalServerErrorException: 'unavailable',
  DatabaseUnavailableException: 'unavailable',
  ECONNRESET: 'unavailable',
  EPIPE: 'unavailable',
};

function errorField(error: unknown, field: 'name' | 'code' | 'message'): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/** Decides whether a Data API failure may be retried, from the exception class (never the SQL error text). */
export function classifyDataApiFailure(error: unknown): FailureKind {
  const name = errorField(error, 'name') ?? '';
  const code = errorField(error, 'code') ?? '';
  for (const key of [name, code]) {
    const safeReason = neverRan[key];
    if (safeReason) return { retry: 'retry-safe', reason: safeReason };
    const unknownReason = outcomeUnknown[key];
    if (unknownReason) return { retry: 'retry-if-idempotent', reason: unknownReason };
  }
  // Serverless v1 reported a lost database connection as a BadRequestException whose text is the JDBC error;
  // there is no other signal for it.
  if (name === 'BadRequestException' && (errorField(error, 'message') ?? '').startsWith('Communications link failure')) {
    return { retry: 'retry-if-idempotent', reason: 'unavailable' };
  }
  return { retry: 'final' };
}
