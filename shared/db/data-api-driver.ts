/**
 * The production driver: Aurora PostgreSQL through the RDS Data API (`@aws-sdk/client-rds-data`).
 *
 * Results are requested with column metadata and `longReturnType: STRING`: the SDK parses `longValue` with
 * JSON.parse, which rounds int8 values past 2^53, so integers come back as text and are typed here from the column's
 * `typeName` (int8 → bigint, int4 → number). `formatRecordsAs: JSON` is not used: it drops the column metadata and
 * puts int8 in a JSON number, so it cannot be decoded losslessly.
 *
 * Retries (see {@link classifyDataApiFailure}): a call that never reached the database (Serverless v2 resuming from
 * 0 ACU, throttling) is repeated with full-jitter backoff until the invocation's deadline (shared/retry.ts; ~60 s
 * outside Lambda); a call whose outcome is unknown (a timeout, a 5xx) is repeated only when the statement is
 * idempotent; inside a transaction only never-ran failures are repeated.
 */

import {
  BatchExecuteStatementCommand,
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataServiceException,
  RollbackTransactionCommand,
  type RDSDataClient,
} from '@aws-sdk/client-rds-data';
import { DatabaseError, DatabaseUnavailableError, ReelayError, SqlState } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { noMetrics, type Metrics } from '../metrics.js';
import { retry, systemClock, type RetryClock, type RetryPolicy } from '../retry.js';
import { classifyDataApiFailure, DataApiRequestError, parseDataApiErrorMessage } from './data-api-errors.js';
import { decodeDataApiRecords, encodeDataApiParameters } from './data-api-types.js';
import type { Driver, ExecuteOptions, Executor, Params, QueryResult, Row } from './driver.js';
import { hasMultipleStatements } from './named-params.js';

export interface DataApiRetryOptions {
  /**
   * Outside Lambda, stop retrying once this much time (calls plus waits) has gone by; inside Lambda the invocation's
   * remaining time decides (shared/retry.ts). Default 60 000: a whole Serverless v2 resume.
   */
  readonly maxElapsedMs?: number;
  /** A limit that holds inside Lambda too (a health check that must answer fast). */
  readonly limitMs?: number;
  /** Kept back from the invocation's remaining time, to answer after giving up. Default 2 000. */
  readonly safetyMarginMs?: number;
  /** Full-jitter backoff: the first wait is at most `baseDelayMs`, doubling up to `maxDelayMs`. Defaults 500 / 10 000. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** How to wait (tests pass one that does not). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1] (tests pass a fixed one). */
  readonly random?: () => number;
  /** The clock the budget is measured on. */
  readonly now?: () => number;
  /** The invocation's remaining time; default: the current Lambda invocation's (undefined outside Lambda). */
  readonly remainingTimeMs?: () => number | undefined;
}

export interface DataApiDriverOptions {
  readonly client: RDSDataClient;
  readonly resourceArn: string;
  readonly secretArn: string;
  readonly database: string;
  readonly logger?: Logger;
  /** Counts retries (`DataApiRetries`), resumes waited out (`DataApiResumes`) and calls given up. */
  readonly metrics?: Metrics;
  readonly retry?: DataApiRetryOptions;
  /** Destroy the client in close(): true when the caller made it for this driver alone. */
  readonly ownsClient?: boolean;
}

/** Backoff for a resume: Serverless v2 takes up to ~60 s to come back from 0 ACU, throttling clears sooner. */
export const defaultDataApiRetryPolicy: RetryPolicy = { baseDelayMs: 500, maxDelayMs: 10_000, budgetMs: 60_000 };

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
  private readonly metrics: Metrics;
  private readonly retryPolicy: RetryPolicy;
  private readonly clock: RetryClock;
  private readonly remainingTimeMs: (() => number | undefined) | undefined;
  private readonly ownsClient: boolean;
  private closed = false;

  constructor(options: DataApiDriverOptions) {
    this.client = options.client;
    this.resourceArn = options.resourceArn;
    this.secretArn = options.secretArn;
    this.database = options.database;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? noMetrics;
    const given = options.retry ?? {};
    this.retryPolicy = {
      baseDelayMs: given.baseDelayMs ?? defaultDataApiRetryPolicy.baseDelayMs,
      maxDelayMs: given.maxDelayMs ?? defaultDataApiRetryPolicy.maxDelayMs,
      budgetMs: given.maxElapsedMs ?? defaultDataApiRetryPolicy.budgetMs,
      ...(given.limitMs !== undefined ? { limitMs: given.limitMs } : {}),
      ...(given.safetyMarginMs !== undefined ? { safetyMarginMs: given.safetyMarginMs } : {}),
    };
    this.clock = {
      now: given.now ?? systemClock.now,
      random: given.random ?? systemClock.random,
      sleep: given.sleep ?? systemClock.sleep,
    };
    this.remainingTimeMs = given.remainingTimeMs;
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
    const errorName = (error: unknown) => (error instanceof Error ? error.name : String(error));
    let reason: DatabaseUnavailableError['reason'] = 'unavailable';
    let resumed = false;
    const result = await retry(() => send(), {
      policy: this.retryPolicy,
      clock: this.clock,
      ...(this.remainingTimeMs ? { remainingTimeMs: this.remainingTimeMs } : {}),
      retryable: (error) => {
        const failure = classifyDataApiFailure(error);
        if (failure.retry === 'final') throw toReelayError(error);
        reason = failure.reason;
        if (failure.retry === 'retry-if-idempotent' && !policy.repeatable) {
          throw new DatabaseUnavailableError(
            `Data API ${policy.operation} failed with ${errorName(error)}; not retried because it may already have run`,
            failure.reason,
            { cause: error },
          );
        }
        return true;
      },
      onRetry: (error, { attempt, delayMs }) => {
        this.logger.warn('dataapi.retry', { operation: policy.operation, attempt, delayMs, reason, error: errorName(error) });
        this.metrics.count('DataApiRetries', 1, { dimensions: { Reason: reason }, properties: { operation: policy.operation, attempt } });
        if (reason === 'resuming') resumed = true;
      },
      onExhausted: (error, { attempt }) => {
        this.logger.error('dataapi.retries_exhausted', { operation: policy.operation, attempts: attempt, reason, error: errorName(error) });
        this.metrics.count('DataApiRetriesExhausted', 1, { dimensions: { Reason: reason }, properties: { operation: policy.operation, attempts: attempt } });
        return new DatabaseUnavailableError(
          `Data API ${policy.operation} still failing with ${errorName(error)} after ${attempt} attempts`,
          reason,
          { cause: error },
        );
      },
    });
    // A call that waited out a resume and then got through: the cluster woke from 0 ACU for it.
    if (resumed) this.metrics.count('DataApiResumes', 1, { properties: { operation: policy.operation } });
    return result;
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
