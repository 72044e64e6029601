/**
 * The database behind the local Data API: PGlite (one embedded connection) or a PostgreSQL URL (a pg pool).
 *
 * Both are driven at the protocol level so the endpoint sees what the real service sees: every value as Postgres
 * text, every column's type OID, parameter types sent with the Parse message, and the raw error fields (code,
 * message, hint, position).
 */

import type { PGlite, Transaction as PGliteTransaction } from '@electric-sql/pglite';
import pg from 'pg';

export type BackendConfig = { readonly kind: 'pglite'; readonly db: PGlite } | { readonly kind: 'postgres'; readonly url: string };

export interface RawField {
  readonly name: string;
  readonly dataTypeID: number;
}

export interface RawResult {
  readonly fields: readonly RawField[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | null>>;
  /** The command tag's verb: SELECT, INSERT, UPDATE … */
  readonly command: string;
  /** Rows the statement inserted, updated, deleted or returned (the command tag's count). */
  readonly rowCount: number;
}

export interface Queryable {
  /** Runs one statement; `values` are Postgres text (or NULL), `types` their OIDs (0 lets Postgres infer). */
  query(text: string, values: ReadonlyArray<string | null>, types: readonly number[]): Promise<RawResult>;
}

/** A connection held for one Data API transaction until it commits or rolls back. */
export interface PinnedSession extends Queryable {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export interface TypeInfo {
  readonly name: string;
  /** Element type OID for an array type, else 0. */
  readonly elementOid: number;
}

export interface Backend extends Queryable {
  begin(): Promise<PinnedSession>;
  typeInfo(oid: number): Promise<TypeInfo>;
  close(): Promise<void>;
}

const rawText = (value: string): string => value;
const typeCatalogSql = "SELECT oid::int8::text AS oid, typname, CASE WHEN typcategory = 'A' THEN typelem::int8 ELSE 0 END::text AS elem FROM pg_type";

/** Caches pg_type; reloads it when an OID created after start-up (an enum, a domain) shows up. */
class TypeCatalog {
  private types = new Map<number, TypeInfo>();
  constructor(private readonly load: () => Promise<ReadonlyArray<ReadonlyArray<string | null>>>) {}

  async get(oid: number): Promise<TypeInfo> {
    if (!this.types.has(oid)) {
      const rows = await this.load();
      this.types = new Map(rows.map(([id, name, elem]) => [Number(id), { name: name ?? 'unknown', elementOid: Number(elem) }]));
    }
    return this.types.get(oid) ?? { name: 'unknown', elementOid: 0 };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PGlite

class PgliteBackend implements Backend {
  private readonly catalog: TypeCatalog;
  private rawParsers: Record<number, (value: string) => string> | undefined;

  constructor(private readonly db: PGlite) {
    this.catalog = new TypeCatalog(async () => (await this.run(this.db, typeCatalogSql, [], [])).rows);
  }

  query(text: string, values: ReadonlyArray<string | null>, types: readonly number[]): Promise<RawResult> {
    return this.run(this.db, text, values, types);
  }

  typeInfo(oid: number): Promise<TypeInfo> {
    return this.catalog.get(oid);
  }

  /**
   * PGlite has one connection: the transaction holds it (other calls queue behind it) until the Data API client
   * commits or rolls back.
   */
  begin(): Promise<PinnedSession> {
    return new Promise((resolveSession, rejectBegin) => {
      let settle: (action: 'commit' | 'rollback') => void = () => {};
      const decided = new Promise<'commit' | 'rollback'>((resolve) => (settle = resolve));
      let started = false;
      const finished = this.db.transaction(async (tx: PGliteTransaction) => {
        started = true;
        resolveSession({
          query: (text, values, types) => this.run(tx, text, values, types),
          commit: async () => {
            settle('commit');
            await finished;
          },
          rollback: async () => {
            settle('rollback');
            await finished;
          },
        });
        if ((await decided) === 'rollback') await tx.rollback();
      });
      finished.catch((error: unknown) => {
        if (!started) rejectBegin(error);
      });
    });
  }

  async close(): Promise<void> {
    // The PGlite instance belongs to the caller.
  }

  private async parsers(): Promise<Record<number, (value: string) => string>> {
    if (!this.rawParsers) {
      await this.db.waitReady;
      // After start-up PGlite knows its array types too; every parser it has is replaced by one returning the text.
      this.rawParsers = Object.fromEntries(Object.keys(this.db.parsers).map((oid) => [Number(oid), rawText]));
    }
    return this.rawParsers;
  }

  private async run(
    target: Pick<PGlite, 'query'> | PGliteTransaction,
    text: string,
    values: ReadonlyArray<string | null>,
    types: readonly number[],
  ): Promise<RawResult> {
    const parsers = await this.parsers();
    const result = await target.query<Array<string | null>>(text, [...values], {
      rowMode: 'array',
      paramTypes: [...types],
      serializers: Object.fromEntries(types.map((oid) => [oid, rawText])),
      parsers,
    });
    return {
      fields: result.fields,
      rows: result.rows,
      command: (result as { command?: string }).command ?? '',
      rowCount: (result as { rowCount?: number }).rowCount ?? result.affectedRows ?? 0,
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL

type PgTarget = Pick<pg.Pool, 'query'> | pg.PoolClient;

async function runPg(target: PgTarget, text: string, values: ReadonlyArray<string | null>, types: readonly number[]): Promise<RawResult> {
  // pg sends `types` as the Parse message's parameter OIDs and asks it for a parser per result column: an array
  // carrying getTypeParser does both, and every column stays Postgres text.
  const typesWithRawParsers = Object.assign([...types], { getTypeParser: () => rawText });
  const result = await target.query({
    text,
    values: [...values],
    rowMode: 'array',
    queryMode: 'extended',
    types: typesWithRawParsers as unknown as pg.CustomTypesConfig,
  } as pg.QueryArrayConfig);
  return {
    fields: result.fields.map((field) => ({ name: field.name, dataTypeID: field.dataTypeID })),
    rows: result.rows as Array<Array<string | null>>,
    command: result.command,
    rowCount: result.rowCount ?? 0,
  };
}

class PostgresBackend implements Backend {
  private readonly pool: pg.Pool;
  private readonly catalog: TypeCatalog;

  constructor(url: string) {
    // Aurora sessions run in UTC; the Data API renders timestamps in it.
    this.pool = new pg.Pool({ connectionString: url, max: 10, options: '-c TimeZone=UTC' });
    this.pool.on('error', () => {
      // An idle client lost its connection; the pool replaces it on the next checkout.
    });
    this.catalog = new TypeCatalog(async () => (await runPg(this.pool, typeCatalogSql, [], [])).rows);
  }

  query(text: string, values: ReadonlyArray<string | null>, types: readonly number[]): Promise<RawResult> {
    return runPg(this.pool, text, values, types);
  }

  typeInfo(oid: number): Promise<TypeInfo> {
    return this.catalog.get(oid);
  }

  async begin(): Promise<PinnedSession> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      throw error;
    }
    const end = async (command: 'COMMIT' | 'ROLLBACK') => {
      try {
        await client.query(command);
        client.release();
      } catch (error) {
        client.release(error instanceof Error ? error : true);
        throw error;
      }
    };
    return {
      query: (text, values, types) => runPg(client, text, values, types),
      commit: () => end('COMMIT'),
      rollback: () => end('ROLLBACK'),
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export function openBackend(config: BackendConfig): Backend {
  return config.kind === 'pglite' ? new PgliteBackend(config.db) : new PostgresBackend(config.url);
}
