/**
 * The `pg` driver: PostgreSQL over a connection pool (RDS Proxy, direct connections, CI's PostgreSQL). Values are
 * decoded with reelay's own per-query type parsers, so pg's global `types` registry — shared with anything else in
 * the process that uses pg — is never touched.
 */
import pg from 'pg';
import type { CustomTypesConfig, Pool, PoolClient, PoolConfig } from 'pg';
import { DatabaseError, DatabaseUnavailableError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { Driver, ExecuteOptions, Executor, Params, QueryResult, Row } from './driver.js';
import {
  createPositionalExecutor,
  createTransactionExecutor,
  translateServerError,
  type PositionalQuery,
  type RawResult,
} from './postgres-statement.js';
import { decoderFor } from './postgres-types.js';

// pg asks for a parser per column type; every column is decoded by reelay's table (text format only: reelay never
// requests binary results).
const reelayTypes = { getTypeParser: ((oid: number) => decoderFor(oid)) as CustomTypesConfig['getTypeParser'] };

/** SQLSTATE 25P02: what PGlite reports for COMMIT of a failed transaction; pg gets the same from this driver. */
export const inFailedSqlTransaction = '25P02';

interface Queryable {
  query(config: { text: string; values: unknown[]; types: CustomTypesConfig }): Promise<pg.QueryResult<Row>>;
}

async function runOn(queryable: Queryable, query: PositionalQuery): Promise<RawResult> {
  const values = query.values.map((value) =>
    value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value,
  );
  const result = await queryable.query({ text: query.text, values, types: reelayTypes });
  return { rows: result.rows, rowCount: result.rowCount ?? 0 };
}

/**
 * Errors raised while talking to the server: its own errors keep their SQLSTATE; anything else pg raises (refused
 * or dropped connections, connect timeouts, a pool that has ended) means the database could not be reached.
 * Programming errors (TypeError and friends) pass through untouched.
 */
function translatePgError(error: unknown): unknown {
  const server = translateServerError(error);
  if (server !== undefined) return server;
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DatabaseUnavailableError(`PostgreSQL is unreachable: ${message}`, 'unavailable', { cause: error });
}

export interface PgDriverOptions {
  readonly logger?: Logger;
  /** End the pool in close(): true when the driver created it. */
  readonly ownsPool?: boolean;
}

export class PgDriver implements Driver {
  readonly name = 'pg' as const;
  readonly #pool: Pool;
  readonly #ownsPool: boolean;
  readonly #logger: Logger;
  readonly #executor: Executor;

  constructor(pool: Pool, options: PgDriverOptions = {}) {
    this.#pool = pool;
    this.#ownsPool = options.ownsPool ?? false;
    this.#logger = options.logger ?? silentLogger;
    // An idle pooled connection that dies (server restart, failover) is reported as a pool 'error' event; without a
    // listener Node would crash the process. The pool discards the client; the next query connects afresh.
    pool.on('error', (error) => this.#logger.warn('db.pg.idle_connection_lost', { error }));
    this.#executor = createPositionalExecutor((query) => runOn(pool, query), translatePgError);
  }

  /** A driver with its own pool on `url`; close() ends the pool. */
  static fromUrl(url: string, poolOptions: Omit<PoolConfig, 'connectionString'> = {}, options: Omit<PgDriverOptions, 'ownsPool'> = {}): PgDriver {
    return new PgDriver(new pg.Pool({ ...poolOptions, connectionString: url }), { ...options, ownsPool: true });
  }

  execute<R = Row>(sql: string, params?: Params, _options?: ExecuteOptions): Promise<QueryResult<R>> {
    return this.#executor.execute<R>(sql, params);
  }

  batch(sql: string, parameterSets: readonly Params[]): Promise<{ readonly rowCount: number }> {
    return this.#executor.batch(sql, parameterSets);
  }

  async transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    const client = await this.#connect();
    // A checked-out client has no pool listener: if the server drops it between statements, pg emits 'error' on
    // the client, which would crash the process unheard. The next statement then fails and the client is destroyed.
    const onConnectionError = (error: Error) => this.#logger.warn('db.pg.transaction_connection_lost', { error });
    client.on('error', onConnectionError);
    const release = (destroy: boolean) => {
      client.removeListener('error', onConnectionError);
      client.release(destroy);
    };
    try {
      await client.query('BEGIN');
    } catch (error) {
      release(true);
      throw translatePgError(error);
    }
    const tx = createTransactionExecutor((query) => runOn(client, query), translatePgError);
    let result: T;
    try {
      result = await work(tx.executor);
    } catch (error) {
      await tx.finish();
      await this.#rollback(client, release);
      throw error;
    }
    await tx.finish();
    await this.#commit(client, release);
    return result;
  }

  async close(): Promise<void> {
    if (this.#ownsPool && !this.#pool.ended) await this.#pool.end();
  }

  async #connect(): Promise<PoolClient> {
    try {
      return await this.#pool.connect();
    } catch (error) {
      throw translatePgError(error);
    }
  }

  async #commit(client: PoolClient, release: (destroy: boolean) => void): Promise<void> {
    let command: string;
    try {
      command = (await client.query('COMMIT')).command;
    } catch (error) {
      // A failed COMMIT ends the transaction; the connection is still good unless the failure was the connection.
      release(translateServerError(error) === undefined);
      throw translatePgError(error);
    }
    release(false);
    // COMMIT of a transaction that already failed succeeds as a ROLLBACK: surface it the way PGlite does.
    if (command === 'ROLLBACK') {
      throw new DatabaseError({
        message: 'The transaction was rolled back instead of committed: a statement in it failed',
        sqlState: inFailedSqlTransaction,
      });
    }
  }

  async #rollback(client: PoolClient, release: (destroy: boolean) => void): Promise<void> {
    try {
      await client.query('ROLLBACK');
      release(false);
    } catch (error) {
      // The work's error is what the caller needs; a connection that cannot roll back is destroyed, not reused.
      this.#logger.warn('db.pg.rollback_failed', { error });
      release(true);
    }
  }
}
