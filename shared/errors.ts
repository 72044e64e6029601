/**
 * Every error reelay raises on purpose. Each has a stable `code` from {@link ReelayErrorCode}; the HTTP layer maps
 * codes to responses in one table (shared/http/response.ts) that must name every code, so the compiler catches a new
 * code without a mapping. The domain stays free of HTTP concerns.
 */

/**
 * Every code a {@link ReelayError} can carry. Clients see the codes of 4xx, 502 and 503 answers, so those never
 * change; the others reach only logs and the migrate CLI's report. Names are `<subject>_<what went wrong>`.
 */
export type ReelayErrorCode =
  | 'validation_failed'
  | 'malformed_json'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'conflict'
  | 'database_error'
  | 'database_unavailable'
  | 'data_api_request_failed'
  | 'migration_failed'
  | 'mux_api_error'
  | 'playback_signing_unavailable'
  | 'config_invalid'
  | 'mux_config_invalid';

export abstract class ReelayError extends Error {
  abstract readonly code: ReelayErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem found in the caller's input. `path` points at the offending field, e.g. `["options", "mp4"]`. */
export interface ValidationIssue {
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

/** The caller sent something malformed or outside the rules (HTTP 400). */
export class ValidationError extends ReelayError {
  readonly code = 'validation_failed';
  constructor(message: string, readonly details: readonly ValidationIssue[] = []) {
    super(message);
  }
}

/** The body was not JSON at all (HTTP 400). */
export class MalformedJsonError extends ReelayError {
  readonly code = 'malformed_json';
}

/** Too large: a declared upload size over the limit or a request body past what we accept (HTTP 413). */
export class PayloadTooLargeError extends ReelayError {
  readonly code = 'payload_too_large';
}

/** A content type reelay does not accept (HTTP 415). */
export class UnsupportedMediaTypeError extends ReelayError {
  readonly code = 'unsupported_media_type';
}

/** Missing, or not visible to this caller (HTTP 404; another owner's video is reported the same way). */
export class NotFoundError extends ReelayError {
  readonly code = 'not_found';
}

/** No valid credentials (HTTP 401). */
export class UnauthorizedError extends ReelayError {
  readonly code = 'unauthorized';
}

/** Valid credentials without the right (HTTP 403). */
export class ForbiddenError extends ReelayError {
  readonly code = 'forbidden';
}

/**
 * The request conflicts with the resource's current state, e.g. completing an upload twice (HTTP 409). `details` names
 * the fields that conflict when there are some (an idempotency key reused for another request).
 */
export class ConflictError extends ReelayError {
  readonly code = 'conflict';
  constructor(message: string, readonly details: readonly ValidationIssue[] = []) {
    super(message);
  }
}

/**
 * An error reported by PostgreSQL, whichever driver carried it. `sqlState` is the five-character SQLSTATE
 * (see {@link SqlState}); code decides on it, never on the message text.
 */
export class DatabaseError extends ReelayError {
  readonly code = 'database_error';
  readonly sqlState: string;
  readonly hint?: string;
  readonly position?: number;
  readonly detail?: string;
  constructor(fields: { message: string; sqlState: string; hint?: string; position?: number; detail?: string }, options?: { cause?: unknown }) {
    super(fields.message, options);
    this.sqlState = fields.sqlState;
    if (fields.hint !== undefined) this.hint = fields.hint;
    if (fields.position !== undefined) this.position = fields.position;
    if (fields.detail !== undefined) this.detail = fields.detail;
  }
}

export type UnavailableReason = 'resuming' | 'unavailable' | 'throttled' | 'timeout';

/**
 * The database could not be reached or did not answer in time, after the driver's retries
 * (Serverless v2 still resuming from 0 ACU, throttling, a timeout on a statement that is not safe to repeat).
 */
export class DatabaseUnavailableError extends ReelayError {
  readonly code = 'database_unavailable';
  constructor(message: string, readonly reason: UnavailableReason, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A migration could not be applied, or the ledger disagrees with the files (e.g. an applied file was edited). */
export class MigrationError extends ReelayError {
  readonly code = 'migration_failed';
}

/**
 * Mux refused or failed a call. `retryable` is true for 408/409/429/5xx and network failures. `retryAfterMs` is
 * Mux's `Retry-After` (a 429's, or a 503's), read into milliseconds from when the answer arrived; undefined without one.
 */
export class MuxApiError extends ReelayError {
  readonly code = 'mux_api_error';
  readonly retryAfterMs?: number;
  constructor(message: string, readonly status: number | undefined, readonly retryable: boolean, options?: { cause?: unknown; retryAfterMs?: number | undefined }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The deployment's configuration is unusable: an environment variable that is malformed or missing (`variable` names
 * it, `accepted` says what it takes), or a configured secret that cannot be read. A server fault, never the
 * caller's (HTTP 500). Thrown at cold start for variables, so a bad deploy fails loudly instead of skewing requests.
 */
export class ConfigurationError extends ReelayError {
  readonly code: 'config_invalid' | 'mux_config_invalid' = 'config_invalid';
  readonly variable?: string;
  readonly accepted?: string;
  constructor(message: string, options: { readonly variable?: string; readonly accepted?: string; readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.variable !== undefined) this.variable = options.variable;
    if (options.accepted !== undefined) this.accepted = options.accepted;
  }
}

/** SQLSTATE codes reelay acts on (PostgreSQL Appendix A). */
export const SqlState = {
  undefinedColumn: '42703',
  undefinedTable: '42P01',
  duplicateTable: '42P07',
  duplicateColumn: '42701',
  duplicateObject: '42710',
  uniqueViolation: '23505',
  notNullViolation: '23502',
  insufficientPrivilege: '42501',
  lockNotAvailable: '55P03',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  queryCanceled: '57014',
  syntaxError: '42601',
  characterNotInRepertoire: '22021',
  untranslatableCharacter: '22P05',
} as const;

export function isDatabaseError(error: unknown, ...sqlStates: string[]): error is DatabaseError {
  return error instanceof DatabaseError && (sqlStates.length === 0 || sqlStates.includes(error.sqlState));
}

/**
 * SQLSTATEs of text the database cannot store at all: a NUL byte (22021), a `\u0000` escape in JSON (22P05). reelay's
 * own values (ids, timestamps, statuses, what it built from Mux's typed fields) never hold those, so such an error
 * means text from outside reached SQL without going through the request schemas (shared/http/text.ts). Other data
 * exceptions of class 22 (a number out of range, a failed cast) stay server errors: the schemas bound every number
 * and shape a caller sends, so those are reelay's bugs, and a 4xx would hide them.
 */
export const unstorableTextSqlStates: readonly string[] = [SqlState.characterNotInRepertoire, SqlState.untranslatableCharacter];

/** The caller's error a database error stands for, when only a caller's input can cause it; otherwise undefined. */
export function callerInputError(error: unknown): ValidationError | undefined {
  if (!isDatabaseError(error, ...unstorableTextSqlStates)) return undefined;
  return new ValidationError('The request holds text the database cannot store: NUL characters (\\u0000) are not allowed.');
}
