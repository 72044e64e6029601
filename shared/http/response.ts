import {
  callerInputError,
  ConflictError,
  DatabaseUnavailableError,
  ReelayError,
  ValidationError,
  type UnavailableReason,
  type ValidationIssue,
} from '../errors.js';
import type { Logger } from '../log.js';
import type { HttpResult } from './types.js';

/** What a route returns: a status, an optional JSON body and extra headers. */
export interface RouteResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The wire shape of every error reelay answers with. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: readonly ValidationIssue[] };
}

// BigInt cannot go through JSON.stringify; counts fit a number, anything larger keeps its digits as a string.
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
}

export function toHttpResult(response: RouteResponse): HttpResult {
  const headers: Record<string, string> = { 'cache-control': 'no-store', ...response.headers };
  if (response.body === undefined || response.status === 204 || response.status === 304) {
    return { statusCode: response.status, headers };
  }
  return {
    statusCode: response.status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(response.body, jsonReplacer),
  };
}

/**
 * The one table from error codes to responses. `exposeMessage` is false where the message may carry another system's
 * internals. A ReelayError subclass without a row is an internal error (500, generic message): the safe default.
 */
export const errorCodeResponses: Readonly<Record<string, { readonly status: number; readonly exposeMessage: boolean }>> = {
  validation_failed: { status: 400, exposeMessage: true },
  malformed_json: { status: 400, exposeMessage: true },
  unauthorized: { status: 401, exposeMessage: true },
  forbidden: { status: 403, exposeMessage: true },
  not_found: { status: 404, exposeMessage: true },
  conflict: { status: 409, exposeMessage: true },
  payload_too_large: { status: 413, exposeMessage: true },
  unsupported_media_type: { status: 415, exposeMessage: true },
  // Only admin routes run migrations, and the operator needs to know which file or ledger row disagrees.
  migration_failed: { status: 500, exposeMessage: true },
  mux_api_error: { status: 502, exposeMessage: false },
  // Signed playback without a usable signing key: the message names the settings to fix, never a key.
  playback_signing_unavailable: { status: 500, exposeMessage: true },
  database_unavailable: { status: 503, exposeMessage: true },
};

// Seconds a client should wait: a paused Serverless v2 cluster takes about 15 s to resume, the rest clear sooner.
const retryAfterSeconds: Record<UnavailableReason, number> = { resuming: 15, unavailable: 10, timeout: 5, throttled: 2 };

function errorResult(status: number, error: ErrorBody['error'], headers?: Record<string, string>): HttpResult {
  return toHttpResult({ status, body: { error }, headers });
}

/**
 * Turns anything thrown by a route into the HTTP answer: typed errors to their status and `{"error": {...}}`,
 * everything else to a 500 that names only the request id, with the real error logged.
 */
export function errorToHttpResult(thrown: unknown, logger: Logger, requestId: string): HttpResult {
  const asCallerError = callerInputError(thrown);
  // Still the caller's mistake, but one the request schemas should have caught: logged so the gap gets closed.
  if (asCallerError !== undefined) logger.warn('http.request.unstorable_text', { error: thrown });
  const error = asCallerError ?? thrown;
  const mapped = error instanceof ReelayError ? errorCodeResponses[error.code] : undefined;
  if (!(error instanceof ReelayError) || mapped === undefined) {
    logger.error('http.request.failed', { error, stack: error instanceof Error ? error.stack : undefined });
    return errorResult(500, { code: 'internal_error', message: `An unexpected error occurred (request ${requestId}).` });
  }
  const { status, exposeMessage } = mapped;
  if (!exposeMessage) {
    logger.error('http.request.upstream_failed', { status, error, stack: error.stack });
    return errorResult(status, { code: error.code, message: `An upstream service failed (request ${requestId}); try again later.` });
  }
  if (status === 503) logger.warn('http.request.unavailable', { status, error });
  else if (status >= 500) logger.error('http.request.failed', { status, error, stack: error.stack });
  else logger.info('http.request.rejected', { status, code: error.code, message: error.message });
  const headers: Record<string, string> = {};
  if (error instanceof DatabaseUnavailableError) headers['retry-after'] = String(retryAfterSeconds[error.reason]);
  if (status === 401) headers['www-authenticate'] = 'Bearer';
  const details = (error instanceof ValidationError || error instanceof ConflictError) && error.details.length > 0 ? error.details : undefined;
  return errorResult(status, { code: error.code, message: error.message, ...(details ? { details } : {}) }, headers);
}
