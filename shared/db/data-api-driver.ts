/**
 * The production driver: Aurora PostgreSQL through the RDS Data API (`@aws-sdk/client-rds-data`).
 *
 * Results are requested with column metadata and `longReturnType: STRING`: the SDK parses `longValue` with
 * JSON.parse, which rounds int8 values past 2^53, so integers come back as text and are typed here from the column's
 * `typeName` (int8 → bigint, int4 → number). `formatRecordsAs: JSON` is not used: it drops the column metadata and
 * puts int8 in a JSON number, so it cannot be decoded losslessly.
 *
 * Retries (see {@link classifyDataApiFailure}): a call that never reached the database (Serverless v2 resuming from
 * 0 ACU, throttling) is repeated with backoff for up to ~60 s; a call whose outcome is unknown (a timeout, a 5xx) is
 * repeated only when the statement is idempotent; inside a transaction only never-ran failures are repeated.
 */

import {
  BatchExecuteStatementCommand,
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataServiceException,
  RollbackTransactionCommand,
  type ArrayValue,
  type ColumnMetadata,
  type Field,
  type RDSDataClient,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import { DatabaseError, DatabaseUnavailableError, ReelayError, SqlState } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { classifyDataApiFailure, DataApiRequestError, parseDataApiErrorMessage } from './data-api-errors.js';
import {
  isTypedValue,
  type Driver,
  type ExecuteOptions,
  type Executor,
  type ParamValue,
  type Params,
  type QueryResult,
  type Row,
  type TypedValue,
} from './driver.js';
import { hasMultipleStatements } from './named-params.js';

export interface DataApiRetryOptions {
  /** Stop retrying once this much time (calls plus waits) has gone by. Default 60 000. */
  readonly maxElapsedMs?: number;
  /** Wait before each retry, in order; the last one repeats. Default 0, 2, 5, 10, 10 … seconds. */
  readonly delaysMs?: readonly number[];
  /** How to wait (tests pass one that does not). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface DataApiDriverOptions {
  readonly client: RDSDataClient;
  readonly resourceArn: string;
  readonly secretArn: string;
  readonly database: string;
  readonly logger?: Logger;
  readonly retry?: DataApiRetryOptions;
  /** Destroy the client in close(): true when the caller made it for this driver alone. */
  readonly ownsClient?: boolean;
}

/** data-api-client's resume schedule, cut off near the 60 s a Serverless v2 resume can take. */
export const defaultRetryDelaysMs: readonly number[] = [0, 2_000, 5_000, 10_000, 10_000, 10_000, 10_000, 10_000];
const defaultMaxElapsedMs = 60_000;

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// Parameters

/** `YYYY-MM-DD HH:MM:SS.FFF` in UTC: the only timestamp text the TIMESTAMP type hint accepts. */
export function formatDataApiTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').slice(0, 23);
}

function encodeTyped(value: TypedValue): Pick<SqlParameter, 'value' | 'typeHint'> {
  switch (value.hint) {
    case 'uuid':
      return { value: { stringValue: String(value.value) }, typeHint: 'UUID' };
    case 'decimal':
      return { value: { stringValue: String(value.value) }, typeHint: 'DECIMAL' };
    case 'date':
      return { value: { stringValue: String(value.value) }, typeHint: 'DATE' };
    case 'timestamp': {
      const date = value.value instanceof Date ? value.value : new Date(String(value.value));
      return { value: { stringValue: formatDataApiTimestamp(date) }, typeHint: 'TIMESTAMP' };
    }
    case 'json':
      return { value: { stringValue: JSON.stringify(value.value) }, typeHint: 'JSON' };
  }
}

function encodeValue(value: ParamValue): Pick<SqlParameter, 'value' | 'typeHint'> {
  if (value === null || value === undefined) return { value: { isNull: true } };
  if (isTypedValue(value)) return encodeTyped(value);
  if (typeof value === 'string') return { value: { stringValue: value } };
  if (typeof value === 'boolean') return { value: { booleanValue: value } };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? { value: { longValue: value } } : { value: { doubleValue: value } };
  }
  if (typeof value === 'bigint') {
    const safe = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER);
    // The SDK writes longValue as a JS number, so larger values travel as exact text typed DECIMAL.
    return safe ? { value: { longValue: Number(value) } } : { value: { stringValue: value.toString() }, typeHint: 'DECIMAL' };
  }
  if (value instanceof Date) return { value: { stringValue: formatDataApiTimestamp(value) }, typeHint: 'TIMESTAMP' };
  if (value instanceof Uint8Array) return { value: { blobValue: value } };
  // The Data API has no array parameters (and plain objects have no SQL type): callers must say how to send them.
  throw new TypeError(`Unsupported parameter value ${Object.prototype.toString.call(value)}: pass lists and objects as sqlValue.json(...)`);
}

export function encodeDataApiParameters(params: Params = {}): SqlParameter[] {
  return Object.entries(params).map(([name, value]) => ({ name, ...encodeValue(value) }));
}

// ---------------------------------------------------------------------------------------------------------------
// Results

type ScalarKind = 'integer' | 'bigint' | 'float' | 'numeric' | 'boolean' | 'timestamp' | 'json' | 'bytea' | 'text';

const scalarKinds: Record<string, ScalarKind> = {
  int2: 'integer', int4: 'integer', smallint: 'integer', integer: 'integer', oid: 'integer',
  serial: 'integer', serial2: 'integer', serial4: 'integer', smallserial: 'integer',
  int8: 'bigint', bigint: 'bigint', bigserial: 'bigint', serial8: 'bigint',
  float4: 'float', float8: 'float', real: 'float', 'double precision': 'float',
  numeric: 'numeric', decimal: 'numeric',
  bool: 'boolean', boolean: 'boolean',
  timestamp: 'timestamp', timestamptz: 'timestamp',
  json: 'json', jsonb: 'json',
  bytea: 'bytea',
};

/** The element type of a Postgres array type name (`_int8` → `int8`), or undefined for a scalar type. */
function arrayElementType(typeName: string): string | undefined {
  return typeName.startsWith('_') ? typeName.slice(1) : undefined;
}

const timestampPattern =
  /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d(?::?\d\d)?(?::?\d\d)?)?$/;

/** Parses Data API timestamp text; text without an offset is UTC (timestamp without time zone reads as UTC). */
export function parseDataApiTimestamp(text: string): Date {
  const match = timestampPattern.exec(text.trim());
  if (!match) return new Date(Number.NaN);
  const [, year, month, day, hour, minute, second, fraction = '', offset] = match;
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  let epoch = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second), millis);
  if (offset && offset !== 'Z') {
    const sign = offset.startsWith('-') ? -1 : 1;
    const [hours = '0', minutes = '0', seconds = '0'] = offset.slice(1).match(/\d\d/g) ?? [];
    epoch -= sign * ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
  }
  return new Date(epoch);
}

function decodeScalar(value: string | number | boolean, typeName: string): unknown {
  switch (scalarKinds[typeName] ?? 'text') {
    case 'integer':
    case 'float':
      return typeof value === 'number' ? value : Number(value);
    case 'bigint':
      return typeof value === 'boolean' ? BigInt(value ? 1 : 0) : BigInt(value);
    case 'numeric':
      return String(value);
    case 'boolean':
      return typeof value === 'boolean' ? value : value === 't' || value === 'true';
    case 'timestamp':
      return parseDataApiTimestamp(String(value));
    case 'json':
      return JSON.parse(String(value));
    case 'bytea':
      // Only array elements get here: a bytea field arrives as blobValue, an element as base64 text.
      return new Uint8Array(Buffer.from(String(value), 'base64'));
    case 'text':
      return value;
  }
}

function decodeArray(array: ArrayValue, elementType: string): unknown[] {
  if (array.arrayValues) return array.arrayValues.map((inner) => (inner === null ? null : decodeArray(inner, elementType)));
  const elements: ReadonlyArray<string | number | boolean | null> | undefined =
    array.stringValues ?? array.longValues ?? array.doubleValues ?? array.booleanValues;
  return (elements ?? []).map((element) => (element === null || element === undefined ? null : decodeScalar(element, elementType)));
}

function decodeField(field: Field, typeName: string): unknown {
  if (field.isNull) return null;
  if (field.arrayValue !== undefined) return decodeArray(field.arrayValue, arrayElementType(typeName) ?? typeName);
  if (field.blobValue !== undefined) return new Uint8Array(field.blobValue);
  const scalar = field.stringValue ?? field.longValue ?? field.doubleValue ?? field.booleanValue;
  return scalar === undefined ? null : decodeScalar(scalar, typeName);
}

export function decodeDataApiRecords(records: readonly Field[][], columns: readonly ColumnMetadata[]): Row[] {
  const names = columns.map((column, index) => column.label ?? column.name ?? `?column?${index}`);
  const types = columns.map((column) => (column.typeName ?? '').toLowerCase());
  return records.map((record) => {
    const row: Row = {};
    record.forEach((field, index) => {
      row[names[index] ?? `?column?${index}`] = decodeField(field, types[index] ?? '');
    });
    return row;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** The typed reelay error for a failed Data API call that will not be retried. */
export function toReelayError(error: unknown): unknown {
  if (error instanceof ReelayError || !(error instanceof RDSDataServiceException)) return error;
  if (error.name === 'DatabaseErrorException' || error.name === 'BadRequestException') {
    const parsed = parseDataApiErrorMessage(error.message);
    if (parsed) return new DatabaseError(parsed, { cause: error });
  }
  return new DataApiRequestError(error.message, error.name, { cause: error });
}

/**
 * The Data API rejects multi-statement SQL with a BadRequestException; refusing it before the call costs nothing and
 * gives the same error every driver gives (Postgres's own, for a prepared statement).
 */
function refuseMultipleStatements(sql: string): void {
  if (hasMultipleStatements(sql)) {
    throw new DatabaseError({ message: 'cannot insert multiple commands into a prepared statement', sqlState: SqlState.syntaxError });
  }
}

const readOnlyStatement = /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*select\b/i;

// ---------------------------------------------------------------------------------------------------------------
// The driver

interface CallPolicy {
  readonly operation: string;
  /** The call may be sent again when its outcome is unknown. */
  readonly repeatable: boolean;
}

export class DataApiDriver implements Driver {
  readonly name = 'data-api' as const;
  private readonly client: RDSDataClient;
  private readonly resourceArn: string;
  private readonly secretArn: string;
  private readonly database: string;
  private readonly logger: Logger;
  private readonly delaysMs: readonly number[];
  private readonly maxElapsedMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly ownsClient: boolean;
  private closed = false;

  constructor(options: DataApiDriverOptions) {
    this.client = options.client;
    this.resourceArn = options.resourceArn;
    this.secretArn = options.secretArn;
    this.database = options.database;
    this.logger = options.logger ?? silentLogger;
    this.delaysMs = options.retry?.delaysMs?.length ? options.retry.delaysMs : defaultRetryDelaysMs;
    this.maxElapsedMs = options.retry?.maxElapsedMs ?? defaultMaxElapsedMs;
    this.sleep = options.retry?.sleep ?? realSleep;
    this.ownsClient = options.ownsClient ?? false;
  }

  execute<R = Row>(sql: string, params?: Params, options?: ExecuteOptions): Promise<QueryResult<R>> {
    return this.runStatement<R>(sql, params, options, undefined);
  }

  batch(sql: string, parameterSets: readonly Params[]): Promise<{ readonly rowCount: number }> {
    return this.runBatch(sql, parameterSets, undefined);
  }

  async transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    this.assertOpen();
    const begun = await this.call({ operation: 'BeginTransaction', repeatable: true }, () =>
      this.client.send(
        new BeginTransactionCommand({ resourceArn: this.resourceArn, secretArn: this.secretArn, database: this.database }),
      ),
    );
    const transactionId = begun.transactionId;
    if (!transactionId) throw new DataApiRequestError('BeginTransaction returned no transaction id', 'BeginTransaction');
    const tx = new DataApiTransaction(this, transactionId);
    let result: T;
    try {
      result = await work(tx);
    } catch (error) {
      await tx.finish(() => this.rollback(transactionId));
      throw error;
    }
    await tx.finish(() =>
      this.call({ operation: 'CommitTransaction', repeatable: false }, () =>
        this.client.send(
          new CommitTransactionCommand({ resourceArn: this.resourceArn, secretArn: this.secretArn, transactionId }),
        ),
      ),
    );
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.ownsClient) this.client.destroy();
  }

  /** @internal Runs one statement, in a transaction when `transactionId` is set. */
  async runStatement<R>(sql: string, params: Params | undefined, options: ExecuteOptions | undefined, transactionId: string | undefined): Promise<QueryResult<R>> {
    this.assertOpen();
    refuseMultipleStatements(sql);
    const idempotent = options?.idempotent ?? readOnlyStatement.test(sql);
    const response = await this.call({ operation: 'ExecuteStatement', repeatable: idempotent && transactionId === undefined }, () =>
      this.client.send(
        new ExecuteStatementCommand({
          resourceArn: this.resourceArn,
          secretArn: this.secretArn,
          database: this.database,
          sql,
          parameters: encodeDataApiParameters(params),
          transactionId,
          includeResultMetadata: true,
          continueAfterTimeout: options?.continueAfterTimeout,
          resultSetOptions: { longReturnType: 'STRING', decimalReturnType: 'STRING' },
        }),
      ),
    );
    const rows = decodeDataApiRecords(response.records ?? [], response.columnMetadata ?? []) as R[];
    const updated = response.numberOfRecordsUpdated ?? 0;
    return { rows, rowCount: updated > 0 ? updated : rows.length };
  }

  /** @internal */
  async runBatch(sql: string, parameterSets: readonly Params[], transactionId: string | undefined): Promise<{ readonly rowCount: number }> {
    this.assertOpen();
    refuseMultipleStatements(sql);
    if (parameterSets.length === 0) return { rowCount: 0 };
    const response = await this.call({ operation: 'BatchExecuteStatement', repeatable: false }, () =>
      this.client.send(
        new BatchExecuteStatementCommand({
          resourceArn: this.resourceArn,
          secretArn: this.secretArn,
          database: this.database,
          sql,
          parameterSets: parameterSets.map((set) => encodeDataApiParameters(set)),
          transactionId,
        }),
      ),
    );
    // BatchExecuteStatement reports one result per parameter set and no row counts.
    return { rowCount: response.updateResults?.length ?? parameterSets.length };
  }

  private async rollback(transactionId: string): Promise<void> {
    try {
      await this.call({ operation: 'RollbackTransaction', repeatable: true }, () =>
        this.client.send(
          new RollbackTransactionCommand({ resourceArn: this.resourceArn, secretArn: this.secretArn, transactionId }),
        ),
      );
    } catch (error) {
      // The Data API ends a transaction itself when a statement in it fails; it is already rolled back then.
      if (error instanceof DataApiRequestError && error.awsErrorName === 'TransactionNotFoundException') return;
      this.logger.warn('dataapi.rollback_failed', { error });
    }
  }

  private async call<T>(policy: CallPolicy, send: () => Promise<T>): Promise<T> {
    let spentMs = 0;
    for (let attempt = 1; ; attempt += 1) {
      const attemptStarted = Date.now();
      try {
        return await send();
      } catch (error) {
        spentMs += Date.now() - attemptStarted;
        const failure = classifyDataApiFailure(error);
        if (failure.retry === 'final') throw toReelayError(error);
        const errorName = error instanceof Error ? error.name : String(error);
        if (failure.retry === 'retry-if-idempotent' && !policy.repeatable) {
          throw new DatabaseUnavailableError(
            `Data API ${policy.operation} failed with ${errorName}; not retried because it may already have run`,
            failure.reason,
            { cause: error },
          );
        }
        const delayMs = this.delaysMs[Math.min(attempt - 1, this.delaysMs.length - 1)] ?? 0;
        if (spentMs + delayMs > this.maxElapsedMs) {
          this.logger.error('dataapi.retries_exhausted', { operation: policy.operation, attempts: attempt, reason: failure.reason, error: errorName });
          throw new DatabaseUnavailableError(
            `Data API ${policy.operation} still failing with ${errorName} after ${attempt} attempts`,
            failure.reason,
            { cause: error },
          );
        }
        this.logger.warn('dataapi.retry', { operation: policy.operation, attempt, delayMs, reason: failure.reason, error: errorName });
        await this.sleep(delayMs);
        spentMs += delayMs;
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new DataApiRequestError('The Data API driver is closed', 'DriverClosed');
  }
}

/**
 * The executor handed to `transaction(work)`. Calls on it run one at a time, in the order made, because the Data API
 * refuses a call on a transaction while another is running ("Transaction is still running a query").
 */
class DataApiTransaction implements Executor {
  private queue: Promise<unknown> = Promise.resolve();
  private finished = false;

  constructor(private readonly driver: DataApiDriver, private readonly transactionId: string) {}

  execute<R = Row>(sql: string, params?: Params, options?: ExecuteOptions): Promise<QueryResult<R>> {
    return this.enqueue(() => this.driver.runStatement<R>(sql, params, options, this.transactionId));
  }

  batch(sql: string, parameterSets: readonly Params[]): Promise<{ readonly rowCount: number }> {
    return this.enqueue(() => this.driver.runBatch(sql, parameterSets, this.transactionId));
  }

  /** Runs `end` (commit or rollback) after every call already made, and refuses calls from then on. */
  finish<T>(end: () => Promise<T>): Promise<T> {
    const ended = this.enqueue(end);
    this.finished = true;
    return ended;
  }

  private enqueue<T>(call: () => Promise<T>): Promise<T> {
    if (this.finished) {
      return Promise.reject(
        new DataApiRequestError(`Transaction ${this.transactionId} has already ended`, 'TransactionNotFoundException'),
      );
    }
    const result = this.queue.then(call);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
