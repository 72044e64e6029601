/**
 * The one contract every Driver honours (driver.ts): the type table, named parameters, counts, transactions,
 * refusals and typed errors. Each driver's test file calls {@link describeDriverContract} with a way to open it on a
 * fresh database; PgDriver, PgliteDriver and DataApiDriver all run this same suite.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sqlValue, type Driver, type Executor } from '../../shared/db/driver.js';
import { DatabaseError, SqlState } from '../../shared/errors.js';

export interface OpenedDriver {
  readonly driver: Driver;
  dispose(): Promise<void>;
}

export interface DriverContractOptions {
  /**
   * Whether the driver can report PostgreSQL's DETAIL field (e.g. which key a unique violation hit). Default true;
   * a transport that drops it says so here, and the suite then checks everything else about the error.
   */
  readonly reportsErrorDetail?: boolean;
}

const typesTable = `CREATE TABLE contract_types (
  id serial PRIMARY KEY,
  small smallint, whole integer, single real, double double precision,
  big bigint, exact numeric, flag boolean,
  words text, short varchar(20), fixed char(4), ident uuid,
  at timestamp, at_tz timestamptz, day date,
  doc json, docb jsonb, bytes bytea
)`;

const itemsTable = `CREATE TABLE contract_items (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  qty integer NOT NULL DEFAULT 0
)`;

const insertTypes = `INSERT INTO contract_types
  (small, whole, single, double, big, exact, flag, words, short, fixed, ident, at, at_tz, day, doc, docb, bytes)
VALUES
  (:small, :whole, :single, :double, :big, :exact, :flag, :words, :short, :fixed, :ident, :at, :atTz, :day, :doc, :docb, :bytes)
RETURNING id`;

const typeColumns = ['small', 'whole', 'single', 'double', 'big', 'exact', 'flag', 'words', 'short', 'fixed', 'ident', 'at', 'atTz', 'day', 'doc', 'docb', 'bytes'];

const selectTypes = `SELECT small, whole, single, double, big, exact, flag, words, short, fixed, ident,
  at, at_tz AS "atTz", day, doc, docb, bytes FROM contract_types WHERE id = :id`;

/** Runs `work` and returns what it threw (failing the test if it did not throw). */
export async function caught(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** Runs `work` and returns the DatabaseError it threw (failing the test if it threw anything else or nothing). */
export async function caughtDatabaseError(work: () => Promise<unknown>): Promise<DatabaseError> {
  const error = await caught(work);
  expect(error).toBeInstanceOf(DatabaseError);
  return error as DatabaseError;
}

async function countItems(executor: Executor, name?: string): Promise<number> {
  const { rows } = await executor.execute<{ n: number }>(
    name === undefined ? 'SELECT count(*)::int AS n FROM contract_items' : 'SELECT count(*)::int AS n FROM contract_items WHERE name = :name',
    name === undefined ? {} : { name },
  );
  return rows[0]?.n ?? -1;
}

class Rollback extends Error {}

export function describeDriverContract(label: string, open: () => Promise<OpenedDriver>, options: DriverContractOptions = {}): void {
  const reportsErrorDetail = options.reportsErrorDetail ?? true;

  describe(`Driver contract: ${label}`, () => {
    let opened: OpenedDriver | undefined;
    let driver: Driver;

    beforeAll(async () => {
      opened = await open();
      driver = opened.driver;
      await driver.execute(typesTable);
      await driver.execute(itemsTable);
    });

    afterAll(async () => {
      await opened?.dispose();
    });

    beforeEach(async () => {
      await driver.execute('TRUNCATE contract_types, contract_items RESTART IDENTITY');
    });

    describe('values cross the interface with the types in driver.ts', () => {
      const stored = {
        small: -32768,
        whole: 2147483647,
        single: 1.5,
        double: 0.1 + 0.2,
        big: 2n ** 63n - 1n,
        exact: sqlValue.decimal('12345678901234567890.123'),
        flag: true,
        words: `it's "quoted", back\\slash, comma, {brace}, ünïcødé 🎬`,
        short: 'varchar',
        fixed: 'ab',
        ident: sqlValue.uuid('8f2a1e3c-5b6d-4e7f-8a9b-0c1d2e3f4a5b'),
        at: new Date('2024-03-04T05:06:07.089Z'),
        atTz: new Date('1999-12-31T23:59:59.999Z'),
        day: sqlValue.date('2024-02-29'),
        doc: sqlValue.json({ nested: { list: [1, 'two', null, true] }, n: 1.25 }),
        docb: sqlValue.json(['a', { b: 2 }, []]),
        bytes: new Uint8Array([0, 1, 127, 128, 255]),
      };

      it('round-trips every row of the table with exact JavaScript types', async () => {
        const inserted = await driver.execute<{ id: number }>(insertTypes, stored);
        const { rows } = await driver.execute(selectTypes, { id: inserted.rows[0]?.id ?? -1 });
        expect(rows).toHaveLength(1);
        const row = rows[0] ?? {};
        expect(row).toEqual({
          small: -32768,
          whole: 2147483647,
          single: 1.5,
          double: 0.1 + 0.2,
          big: 9223372036854775807n,
          exact: '12345678901234567890.123',
          flag: true,
          words: stored.words,
          short: 'varchar',
          fixed: 'ab  ',
          ident: '8f2a1e3c-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
          at: new Date('2024-03-04T05:06:07.089Z'),
          atTz: new Date('1999-12-31T23:59:59.999Z'),
          day: '2024-02-29',
          doc: { nested: { list: [1, 'two', null, true] }, n: 1.25 },
          docb: ['a', { b: 2 }, []],
          bytes: new Uint8Array([0, 1, 127, 128, 255]),
        });
        expect(typeof row.big).toBe('bigint');
        expect(row.at).toBeInstanceOf(Date);
        expect(row.atTz).toBeInstanceOf(Date);
        expect(row.bytes).toBeInstanceOf(Uint8Array);
      });

      it('keeps int8 beyond 2^53 and negative exact, as parameter and as result', async () => {
        const { rows } = await driver.execute<{ up: bigint; down: bigint; text: string }>(
          'SELECT :up::int8 AS up, :down::int8 AS down, (:up::int8)::text AS text',
          { up: 2n ** 53n + 1n, down: -(2n ** 62n) - 3n },
        );
        expect(rows[0]).toEqual({ up: 9007199254740993n, down: -4611686018427387907n, text: '9007199254740993' });
      });

      it('reads NULL as null, from null and from undefined parameters alike', async () => {
        const allNull = Object.fromEntries(typeColumns.map((column, index) => [column, index % 2 === 0 ? null : undefined]));
        const inserted = await driver.execute<{ id: number }>(insertTypes, allNull);
        const { rows } = await driver.execute(selectTypes, { id: inserted.rows[0]?.id ?? -1 });
        expect(rows[0]).toEqual(Object.fromEntries(typeColumns.map((column) => [column, null])));
      });

      it('stores a Date in a timestamp column as its UTC wall-clock time', async () => {
        const inserted = await driver.execute<{ id: number }>(
          'INSERT INTO contract_types (at, at_tz) VALUES (:at, :atTz) RETURNING id',
          { at: new Date('2024-07-01T23:30:00.250Z'), atTz: new Date('2024-07-01T23:30:00.250Z') },
        );
        const { rows } = await driver.execute<{ wall: string; instant: string }>(
          `SELECT at::text AS wall, to_char(at_tz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS instant
           FROM contract_types WHERE id = :id`,
          { id: inserted.rows[0]?.id ?? -1 },
        );
        expect(rows[0]).toEqual({ wall: '2024-07-01 23:30:00.25', instant: '2024-07-01 23:30:00.250' });
      });

      it('reads timestamp without time zone as UTC whatever the process time zone', async () => {
        const original = process.env.TZ;
        process.env.TZ = 'America/Los_Angeles';
        try {
          const { rows } = await driver.execute<{ at: Date }>(`SELECT '2024-01-02 03:04:05.678'::timestamp AS at`);
          expect(rows[0]?.at.toISOString()).toBe('2024-01-02T03:04:05.678Z');
        } finally {
          if (original === undefined) delete process.env.TZ;
          else process.env.TZ = original;
        }
      });

      it('reads timestamptz as the same instant whatever the session time zone', async () => {
        const at = await driver.transaction(async (tx) => {
          await tx.execute(`SET LOCAL TIME ZONE 'Asia/Kolkata'`);
          const { rows } = await tx.execute<{ at: Date }>(`SELECT '2024-01-02 03:04:05.5+00'::timestamptz AS at`);
          return rows[0]?.at;
        });
        expect(at?.toISOString()).toBe('2024-01-02T03:04:05.500Z');
      });

      it('reads arrays of the table types as arrays, NULL elements included', async () => {
        const { rows } = await driver.execute(`SELECT
          ARRAY[1, NULL, 3]::int4[] AS ints,
          ARRAY[9007199254740993]::int8[] AS bigs,
          ARRAY['1.10', '-2']::numeric[] AS decimals,
          ARRAY[true, false] AS flags,
          ARRAY['plain', 'with space', 'with,comma', 'with"quote', 'back\\slash', 'NULL', '']::text[] AS texts,
          ARRAY['2024-01-02 03:04:05.006']::timestamp[] AS stamps,
          ARRAY['2024-02-29']::date[] AS days,
          ARRAY['{"a":1}'::jsonb, '[2]'::jsonb] AS docs,
          ARRAY['\\x00ff'::bytea] AS blobs,
          ARRAY[ARRAY[1, 2], ARRAY[3, 4]] AS grid,
          '{}'::text[] AS empty`);
        expect(rows[0]).toEqual({
          ints: [1, null, 3],
          bigs: [9007199254740993n],
          decimals: ['1.10', '-2'],
          flags: [true, false],
          texts: ['plain', 'with space', 'with,comma', 'with"quote', 'back\\slash', 'NULL', ''],
          stamps: [new Date('2024-01-02T03:04:05.006Z')],
          days: ['2024-02-29'],
          docs: [{ a: 1 }, [2]],
          blobs: [new Uint8Array([0, 255])],
          grid: [
            [1, 2],
            [3, 4],
          ],
          empty: [],
        });
      });

      it('takes a list as sqlValue.json and refuses a bare array parameter', async () => {
        const { rows } = await driver.execute<{ total: number }>(
          'SELECT sum(value::int)::int AS total FROM jsonb_array_elements_text(:ids::jsonb) AS value',
          { ids: sqlValue.json([1, 2, 39]) },
        );
        expect(rows[0]?.total).toBe(42);
        const error = await caught(() =>
          driver.execute('SELECT :ids AS ids', { ids: [1, 2] as unknown as string }),
        );
        expect(error).toBeInstanceOf(TypeError);
        expect((error as Error).message).toMatch(/sqlValue\.json/);
      });
    });

    describe('statements', () => {
      it('binds a named parameter used more than once to the same value', async () => {
        const { rows } = await driver.execute<{ twice: number; same: boolean; label: string }>(
          'SELECT :n::int + :n::int AS twice, :n::int = :n::int AS same, :label::text AS label',
          { n: 21, label: ':n stays text' },
        );
        expect(rows[0]).toEqual({ twice: 42, same: true, label: ':n stays text' });
      });

      it('counts rows inserted, updated, deleted and selected', async () => {
        const inserted = await driver.execute(`INSERT INTO contract_items (name, qty) VALUES ('a', 1), ('b', 2), ('c', 3)`);
        expect(inserted).toEqual({ rows: [], rowCount: 3 });
        const updated = await driver.execute('UPDATE contract_items SET qty = qty + 10 WHERE qty >= :min', { min: 2 });
        expect(updated.rowCount).toBe(2);
        const selected = await driver.execute('SELECT name FROM contract_items ORDER BY name');
        expect(selected).toEqual({ rows: [{ name: 'a' }, { name: 'b' }, { name: 'c' }], rowCount: 3 });
        const deleted = await driver.execute(`DELETE FROM contract_items WHERE name = :name`, { name: 'a' });
        expect(deleted.rowCount).toBe(1);
        const none = await driver.execute(`UPDATE contract_items SET qty = 0 WHERE name = 'missing'`);
        expect(none.rowCount).toBe(0);
      });

      it('returns RETURNING rows with the count', async () => {
        const { rows, rowCount } = await driver.execute<{ id: number; name: string; qty: number }>(
          'INSERT INTO contract_items (name, qty) VALUES (:name, :qty) RETURNING id, name, qty',
          { name: 'returned', qty: 7 },
        );
        expect(rowCount).toBe(1);
        expect(rows).toEqual([{ id: 1, name: 'returned', qty: 7 }]);
      });

      it('runs a batch once per parameter set and sums the counts', async () => {
        const result = await driver.batch('INSERT INTO contract_items (name, qty) VALUES (:name, :qty)', [
          { name: 'x', qty: 1 },
          { name: 'y', qty: 2 },
          { name: 'z', qty: 3 },
        ]);
        expect(result.rowCount).toBe(3);
        const { rows } = await driver.execute('SELECT name, qty FROM contract_items ORDER BY name');
        expect(rows).toEqual([
          { name: 'x', qty: 1 },
          { name: 'y', qty: 2 },
          { name: 'z', qty: 3 },
        ]);
      });

      it('accepts one statement with a trailing semicolon and refuses several with SQLSTATE 42601', async () => {
        await expect(driver.execute('SELECT 1 AS one;')).resolves.toEqual({ rows: [{ one: 1 }], rowCount: 1 });
        const error = await caughtDatabaseError(() =>
          driver.execute(`INSERT INTO contract_items (name) VALUES ('sneaky'); DELETE FROM contract_items`),
        );
        expect(error.sqlState).toBe(SqlState.syntaxError);
        expect(await countItems(driver)).toBe(0);
      });
    });

    describe('errors carry the SQLSTATE', () => {
      it('reports an unknown column as 42703 with its position', async () => {
        const error = await caughtDatabaseError(() => driver.execute('SELECT id, no_such_column FROM contract_items'));
        expect(error.sqlState).toBe(SqlState.undefinedColumn);
        expect(error.position).toBe('SELECT id, '.length + 1);
      });

      it('reports a missing table as 42P01', async () => {
        const error = await caughtDatabaseError(() => driver.execute('SELECT * FROM no_such_table'));
        expect(error.sqlState).toBe(SqlState.undefinedTable);
      });

      it('reports a unique violation as 23505', async () => {
        await driver.execute(`INSERT INTO contract_items (name) VALUES ('dup')`);
        const error = await caughtDatabaseError(() => driver.execute(`INSERT INTO contract_items (name) VALUES ('dup')`));
        expect(error.sqlState).toBe(SqlState.uniqueViolation);
        if (reportsErrorDetail) expect(error.detail).toBe('Key (name)=(dup) already exists.');
      });
    });

    describe('transactions', () => {
      it('commits when the work resolves and returns its value', async () => {
        const value = await driver.transaction(async (tx) => {
          await tx.execute(`INSERT INTO contract_items (name) VALUES ('kept')`);
          return 'done';
        });
        expect(value).toBe('done');
        expect(await countItems(driver, 'kept')).toBe(1);
      });

      it('rolls back when the work throws, and rethrows that same error', async () => {
        const failure = new Rollback('changed my mind');
        const error = await caught(() =>
          driver.transaction(async (tx) => {
            await tx.execute(`INSERT INTO contract_items (name) VALUES ('discarded')`);
            throw failure;
          }),
        );
        expect(error).toBe(failure);
        expect(await countItems(driver, 'discarded')).toBe(0);
      });

      it('rolls back when a statement fails, and surfaces its DatabaseError', async () => {
        await driver.execute(`INSERT INTO contract_items (name) VALUES ('taken')`);
        const error = await caughtDatabaseError(() =>
          driver.transaction(async (tx) => {
            await tx.execute(`INSERT INTO contract_items (name) VALUES ('first')`);
            await tx.execute(`INSERT INTO contract_items (name) VALUES ('taken')`);
          }),
        );
        expect(error.sqlState).toBe(SqlState.uniqueViolation);
        expect(await countItems(driver, 'first')).toBe(0);
      });

      it('lets statements in the transaction see its own writes; no one else sees them before commit', async () => {
        // Another request reads once the row is written. It either runs at once (its own connection) or waits for
        // the transaction to end (a single-connection driver); either way it must never observe the uncommitted row.
        let markWritten!: () => void;
        const written = new Promise<void>((resolve) => (markWritten = resolve));
        const outsideCount = written.then(() => countItems(driver, 'pending'));
        const error = await caught(() =>
          driver.transaction(async (tx) => {
            await tx.execute(`INSERT INTO contract_items (name) VALUES ('pending')`);
            expect(await countItems(tx, 'pending')).toBe(1);
            markWritten();
            await Promise.race([outsideCount, new Promise((resolve) => setTimeout(resolve, 200))]);
            throw new Rollback('undo');
          }),
        );
        expect(error).toBeInstanceOf(Rollback);
        expect(await outsideCount).toBe(0);
      });

      it('serialises concurrent calls on one transaction', async () => {
        await driver.transaction(async (tx) => {
          await Promise.all(
            Array.from({ length: 10 }, (_, index) =>
              tx.execute('INSERT INTO contract_items (name, qty) VALUES (:name, :qty)', { name: `n${index}`, qty: index }),
            ),
          );
        });
        const { rows } = await driver.execute<{ total: number; n: number }>(
          'SELECT count(*)::int AS n, sum(qty)::int AS total FROM contract_items',
        );
        expect(rows[0]).toEqual({ n: 10, total: 45 });
      });

      it('runs a batch inside a transaction atomically with the rest of it', async () => {
        const error = await caught(() =>
          driver.transaction(async (tx) => {
            const { rowCount } = await tx.batch('INSERT INTO contract_items (name) VALUES (:name)', [{ name: 'p' }, { name: 'q' }]);
            expect(rowCount).toBe(2);
            expect(await countItems(tx)).toBe(2);
            throw new Rollback('undo the batch');
          }),
        );
        expect(error).toBeInstanceOf(Rollback);
        expect(await countItems(driver)).toBe(0);
      });
    });
  });
}
