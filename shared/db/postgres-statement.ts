/**
 * What the two Postgres-protocol drivers (pg, PGlite) share above the wire: turning a named-parameter statement
 * into a positional one, refusing what the Data API refuses, mapping server errors to {@link DatabaseError}, and
 * the executor built on a driver's "run this positional statement" function.
 */
import { DatabaseError, DatabaseUnavailableError, SqlState } from '../errors.js';
import type { Executor, Params, QueryResult, Row } from './driver.js';
import { hasMultipleStatements, toPositional } from './named-params.js';
import { encodeParam, type EncodedParam } from './postgres-types.js';

export interface PositionalQuery {
  readonly text: string;
  readonly values: EncodedParam[];
}

/** The statement with `$n` placeholders and its encoded values, or a thrown error if the Data API would refuse it. */
export function preparePositional(sql: string, params: Params = {}): PositionalQuery {
  if (hasMultipleStatements(sql)) {
    throw new DatabaseError({
      message: 'Multiple statements in one call are not supported: send one statement per call',
      sqlState: SqlState.syntaxError,
    });
  }
  const { text, names } = toPositional(sql);
  const values = names.map((name) => {
    if (!Object.hasOwn(params, name)) throw new TypeError(`No value for parameter :${name}`);
    return encodeParam(params[name], name);
  });
  return { text, values };
}

/** The fields PostgreSQL sends with an error (pg and PGlite both expose them, from their pg-protocol copies). */
interface PostgresErrorFields {
  readonly code: string;
  readonly message: string;
  readonly severity: string;
  readonly hint?: string;
  readonly position?: string;
  readonly detail?: string;
}

/** Whether `error` was reported by the PostgreSQL server (it carries a SQLSTATE and a severity). */
export function isPostgresServerError(error: unknown): error is Error & PostgresErrorFields {
  if (!(error instanceof Error)) return false;
  const fields = error as Partial<Record<keyof PostgresErrorFields, unknown>>;
  return typeof fields.code === 'string' && /^[0-9A-Z]{5}$/.test(fields.code) && typeof fields.severity === 'string';
}

// SQLSTATEs that mean "the server is going away or will not take the connection" rather than "your statement is
// wrong": connection exceptions (class 08), too many connections, and admin/crash shutdown or startup.
const unavailableSqlStates = /^(08...|53300|57P0[123])$/;

/**
 * A PostgreSQL server error as reelay's typed error: {@link DatabaseError} with SQLSTATE, hint, position and detail,
 * or {@link DatabaseUnavailableError} when the server refused or dropped the connection. `undefined` for anything
 * the server did not report.
 */
export function translateServerError(error: unknown): DatabaseError | DatabaseUnavailableError | undefined {
  if (!isPostgresServerError(error)) return undefined;
  if (unavailableSqlStates.test(error.code)) {
    return new DatabaseUnavailableError(error.message, 'unavailable', { cause: error });
  }
  const position = error.position === undefined ? undefined : Number(error.position);
  return new DatabaseError(
    {
      message: error.message,
      sqlState: error.code,
      ...(error.hint ? { hint: error.hint } : {}),
      ...(position !== undefined && Number.isFinite(position) ? { position } : {}),
      ...(error.detail ? { detail: error.detail } : {}),
    },
    { cause: error },
  );
}

/** Rows and the count, whatever the underlying client calls them. */
export interface RawResult {
  readonly rows: Row[];
  readonly rowCount: number;
}

/** Runs one positional statement on a connection; decoding is the runner's job. */
export type PositionalRunner = (query: PositionalQuery) => Promise<RawResult>;

/**
 * An {@link Executor} over a runner: prepares each statement, runs it, and passes any failure through
 * `translateError` (server errors → DatabaseError, connection failures → DatabaseUnavailableError).
 */
export function createPositionalExecutor(run: PositionalRunner, translateError: (error: unknown) => unknown): Executor {
  const execute = async <R = Row>(sql: string, params?: Params): Promise<QueryResult<R>> => {
    const query = preparePositional(sql, params);
    try {
      const result = await run(query);
      return { rows: result.rows as R[], rowCount: result.rowCount };
    } catch (error) {
      throw translateError(error);
    }
  };
  return {
    execute,
    async batch(sql, parameterSets) {
      // Prepare every set first, so a bad parameter fails the batch before anything runs.
      const queries = parameterSets.map((params) => preparePositional(sql, params));
      let rowCount = 0;
      for (const query of queries) {
        try {
          rowCount += (await run(query)).rowCount;
        } catch (error) {
          throw translateError(error);
        }
      }
      return { rowCount };
    },
  };
}

/**
 * Runs tasks one after another in call order. A transaction executor uses it so concurrent calls on one
 * transaction queue up instead of interleaving (the Data API refuses concurrent calls on a transaction).
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once everything queued so far has settled. */
  drained(): Promise<void> {
    return this.#tail.then(() => undefined);
  }
}

/** A statement was sent on a transaction's executor after the transaction committed or rolled back. */
export class TransactionEndedError extends Error {
  constructor() {
    super('The transaction has already ended: run its statements inside work() and await them');
    this.name = 'TransactionEndedError';
  }
}

/**
 * A transaction's executor: calls are serialised, and refused once the transaction has ended (a call that slipped
 * past `work`'s promise would otherwise run outside the transaction).
 */
export function createTransactionExecutor(run: PositionalRunner, translateError: (error: unknown) => unknown) {
  const queue = new SerialQueue();
  let finished = false;
  const guarded: PositionalRunner = (query) =>
    queue.run(() => (finished ? Promise.reject(new TransactionEndedError()) : run(query)));
  const executor = createPositionalExecutor(guarded, (error) =>
    error instanceof TransactionEndedError ? error : translateError(error),
  );
  return {
    executor,
    /** Waits for queued calls, then refuses new ones. */
    async finish(): Promise<void> {
      await queue.drained();
      finished = true;
    },
  };
}
