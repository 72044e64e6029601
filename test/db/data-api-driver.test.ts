/**
 * DataApiDriver specifics beyond the shared contract, against the local Data API endpoint: typed errors, exact int8,
 * what is retried (and what must never be), how transactions are serialised, what a call costs.
 */
import {
  BeginTransactionCommand,
  ExecuteStatementCommand,
  RollbackTransactionCommand,
  type ColumnMetadata,
  type Field,
} from '@aws-sdk/client-rds-data';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataApiRequestError } from '../../shared/db/data-api-errors.js';
import { decodeDataApiRecords, encodeDataApiParameters } from '../../shared/db/data-api-types.js';
import { sqlValue } from '../../shared/db/driver.js';
import { DatabaseError, DatabaseUnavailableError } from '../../shared/errors.js';
import { memoryLogger } from '../../shared/log.js';
import { emfMetrics } from '../../shared/metrics.js';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { startDataApi, type StartedDataApi } from '../support/data-api.js';
import { caught } from '../support/driver-contract.js';
import { virtualClock } from '../support/virtual-clock.js';
import { withInvocation } from '../../shared/retry.js';
import { DataApiDriver } from '../../shared/db/data-api-driver.js';

describe('DataApiDriver parameter encoding', () => {
  it('sends each JavaScript value as the Field and type hint the Data API expects', () => {
    const parameters = encodeDataApiParameters({
      text: 'hello',
      whole: 42,
      fraction: 0.5,
      flag: false,
      nothing: null,
      missing: undefined,
      safeBig: 2n ** 40n,
      hugeBig: 2n ** 53n + 1n,
      at: new Date('2024-05-06T07:08:09.010Z'),
      bytes: new Uint8Array([1, 2]),
      id: sqlValue.uuid('0b6d2f1e-3c4a-4b5d-8e6f-7a8b9c0d1e2f'),
      price: sqlValue.decimal('0.95'),
      day: sqlValue.date('2024-02-29'),
      stamp: sqlValue.timestamp(new Date('2024-01-01T00:00:00Z')),
      doc: sqlValue.json({ a: [1, null] }),
    });
    expect(parameters).toEqual([
      { name: 'text', value: { stringValue: 'hello' } },
      { name: 'whole', value: { longValue: 42 } },
      { name: 'fraction', value: { doubleValue: 0.5 } },
      { name: 'flag', value: { booleanValue: false } },
      { name: 'nothing', value: { isNull: true } },
      { name: 'missing', value: { isNull: true } },
      { name: 'safeBig', value: { longValue: 1099511627776 } },
      { name: 'hugeBig', value: { stringValue: '9007199254740993' }, typeHint: 'DECIMAL' },
      { name: 'at', value: { stringValue: '2024-05-06 07:08:09.010' }, typeHint: 'TIMESTAMP' },
      { name: 'bytes', value: { blobValue: new Uint8Array([1, 2]) } },
      { name: 'id', value: { stringValue: '0b6d2f1e-3c4a-4b5d-8e6f-7a8b9c0d1e2f' }, typeHint: 'UUID' },
      { name: 'price', value: { stringValue: '0.95' }, typeHint: 'DECIMAL' },
      { name: 'day', value: { stringValue: '2024-02-29' }, typeHint: 'DATE' },
      { name: 'stamp', value: { stringValue: '2024-01-01 00:00:00.000' }, typeHint: 'TIMESTAMP' },
      { name: 'doc', value: { stringValue: '{"a":[1,null]}' }, typeHint: 'JSON' },
    ]);
  });

  it('refuses arrays and plain objects, pointing at sqlValue.json', () => {
    expect(() => encodeDataApiParameters({ ids: [1, 2] as unknown as string })).toThrow(TypeError);
    expect(() => encodeDataApiParameters({ doc: { a: 1 } as unknown as string })).toThrow(/sqlValue\.json/);
  });
});

describe('DataApiDriver record decoding', () => {
  const column = (name: string, typeName: string): ColumnMetadata => ({ name, label: name, typeName });

  it('types values by column type name, whichever Field carries them', () => {
    const records: Field[][] = [
      [
        { stringValue: '9007199254740993' },
        { longValue: 12 },
        { stringValue: '7' },
        { longValue: 3 },
        { stringValue: '2024-01-02 03:04:05.678901' },
        { stringValue: '2024-01-02 03:04:05+05:30' },
        { stringValue: '{"k":[true]}' },
        { arrayValue: { stringValues: ['2024-01-02 00:00:00', null] } },
        { arrayValue: { arrayValues: [{ longValues: [1, 2] }, { longValues: [3, 4] }] } },
        { isNull: true },
      ],
    ];
    const columns = [
      column('big', 'int8'),
      column('bigFromLong', 'int8'),
      column('serialId', 'serial'),
      column('count', 'INT4'),
      column('at', 'timestamp'),
      column('atTz', 'timestamptz'),
      column('doc', 'jsonb'),
      column('stamps', '_timestamp'),
      column('grid', '_int4'),
      column('nothing', 'text'),
    ];
    expect(decodeDataApiRecords(records, columns)).toEqual([
      {
        big: 9007199254740993n,
        bigFromLong: 12n,
        serialId: 7,
        count: 3,
        at: new Date('2024-01-02T03:04:05.678Z'),
        atTz: new Date('2024-01-01T21:34:05.000Z'),
        doc: { k: [true] },
        stamps: [new Date('2024-01-02T00:00:00Z'), null],
        grid: [
          [1, 2],
          [3, 4],
        ],
        nothing: null,
      },
    ]);
  });
});

for (const backend of backends) {
  describe(`DataApiDriver via the local Data API on ${backend}`, () => {
    let database: TestDatabase;
    let api: StartedDataApi;
    // Waits are their full-jitter ceiling (random 1) and take no real time.
    const clock = virtualClock();
    const slept = clock.slept;
    const logger = memoryLogger();

    const countClips = async () => (await database.driver.execute<{ n: number }>('SELECT count(*)::int AS n FROM clips')).rows[0]?.n;

    beforeAll(async () => {
      database = await openTestDatabase(backend);
      api = await startDataApi(database, {
        logger,
        requestTimeoutMs: 1_000,
        retry: { baseDelayMs: 1_000, maxDelayMs: 10_000, maxElapsedMs: 60_000, now: clock.now, sleep: clock.sleep, random: clock.random },
      });
      await database.driver.execute('CREATE TABLE clips (id serial PRIMARY KEY, title text NOT NULL, views int8)');
    });

    afterEach(async () => {
      api.server.faults.clear();
      slept.length = 0;
      logger.lines.length = 0;
      await database.driver.execute('TRUNCATE clips RESTART IDENTITY');
    });

    afterAll(async () => {
      await api.close();
      await database.dispose();
    });

    describe('errors', () => {
      it('surfaces an insert into a missing column as DatabaseError 42703, as the raw call shows SQLState: 42703', async () => {
        const sql = 'INSERT INTO clips (title, mux_asset_id) VALUES (:title, :asset)';
        const params = { title: 'demo', asset: 'asset-1' };
        const raw = await caught(() =>
          api.client.send(
            new ExecuteStatementCommand({
              resourceArn: api.resourceArn,
              secretArn: api.secretArn,
              database: api.database,
              sql,
              parameters: encodeDataApiParameters(params),
            }),
          ),
        );
        expect((raw as Error).name).toBe('DatabaseErrorException');
        expect((raw as Error).message).toMatch(/SQLState: 42703$/);
        const error = await caught(() => api.driver.execute(sql, params));
        expect(error).toBeInstanceOf(DatabaseError);
        expect(error).toMatchObject({ sqlState: '42703', message: 'column "mux_asset_id" of relation "clips" does not exist', position: 27 });
      });

      it('surfaces a missing table as DatabaseError 42P01', async () => {
        await expect(api.driver.execute('SELECT * FROM no_such_table')).rejects.toMatchObject({ sqlState: '42P01' });
      });

      it('surfaces a response over 1 MiB as DataApiRequestError, not retried', async () => {
        api.server.stats.reset();
        const error = await caught(() => api.driver.execute(`SELECT repeat('x', 600000) AS chunk FROM generate_series(1, 2)`));
        expect(error).toBeInstanceOf(DataApiRequestError);
        expect(error).toMatchObject({ awsErrorName: 'BadRequestException' });
        expect(api.server.stats.calls.ExecuteStatement).toBe(1);
      });
    });

    it('reads an int8 column past 2^53 exactly', async () => {
      await api.driver.execute('INSERT INTO clips (title, views) VALUES (:title, :views)', { title: 'viral', views: 9007199254740993n });
      const { rows } = await api.driver.execute<{ views: bigint; id: number }>('SELECT id, views FROM clips');
      expect(rows).toEqual([{ id: 1, views: 9007199254740993n }]);
    });

    it('costs exactly one Data API call per statement', async () => {
      api.server.stats.reset();
      await api.driver.execute('INSERT INTO clips (title) VALUES (:title)', { title: 'one' });
      expect(api.server.stats.total()).toBe(1);
    });

    describe('retries', () => {
      it('retries a resuming cluster with backoff, logging each retry, then succeeds', async () => {
        api.server.faults.failNext('resuming', 3);
        api.server.stats.reset();
        await api.driver.execute('INSERT INTO clips (title) VALUES (:title)', { title: 'after resume' });
        expect(await countClips()).toBe(1);
        expect(api.server.stats.calls.ExecuteStatement).toBe(4);
        expect(slept).toEqual([1_000, 2_000, 4_000]);
        const retries = logger.lines.filter((line) => line.event === 'dataapi.retry');
        expect(retries).toHaveLength(3);
        expect(retries[0]).toMatchObject({ level: 'warn', operation: 'ExecuteStatement', attempt: 1, reason: 'resuming', error: 'DatabaseResumingException' });
      });

      it('gives up with DatabaseUnavailableError(resuming) when the cluster stays asleep past the budget', async () => {
        api.server.faults.failNext('resuming', 100);
        api.server.stats.reset();
        const error = await caught(() => api.driver.execute('SELECT 1 AS one'));
        expect(error).toBeInstanceOf(DatabaseUnavailableError);
        expect(error).toMatchObject({ reason: 'resuming' });
        // 1 + 2 + 4 + 8 + 10 × 4 = 55 s waited; the next wait is cut to the 60 s deadline, where the last call fails.
        expect(slept).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000, 10_000, 5_000]);
        expect(api.server.stats.calls.ExecuteStatement).toBe(10);
        expect(logger.lines.some((line) => line.event === 'dataapi.retries_exhausted')).toBe(true);
      });

      it('ends its retries by the Lambda deadline (remaining time minus the margin), not the fixed budget', async () => {
        const lambdaClock = virtualClock();
        const driver = new DataApiDriver({
          client: api.client,
          resourceArn: api.resourceArn,
          secretArn: api.secretArn,
          database: api.database,
          retry: { baseDelayMs: 1_000, maxDelayMs: 10_000, maxElapsedMs: 60_000, now: lambdaClock.now, sleep: lambdaClock.sleep, random: lambdaClock.random },
        });
        api.server.faults.failNext('resuming', 100);
        api.server.stats.reset();
        // 12 s left in the invocation, 2 s kept back: 10 s of retries where the fixed budget would allow 60 s.
        const error = await caught(() => withInvocation({ getRemainingTimeInMillis: () => 12_000 }, () => driver.execute('SELECT 1 AS one')));
        expect(error).toMatchObject({ reason: 'resuming' });
        expect(lambdaClock.slept).toEqual([1_000, 2_000, 4_000, 3_000]);
        expect(api.server.stats.calls.ExecuteStatement).toBe(5);
        await driver.close();
      });

      it('counts retries, the resume it waited out, and give-ups as EMF metrics, by reason', async () => {
        const metricsLog = memoryLogger('error');
        const metricsClock = virtualClock();
        const driver = new DataApiDriver({
          client: api.client,
          resourceArn: api.resourceArn,
          secretArn: api.secretArn,
          database: api.database,
          metrics: emfMetrics({ service: 'uploads', logger: metricsLog }),
          retry: { baseDelayMs: 1_000, maxDelayMs: 10_000, maxElapsedMs: 20_000, now: metricsClock.now, sleep: metricsClock.sleep, random: metricsClock.random },
        });
        const values = (name: string) => metricsLog.lines.filter((line) => name in line).map((line) => ({ value: line[name], reason: line.Reason, service: line.Service }));
        api.server.faults.failNext('resuming', 2);
        await driver.execute('SELECT 1 AS one');
        expect(values('DataApiRetries')).toEqual([
          { value: 1, reason: 'resuming', service: 'uploads' },
          { value: 1, reason: 'resuming', service: 'uploads' },
        ]);
        expect(values('DataApiResumes')).toEqual([{ value: 1, reason: undefined, service: 'uploads' }]);

        metricsLog.lines.length = 0;
        api.server.faults.failNext('throttling', 1);
        await driver.execute('SELECT 1 AS one');
        expect(values('DataApiRetries')).toEqual([{ value: 1, reason: 'throttled', service: 'uploads' }]);
        // Throttling is not a resume.
        expect(values('DataApiResumes')).toEqual([]);

        metricsLog.lines.length = 0;
        api.server.faults.failNext('resuming', 100);
        await caught(() => driver.execute('SELECT 1 AS one'));
        expect(values('DataApiRetriesExhausted')).toEqual([{ value: 1, reason: 'resuming', service: 'uploads' }]);
        expect(values('DataApiResumes')).toEqual([]);
        await driver.close();
      });

      it('retries throttling even for a write, since the statement never ran', async () => {
        api.server.faults.failNext('throttling', 2);
        await api.driver.execute('INSERT INTO clips (title) VALUES (:title)', { title: 'throttled' });
        expect(await countClips()).toBe(1);
      });

      it.each([
        ['a statement timeout', 'statement-timeout'],
        ['a response that never came back', 'hang'],
      ] as const)('does not repeat a non-idempotent INSERT after %s: exactly one row', async (_label, kind) => {
        api.server.faults.failNext(kind, 5, { hangMs: 3_000 });
        api.server.stats.reset();
        const error = await caught(() => api.driver.execute('INSERT INTO clips (title) VALUES (:title)', { title: 'maybe' }));
        expect(error).toBeInstanceOf(DatabaseUnavailableError);
        expect(error).toMatchObject({ reason: 'timeout' });
        expect(api.server.stats.calls.ExecuteStatement).toBe(1);
        expect(await countClips()).toBe(1);
      });

      it('repeats a SELECT after a timeout, and a write its caller marks idempotent', async () => {
        api.server.faults.failNext('hang', 1, { hangMs: 3_000 });
        const { rows } = await api.driver.execute<{ one: number }>('SELECT 1 AS one');
        expect(rows).toEqual([{ one: 1 }]);
        api.server.faults.failNext('statement-timeout', 1);
        await api.driver.execute(
          `INSERT INTO clips (id, title) VALUES (1, 'upsert') ON CONFLICT (id) DO NOTHING`,
          {},
          { idempotent: true },
        );
        expect(await countClips()).toBe(1);
      });

      it('does not repeat a SELECT its caller marks not idempotent', async () => {
        api.server.faults.failNext('statement-timeout', 1);
        await expect(api.driver.execute('SELECT 1 AS one', {}, { idempotent: false })).rejects.toMatchObject({ reason: 'timeout' });
      });
    });

    describe('transactions', () => {
      it('serialises concurrent calls on one transaction, which the Data API would otherwise refuse', async () => {
        api.server.faults.setLatency(30);
        // Without the driver, overlapping calls on one transaction are refused.
        const { transactionId } = await api.client.send(new BeginTransactionCommand({ resourceArn: api.resourceArn, secretArn: api.secretArn }));
        const overlapping = await Promise.allSettled(
          [1, 2].map(() =>
            api.client.send(new ExecuteStatementCommand({ resourceArn: api.resourceArn, secretArn: api.secretArn, sql: 'SELECT 1', transactionId })),
          ),
        );
        expect(overlapping.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
        await api.client.send(new RollbackTransactionCommand({ resourceArn: api.resourceArn, secretArn: api.secretArn, transactionId }));
        api.server.faults.setLatency(30);

        await api.driver.transaction(async (tx) => {
          await Promise.all(Array.from({ length: 8 }, (_, index) => tx.execute('INSERT INTO clips (title) VALUES (:title)', { title: `t${index}` })));
        });
        expect(await countClips()).toBe(8);
      });

      it('retries a never-ran failure inside a transaction, but not a timeout', async () => {
        const error = await caught(() =>
          api.driver.transaction(async (tx) => {
            api.server.faults.failNext('resuming', 1, { operations: ['ExecuteStatement'] });
            const { rowCount } = await tx.execute('INSERT INTO clips (title) VALUES (:title)', { title: 'retried' });
            expect(rowCount).toBe(1);
            api.server.faults.failNext('statement-timeout', 1, { operations: ['ExecuteStatement'] });
            await tx.execute('SELECT 1 AS one');
          }),
        );
        expect(error).toBeInstanceOf(DatabaseUnavailableError);
        expect(error).toMatchObject({ reason: 'timeout' });
        expect(await countClips()).toBe(0);
      });

      it('refuses calls on a transaction executor after the transaction ended', async () => {
        let leaked: Parameters<Parameters<typeof api.driver.transaction>[0]>[0] | undefined;
        await api.driver.transaction(async (tx) => {
          leaked = tx;
        });
        await expect(leaked?.execute('SELECT 1')).rejects.toBeInstanceOf(DataApiRequestError);
      });
    });
  });
}
