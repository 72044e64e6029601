/**
 * What is specific to the pg driver: a pool of connections (a transaction holds one and always gives it back),
 * connection failures as DatabaseUnavailableError, and type decoding that leaves pg's process-wide registry alone.
 * The suites needing a server run when DATABASE_URL is set; the unreachable-server case runs everywhere.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDriver } from '../../shared/db/pg-driver.js';
import { DatabaseUnavailableError } from '../../shared/errors.js';
import { openTestDatabase, type TestDatabase } from '../support/databases.js';

class Rollback extends Error {}

// Port 1 on loopback: nothing listens there, so connecting is refused at once.
const unreachableUrl = 'postgres://postgres@127.0.0.1:1/reelay';

describe('PgDriver without a reachable server', () => {
  it('reports a refused connection as DatabaseUnavailableError (unavailable), for statements and transactions', async () => {
    const driver = PgDriver.fromUrl(unreachableUrl, { connectionTimeoutMillis: 2_000 });
    try {
      const statement = driver.execute('SELECT 1');
      await expect(statement).rejects.toBeInstanceOf(DatabaseUnavailableError);
      await expect(statement).rejects.toMatchObject({ reason: 'unavailable' });
      let workRan = false;
      const transaction = driver.transaction(async () => {
        workRan = true;
      });
      await expect(transaction).rejects.toBeInstanceOf(DatabaseUnavailableError);
      expect(workRan).toBe(false);
    } finally {
      await driver.close();
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)('PgDriver on PostgreSQL', () => {
  let database: TestDatabase;
  let url: string;

  beforeAll(async () => {
    database = await openTestDatabase('postgres');
    if (database.connection.kind !== 'postgres') throw new Error('expected a PostgreSQL test database');
    url = database.connection.url;
    await database.driver.execute('CREATE TABLE events (name text PRIMARY KEY)');
  });

  afterAll(() => database.dispose());

  async function namesSeenByAnotherConnection(): Promise<string[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>('SELECT name FROM events ORDER BY name');
      return rows.map((row) => row.name);
    } finally {
      await client.end();
    }
  }

  /** A driver on a pool of its own (ended afterwards), for tests that watch the pool. */
  async function withOwnPool(max: number, test: (pool: pg.Pool, driver: PgDriver) => Promise<void>): Promise<void> {
    const pool = new pg.Pool({ connectionString: url, max });
    try {
      await test(pool, new PgDriver(pool));
    } finally {
      await pool.end();
    }
  }

  it('gives the connection back after a rollback, out of the transaction', async () => {
    await withOwnPool(1, async (pool, driver) => {
      await expect(
        driver.transaction(async (tx) => {
          await tx.execute(`INSERT INTO events VALUES ('rolled back')`);
          throw new Rollback('undo');
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }).toEqual({ total: 1, idle: 1, waiting: 0 });

      // The pool's only connection is reused: if it were still inside the transaction this write would be invisible
      // to others and vanish.
      await driver.execute(`INSERT INTO events VALUES ('after rollback')`);
      expect(await namesSeenByAnotherConnection()).toEqual(['after rollback']);
      await driver.execute('TRUNCATE events');
    });
  });

  it('runs statements from outside a transaction on another connection, without its uncommitted writes', async () => {
    const driver = database.driver;
    const seenDuringTransaction = await driver.transaction(async (tx) => {
      await tx.execute(`INSERT INTO events VALUES ('uncommitted')`);
      // Awaited while the transaction is open: only a driver with more than one connection can answer.
      return (await driver.execute<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]?.n;
    });
    expect(seenDuringTransaction).toBe(0);
    expect(await namesSeenByAnotherConnection()).toEqual(['uncommitted']);
    await driver.execute('TRUNCATE events');
  });

  it('reports a connection killed mid-transaction as DatabaseUnavailableError, and the pool recovers', async () => {
    await withOwnPool(2, async (_pool, driver) => {
      const outcome = driver.transaction(async (tx) => {
        const { rows } = await tx.execute<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await driver.execute('SELECT pg_terminate_backend(:pid)', { pid: rows[0]?.pid ?? -1 });
        await tx.execute(`INSERT INTO events VALUES ('lost')`);
      });
      await expect(outcome).rejects.toBeInstanceOf(DatabaseUnavailableError);
      expect((await driver.execute('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
      expect(await namesSeenByAnotherConnection()).toEqual([]);
    });
  });

  it("decodes per query, leaving pg's global type parsers as they were", async () => {
    await withOwnPool(1, async (pool, driver) => {
      expect((await driver.execute(`SELECT 5::int8 AS big`)).rows).toEqual([{ big: 5n }]);
      // Plain pg on the same pool still gets pg's default: int8 as a string.
      const { rows } = await pool.query<{ big: unknown }>('SELECT 5::int8 AS big');
      expect(rows).toEqual([{ big: '5' }]);
    });
  });

  it('leaves a pool it was given open on close(), and ends the one fromUrl created', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const borrowing = new PgDriver(pool);
    await borrowing.close();
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await pool.end();

    const owning = PgDriver.fromUrl(url, { max: 1 });
    expect((await owning.execute('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await owning.close();
    await expect(owning.execute('SELECT 1')).rejects.toBeInstanceOf(DatabaseUnavailableError);
  });
});
