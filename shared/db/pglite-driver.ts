/**
 * The embedded driver: `@electric-sql/pglite` (PostgreSQL compiled to WebAssembly) in this process — a data
 * directory on disk for `npm start`, in memory for tests.
 *
 * PGlite is one connection. Its `transaction()` holds a mutex that its plain `query()` also takes, so while a
 * transaction is open, statements sent through the driver (outside the transaction) wait until it commits or rolls
 * back; they never run inside it. Consequently a statement sent on the driver from *inside* `work` would wait for
 * its own transaction forever: the driver refuses it with {@link PgliteStatementWouldDeadlockError} instead.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { PGlite, type ParserOptions, type SerializerOptions, type Transaction } from '@electric-sql/pglite';
import type { Driver, ExecuteOptions, Executor, Params, QueryResult, Row } from './driver.js';
import {
  createPositionalExecutor,
  createTransactionExecutor,
  translateServerError,
  type PositionalQuery,
  type RawResult,
} from './postgres-statement.js';
import { byteaHex, decoderFor, postgresTypeDecoders } from './postgres-types.js';

/** A statement was sent on the driver while the same async flow holds a PGlite transaction open. */
export class PgliteStatementWouldDeadlockError extends Error {
  constructor() {
    super(
      'A statement was sent on the PGlite driver from inside one of its transactions; it would wait for that ' +
        'transaction forever. Run it on the transaction executor passed to work().',
    );
    this.name = 'PgliteStatementWouldDeadlockError';
  }
}

interface QueryOptionsForReelay {
  readonly parsers: ParserOptions;
  readonly serializers: SerializerOptions;
}

type PgliteQueryable = Pick<PGlite, 'query'> | Transaction;

function translatePgliteError(error: unknown): unknown {
  // PGlite attaches the query options to its errors: reelay's per-type parser table, hundreds of entries that
  // would bury the useful part of every logged or printed error. The query text and parameters stay.
  if (error instanceof Error && 'queryOptions' in error) delete error.queryOptions;
  return translateServerError(error) ?? error;
}

export interface PgliteDriverOptions {
  /** Close the PGlite instance in close(): true when the driver opened it. */
  readonly ownsDatabase?: boolean;
}

export class PgliteDriver implements Driver {
  readonly name = 'pglite' as const;
  readonly #db: PGlite;
  readonly #ownsDatabase: boolean;
  readonly #executor: Executor;
  readonly #insideTransaction = new AsyncLocalStorage<true>();
  #queryOptions: QueryOptionsForReelay | undefined;

  constructor(db: PGlite, options: PgliteDriverOptions = {}) {
    this.#db = db;
    this.#ownsDatabase = options.ownsDatabase ?? false;
    this.#executor = createPositionalExecutor((query) => {
      if (this.#insideTransaction.getStore()) return Promise.reject(new PgliteStatementWouldDeadlockError());
      return this.#runOn(db, query);
    }, translatePgliteError);
  }

  /** A driver on a new PGlite: in memory when `dataDir` is undefined, else stored in that directory. */
  static async open(dataDir?: string): Promise<PgliteDriver> {
    const db = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
    await db.waitReady;
    return new PgliteDriver(db, { ownsDatabase: true });
  }

  execute<R = Row>(sql: string, params?: Params, _options?: ExecuteOptions): Promise<QueryResult<R>> {
    return this.#executor.execute<R>(sql, params);
  }

  batch(sql: string, parameterSets: readonly Params[]): Promise<{ readonly rowCount: number }> {
    return this.#executor.batch(sql, parameterSets);
  }

  async transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    if (this.#insideTransaction.getStore()) throw new PgliteStatementWouldDeadlockError();
    // PGlite's transaction() runs BEGIN, then COMMIT or ROLLBACK, and keeps other statements out meanwhile.
    let workFailed = false;
    try {
      return await this.#db.transaction(async (pgliteTx) => {
        const tx = createTransactionExecutor((query) => this.#runOn(pgliteTx, query), translatePgliteError);
        try {
          return await this.#insideTransaction.run(true, () => work(tx.executor));
        } catch (error) {
          workFailed = true;
          throw error;
        } finally {
          await tx.finish();
        }
      });
    } catch (error) {
      // The work's own error goes back as it is; BEGIN/COMMIT failures (e.g. 25P02 when a statement in the
      // transaction failed and the work carried on) become DatabaseErrors.
      throw workFailed ? error : translatePgliteError(error);
    }
  }

  async close(): Promise<void> {
    if (this.#ownsDatabase && !this.#db.closed) await this.#db.close();
  }

  async #runOn(queryable: PgliteQueryable, query: PositionalQuery): Promise<RawResult> {
    const options = await this.#reelayQueryOptions();
    const values = query.values.map((value) => (value instanceof Uint8Array ? byteaHex(value) : value));
    const result = await queryable.query<Row>(query.text, values, options);
    return { rows: result.rows, rowCount: result.rowCount ?? result.affectedRows ?? result.rows.length };
  }

  /**
   * Per-query parsers and serializers covering every type PGlite knows, so that neither PGlite's defaults nor
   * options someone set on a shared instance change what reelay sees: values are decoded by reelay's table (other
   * types stay text, as with pg), and parameters — already PostgreSQL text — pass through unchanged.
   */
  async #reelayQueryOptions(): Promise<QueryOptionsForReelay> {
    if (this.#queryOptions !== undefined) return this.#queryOptions;
    // PGlite registers its array types while starting up.
    await this.#db.waitReady;
    const oids = new Set<number>([
      ...Object.keys(this.#db.parsers).map(Number),
      ...Object.keys(this.#db.serializers).map(Number),
      ...postgresTypeDecoders.keys(),
    ]);
    const parsers: ParserOptions = {};
    const serializers: SerializerOptions = {};
    for (const oid of oids) {
      if (!Number.isInteger(oid)) continue;
      parsers[oid] = decoderFor(oid);
      serializers[oid] = String;
    }
    this.#queryOptions = { parsers, serializers };
    return this.#queryOptions;
  }
}
