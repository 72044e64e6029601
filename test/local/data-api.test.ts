/**
 * The local Data API endpoint, driven only through @aws-sdk/client-rds-data, answers the way the RDS Data API does
 * for Aurora PostgreSQL: records and metadata shapes, AWS's error types and message format, transactions and limits.
 */
import {
  BadRequestException,
  BatchExecuteStatementCommand,
  BeginTransactionCommand,
  CommitTransactionCommand,
  DatabaseErrorException,
  ExecuteStatementCommand,
  RDSDataServiceException,
  RollbackTransactionCommand,
  TransactionNotFoundException,
  type ExecuteStatementCommandInput,
  type ExecuteStatementCommandOutput,
} from '@aws-sdk/client-rds-data';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { startDataApi, type StartedDataApi } from '../support/data-api.js';
import { caught } from '../support/driver-contract.js';

for (const backend of backends) {
  describe(`local Data API on ${backend}`, () => {
    let database: TestDatabase;
    let api: StartedDataApi;

    const target = () => ({ resourceArn: api.resourceArn, secretArn: api.secretArn, database: api.database });
    const execute = (input: Omit<ExecuteStatementCommandInput, 'resourceArn' | 'secretArn'>): Promise<ExecuteStatementCommandOutput> =>
      api.client.send(new ExecuteStatementCommand({ ...target(), ...input }));
    const begin = async () => (await api.client.send(new BeginTransactionCommand(target()))).transactionId ?? '';
    const countRows = async () => {
      const { records } = await execute({ sql: 'SELECT count(*)::int AS n FROM clips' });
      return records?.[0]?.[0]?.longValue;
    };

    beforeAll(async () => {
      database = await openTestDatabase(backend);
      api = await startDataApi(database, { transactionIdleMs: 400 });
      await database.driver.execute(
        `CREATE TABLE clips (id uuid PRIMARY KEY, title text NOT NULL, views int8, score numeric(6,2), tags text[], made timestamptz)`,
      );
    });

    afterEach(async () => {
      api.server.faults.clear();
      await database.driver.execute('TRUNCATE clips');
    });

    afterAll(async () => {
      await api.close();
      await database.dispose();
    });

    describe('errors', () => {
      it('reports an insert into a missing column as DatabaseErrorException ending in SQLState: 42703', async () => {
        const error = await caught(() =>
          execute({
            sql: 'INSERT INTO clips (id, title, mux_asset_id) VALUES (:id, :title, :asset)',
            parameters: [
              { name: 'id', value: { stringValue: '0b6d2f1e-3c4a-4b5d-8e6f-7a8b9c0d1e2f' }, typeHint: 'UUID' },
              { name: 'title', value: { stringValue: 'demo' } },
              { name: 'asset', value: { stringValue: 'asset-1' } },
            ],
          }),
        );
        expect(error).toBeInstanceOf(DatabaseErrorException);
        const message = (error as Error).message;
        expect(message).toMatch(/SQLState: 42703$/);
        expect(message).toBe('ERROR: column "mux_asset_id" of relation "clips" does not exist; Position: 31; SQLState: 42703');
      });

      it('reports a missing table with its position and 42P01', async () => {
        const error = await caught(() => execute({ sql: 'SELECT * FROM no_such_table' }));
        expect(error).toBeInstanceOf(DatabaseErrorException);
        expect((error as Error).message).toBe('ERROR: relation "no_such_table" does not exist; Position: 15; SQLState: 42P01');
      });

      it("includes Postgres's hint between the message and the position", async () => {
        const error = await caught(() => execute({ sql: 'SELECT now() + true' }));
        expect(error).toBeInstanceOf(DatabaseErrorException);
        expect((error as Error).message).toMatch(
          /^ERROR: operator does not exist: timestamp with time zone \+ boolean; Hint: No operator matches the given name and argument types\. You might need to add explicit type casts\.; Position: 14; SQLState: 42883$/,
        );
      });

      it('binds a plain string as varchar, so a uuid column needs the UUID type hint as on AWS', async () => {
        const withoutHint = await caught(() =>
          execute({
            sql: 'INSERT INTO clips (id, title) VALUES (:id, :title)',
            parameters: [
              { name: 'id', value: { stringValue: '0b6d2f1e-3c4a-4b5d-8e6f-7a8b9c0d1e2f' } },
              { name: 'title', value: { stringValue: 'demo' } },
            ],
          }),
        );
        expect(withoutHint).toBeInstanceOf(DatabaseErrorException);
        expect((withoutHint as Error).message).toMatch(/is of type uuid but expression is of type character varying; Hint: .*SQLState: 42804$/);
        const withHint = await execute({
          sql: 'INSERT INTO clips (id, title) VALUES (:id, :title)',
          parameters: [
            { name: 'id', value: { stringValue: '0b6d2f1e-3c4a-4b5d-8e6f-7a8b9c0d1e2f' }, typeHint: 'UUID' },
            { name: 'title', value: { stringValue: 'demo' } },
          ],
        });
        expect(withHint.numberOfRecordsUpdated).toBe(1);
      });

      it('refuses several statements in one call with BadRequestException, running none of them', async () => {
        const error = await caught(() =>
          execute({ sql: `INSERT INTO clips (id, title) VALUES (gen_random_uuid(), 'a'); DELETE FROM clips` }),
        );
        expect(error).toBeInstanceOf(BadRequestException);
        expect(await countRows()).toBe(0);
      });

      it('refuses a statement whose named parameter has no value with BadRequestException', async () => {
        const error = await caught(() => execute({ sql: 'SELECT :missing::int AS x', parameters: [] }));
        expect(error).toBeInstanceOf(BadRequestException);
      });

      it('refuses array parameters with ValidationException', async () => {
        const error = await caught(() =>
          execute({ sql: 'SELECT :ids AS ids', parameters: [{ name: 'ids', value: { arrayValue: { longValues: [1, 2] } } }] }),
        );
        expect(error).toBeInstanceOf(RDSDataServiceException);
        expect((error as Error).name).toBe('ValidationException');
        expect((error as Error).message).toBe('Array parameters are not supported');
      });

      it('refuses a response over 1 MiB with BadRequestException, and allows one just under', async () => {
        const error = await caught(() => execute({ sql: `SELECT repeat('x', 600000) AS chunk FROM generate_series(1, 2)` }));
        expect(error).toBeInstanceOf(BadRequestException);
        expect((error as Error).message).toBe('Database returned more than the allowed response size limit');
        const underLimit = await execute({ sql: `SELECT repeat('x', 1000000) AS chunk` });
        expect(underLimit.records?.[0]?.[0]?.stringValue).toHaveLength(1_000_000);
      });
    });

    describe('results', () => {
      const selectEverything = `SELECT 1::int4 AS small, 9007199254740993::int8 AS big, 1.5::float8 AS ratio, 12.30::numeric(6,2) AS price,
        true AS flag, 'text'::text AS words, NULL::text AS nothing, '\\x00ff'::bytea AS bytes,
        ARRAY[1, NULL, 3]::int4[] AS ints, ARRAY['a', 'b c']::text[] AS texts,
        '2024-01-02 03:04:05.678+02'::timestamptz AS instant, '2024-02-29'::date AS day, '{"a":[1,2]}'::jsonb AS doc`;

      it('returns typed fields, arrays as arrayValue and timestamps as UTC text', async () => {
        const result = await execute({ sql: selectEverything });
        expect(result.numberOfRecordsUpdated).toBe(0);
        expect(result.columnMetadata).toBeUndefined();
        expect(result.records).toEqual([
          [
            { longValue: 1 },
            { longValue: 9007199254740992 }, // the SDK reads longValue with JSON.parse: past 2^53 it rounds
            { doubleValue: 1.5 },
            { stringValue: '12.30' },
            { booleanValue: true },
            { stringValue: 'text' },
            { isNull: true },
            { blobValue: new Uint8Array([0, 255]) },
            { arrayValue: { longValues: [1, null, 3] } },
            { arrayValue: { stringValues: ['a', 'b c'] } },
            { stringValue: '2024-01-02 01:04:05.678' },
            { stringValue: '2024-02-29' },
            { stringValue: '{"a": [1, 2]}' },
          ],
        ]);
      });

      it('returns int8 exactly as text with longReturnType STRING', async () => {
        const result = await execute({
          sql: 'SELECT 9007199254740993::int8 AS big, ARRAY[9007199254740993]::int8[] AS bigs',
          resultSetOptions: { longReturnType: 'STRING' },
        });
        expect(result.records).toEqual([[{ stringValue: '9007199254740993' }, { arrayValue: { stringValues: ['9007199254740993'] } }]]);
      });

      it('returns numeric as a number with decimalReturnType DOUBLE_OR_LONG', async () => {
        const result = await execute({ sql: 'SELECT 12.50::numeric AS price, 7::numeric AS whole', resultSetOptions: { decimalReturnType: 'DOUBLE_OR_LONG' } });
        expect(result.records).toEqual([[{ doubleValue: 12.5 }, { longValue: 7 }]]);
      });

      it('describes the columns when includeResultMetadata is set', async () => {
        const result = await execute({ sql: selectEverything, includeResultMetadata: true });
        const byName = Object.fromEntries((result.columnMetadata ?? []).map((column) => [column.name, column]));
        expect(Object.keys(byName)).toEqual(['small', 'big', 'ratio', 'price', 'flag', 'words', 'nothing', 'bytes', 'ints', 'texts', 'instant', 'day', 'doc']);
        expect(byName.small).toMatchObject({ label: 'small', typeName: 'int4', type: 4 });
        expect(byName.big).toMatchObject({ typeName: 'int8', type: -5 });
        expect(byName.instant).toMatchObject({ typeName: 'timestamptz', type: 93 });
        expect(byName.ints).toMatchObject({ typeName: '_int4', type: 2003, arrayBaseColumnType: 4 });
        expect(byName.doc).toMatchObject({ typeName: 'jsonb', type: 1111 });
      });

      it('returns one JSON string for formatRecordsAs JSON, int8 digits intact and no column metadata', async () => {
        const result = await execute({
          sql: `SELECT 9007199254740993::int8 AS big, 'x' AS words, NULL::int AS nothing, ARRAY[1,2] AS ints, true AS flag`,
          formatRecordsAs: 'JSON',
          includeResultMetadata: true,
        });
        expect(result.records).toBeUndefined();
        expect(result.columnMetadata).toBeUndefined();
        expect(result.formattedRecords).toBe('[{"big":9007199254740993,"words":"x","nothing":null,"ints":[1,2],"flag":true}]');
      });

      it('counts rows changed, with RETURNING rows as records', async () => {
        const inserted = await execute({
          sql: `INSERT INTO clips (id, title, views) VALUES (gen_random_uuid(), 'a', 1), (gen_random_uuid(), 'b', 2) RETURNING title`,
        });
        expect(inserted.numberOfRecordsUpdated).toBe(2);
        expect(inserted.records).toEqual([[{ stringValue: 'a' }], [{ stringValue: 'b' }]]);
        const updated = await execute({ sql: 'UPDATE clips SET views = views + 1' });
        expect(updated.numberOfRecordsUpdated).toBe(2);
        expect(updated.records).toBeUndefined();
      });

      it('runs a batch once per parameter set', async () => {
        const result = await api.client.send(
          new BatchExecuteStatementCommand({
            ...target(),
            sql: 'INSERT INTO clips (id, title) VALUES (gen_random_uuid(), :title)',
            parameterSets: [[{ name: 'title', value: { stringValue: 'one' } }], [{ name: 'title', value: { stringValue: 'two' } }]],
          }),
        );
        expect(result.updateResults).toHaveLength(2);
        expect(await countRows()).toBe(2);
      });
    });

    describe('transactions', () => {
      const insertIn = (transactionId: string, title: string) =>
        execute({ sql: 'INSERT INTO clips (id, title) VALUES (gen_random_uuid(), :title)', parameters: [{ name: 'title', value: { stringValue: title } }], transactionId });

      it('commits and rolls back, then forgets the transaction id', async () => {
        const kept = await begin();
        await insertIn(kept, 'kept');
        const committed = await api.client.send(new CommitTransactionCommand({ ...target(), transactionId: kept }));
        expect(committed.transactionStatus).toBe('Transaction Committed');
        const dropped = await begin();
        await insertIn(dropped, 'dropped');
        const rolledBack = await api.client.send(new RollbackTransactionCommand({ ...target(), transactionId: dropped }));
        expect(rolledBack.transactionStatus).toBe('Rollback Complete');
        expect(await countRows()).toBe(1);
        expect(await caught(() => insertIn(kept, 'late'))).toBeInstanceOf(TransactionNotFoundException);
      });

      it('answers an unknown transaction id with TransactionNotFoundException', async () => {
        const error = await caught(() => api.client.send(new CommitTransactionCommand({ ...target(), transactionId: 'no-such-transaction' })));
        expect(error).toBeInstanceOf(TransactionNotFoundException);
        expect((error as Error).message).toBe('Transaction no-such-transaction is not found');
      });

      it('ends a transaction whose statement failed, as the Data API does', async () => {
        const transactionId = await begin();
        await insertIn(transactionId, 'before');
        expect(await caught(() => execute({ sql: 'SELECT * FROM no_such_table', transactionId }))).toBeInstanceOf(DatabaseErrorException);
        expect(await caught(() => insertIn(transactionId, 'after'))).toBeInstanceOf(TransactionNotFoundException);
        expect(await countRows()).toBe(0);
      });

      it('refuses a second call while the transaction is running one', async () => {
        const transactionId = await begin();
        // The first call holds the transaction for a second once it has arrived; the second goes out as soon as the
        // endpoint has counted the first (it marks the transaction busy in the same step).
        api.server.faults.setLatency(1000);
        const arrived = api.server.stats.calls.ExecuteStatement;
        const slow = insertIn(transactionId, 'first');
        await vi.waitFor(() => expect(api.server.stats.calls.ExecuteStatement).toBe(arrived + 1), { interval: 5, timeout: 10_000 });
        const error = await caught(() => insertIn(transactionId, 'overlapping'));
        expect(error).toBeInstanceOf(DatabaseErrorException);
        expect((error as Error).message).toBe('Transaction is still running a query');
        await slow;
        api.server.faults.setLatency(0);
        await api.client.send(new RollbackTransactionCommand({ ...target(), transactionId }));
      });

      it('expires a transaction left idle, rolling it back', async () => {
        const transactionId = await begin();
        await insertIn(transactionId, 'abandoned');
        await new Promise((resolve) => setTimeout(resolve, 700));
        expect(await caught(() => insertIn(transactionId, 'late'))).toBeInstanceOf(TransactionNotFoundException);
        expect(await countRows()).toBe(0);
      });
    });

    describe('stats and faults', () => {
      it('counts calls per operation until reset', async () => {
        api.server.stats.reset();
        await execute({ sql: 'SELECT 1' });
        const transactionId = await begin();
        await api.client.send(new RollbackTransactionCommand({ ...target(), transactionId }));
        expect(api.server.stats.calls).toEqual({
          ExecuteStatement: 1,
          BatchExecuteStatement: 0,
          BeginTransaction: 1,
          CommitTransaction: 0,
          RollbackTransaction: 1,
        });
        expect(api.server.stats.total()).toBe(3);
        expect(api.server.stats.statements).toEqual(['SELECT 1']);
        api.server.stats.reset();
        expect(api.server.stats.total()).toBe(0);
      });

      it('fails the next calls with the queued fault, then recovers', async () => {
        api.server.faults.failNext('resuming', 2);
        expect((await caught(() => execute({ sql: 'SELECT 1' }))) as Error).toMatchObject({ name: 'DatabaseResumingException' });
        expect((await caught(() => execute({ sql: 'SELECT 1' }))) as Error).toMatchObject({ name: 'DatabaseResumingException' });
        expect((await execute({ sql: 'SELECT 1 AS one' })).records).toEqual([[{ longValue: 1 }]]);
        api.server.faults.failNext('throttling');
        expect((await caught(() => execute({ sql: 'SELECT 1' }))) as Error).toMatchObject({ name: 'ThrottlingException' });
        api.server.faults.failNext('unavailable');
        expect((await caught(() => execute({ sql: 'SELECT 1' }))) as Error).toMatchObject({ name: 'ServiceUnavailableError' });
      });

      it('runs the statement and then times out for statement-timeout', async () => {
        api.server.faults.failNext('statement-timeout');
        const error = await caught(() => insertOutside('timed out'));
        expect(error).toMatchObject({ name: 'StatementTimeoutException' });
        expect(await countRows()).toBe(1);
      });

      it('adds latency to every call', async () => {
        api.server.faults.setLatency(150);
        const started = Date.now();
        await execute({ sql: 'SELECT 1' });
        expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      });

      const insertOutside = (title: string) =>
        execute({ sql: 'INSERT INTO clips (id, title) VALUES (gen_random_uuid(), :title)', parameters: [{ name: 'title', value: { stringValue: title } }] });
    });
  });
}
