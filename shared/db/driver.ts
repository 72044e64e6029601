/**
 * The one small interface every database driver implements (Kysely's Driver idea, trimmed to what reelay needs).
 *
 * Statements use named parameters (`:videoId`), because that is what the Aurora Data API speaks; the pg and PGlite
 * drivers rewrite them to `$1…$n`. One statement per call: the Data API rejects multi-statement SQL, so every
 * driver does, and code written against one driver runs on all three.
 *
 * Values crossing the interface have the same JavaScript types on every driver (the contract suite checks it):
 *
 * | PostgreSQL                         | JavaScript                                  |
 * |------------------------------------|---------------------------------------------|
 * | smallint, integer, real, double    | number                                      |
 * | bigint (int8)                      | bigint (never rounded)                      |
 * | numeric / decimal                  | string (exact, e.g. "0.95")                 |
 * | boolean                            | boolean                                     |
 * | text, varchar, char, uuid          | string                                      |
 * | timestamp, timestamptz             | Date (timestamp without time zone is UTC)   |
 * | date                               | string "YYYY-MM-DD"                         |
 * | json, jsonb                        | the parsed value                            |
 * | bytea                              | Uint8Array                                  |
 * | arrays of the above                | arrays                                      |
 * | NULL                               | null                                        |
 *
 * Parameters: string, number (integers as integers, others as doubles), bigint, boolean, Date (a UTC timestamp),
 * Uint8Array, null/undefined (NULL), or a {@link TypedValue} made with {@link sqlValue} when the database needs to
 * be told the type (uuid, decimal, date, json, timestamp). Arrays are not parameters (the Data API has none): pass
 * `sqlValue.json([...])` and unnest it in SQL.
 */

export type TypeHint = 'uuid' | 'timestamp' | 'date' | 'decimal' | 'json';

/** A parameter value that carries the SQL type the database should see it as. */
export interface TypedValue {
  readonly kind: 'typed';
  readonly hint: TypeHint;
  /** The value as text (uuid, date, decimal), a Date (timestamp) or any JSON-serialisable value (json). */
  readonly value: string | Date | JsonValue;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type ParamValue = string | number | bigint | boolean | Date | Uint8Array | null | undefined | TypedValue;

export type Params = Readonly<Record<string, ParamValue>>;

export type Row = Record<string, unknown>;

export interface QueryResult<R = Row> {
  /** Rows returned by the statement (empty for statements without RETURNING). */
  readonly rows: R[];
  /** Rows inserted, updated or deleted; for a SELECT, the number of rows returned. */
  readonly rowCount: number;
}

export interface ExecuteOptions {
  /**
   * Safe to run twice. Drivers only retry a statement whose outcome is unknown (a timeout, a dropped connection)
   * when this is true; SELECTs are treated as idempotent unless this says otherwise. Errors that say the statement
   * never ran (e.g. DatabaseResumingException) are retried regardless.
   */
  readonly idempotent?: boolean;
  /**
   * Keep running after the caller's timeout (Data API `continueAfterTimeout`): for long DDL such as
   * CREATE INDEX CONCURRENTLY whose completion is then polled for. Ignored by drivers that have no call timeout.
   */
  readonly continueAfterTimeout?: boolean;
}

/** Runs statements. Both a driver and a transaction are executors. */
export interface Executor {
  execute<R = Row>(sql: string, params?: Params, options?: ExecuteOptions): Promise<QueryResult<R>>;
  /**
   * Runs one statement once per parameter set (Data API BatchExecuteStatement). Not atomic by itself: wrap it in
   * {@link Driver.transaction} when all sets must land together.
   */
  batch(sql: string, parameterSets: readonly Params[]): Promise<{ readonly rowCount: number }>;
}

export interface Driver extends Executor {
  /** `data-api`, `pg` or `pglite`: for logs, health output and diagnostics. */
  readonly name: DriverName;
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws (the error is rethrown).
   * Statements inside must go through the given executor. Calls on it are serialised by the driver, because the
   * Data API refuses concurrent calls on one transaction.
   */
  transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T>;
  /** Releases connections. The driver is unusable afterwards. */
  close(): Promise<void>;
}

export type DriverName = 'data-api' | 'pg' | 'pglite';

function typed(hint: TypeHint, value: TypedValue['value']): TypedValue {
  return { kind: 'typed', hint, value };
}

/** Builders for parameters whose SQL type must be explicit. */
export const sqlValue = {
  uuid: (value: string): TypedValue => typed('uuid', value),
  /** Exact decimal, given as text to avoid binary floating point ("0.95", not 0.95). */
  decimal: (value: string | number): TypedValue => typed('decimal', typeof value === 'number' ? String(value) : value),
  /** A calendar date, "YYYY-MM-DD". */
  date: (value: string): TypedValue => typed('date', value),
  timestamp: (value: Date): TypedValue => typed('timestamp', value),
  json: (value: JsonValue): TypedValue => typed('json', value),
} as const;

export function isTypedValue(value: unknown): value is TypedValue {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'typed';
}
