/**
 * PgliteDriver (embedded, always) and PgDriver (when DATABASE_URL points at a PostgreSQL) against the one driver
 * contract; the Data API driver runs the same suite in its own file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../shared/db/driver.js';
import { TransactionEndedError } from '../../shared/db/postgres-statement.js';
import { DatabaseError } from '../../shared/errors.js';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { describeDriverContract } from '../support/driver-contract.js';

const driverOn = { pglite: 'PgliteDriver', postgres: 'PgDriver' } as const;

for (const backend of backends) {
  describeDriverContract(`${driverOn[backend]} on ${backend}`, () => openTestDatabase(backend));

  describe(`${driverOn[backend]} on ${backend}: PostgreSQL-protocol specifics`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await openTestDatabase(backend);
    });
    afterAll(() => database.dispose());

    it('refuses to commit a transaction whose statement failed even if the work carried on (25P02)', async () => {
      const { driver } = database;
      await driver.execute('CREATE TABLE notes (body text UNIQUE)');
      await driver.execute(`INSERT INTO notes VALUES ('taken')`);
      const outcome = driver.transaction(async (tx) => {
        await tx.execute(`INSERT INTO notes VALUES ('before')`);
        await tx.execute(`INSERT INTO notes VALUES ('taken')`).catch(() => 'ignored on purpose');
        return 'work finished';
      });
      await expect(outcome).rejects.toBeInstanceOf(DatabaseError);
      await expect(outcome).rejects.toMatchObject({ sqlState: '25P02' });
      const { rows } = await driver.execute(`SELECT body FROM notes ORDER BY body`);
      expect(rows).toEqual([{ body: 'taken' }]);
    });

    it('refuses a statement whose named parameter has no value, before sending it', async () => {
      await expect(database.driver.execute('SELECT :present::int AS a, :absent::int AS b', { present: 1 })).rejects.toThrow(
        /:absent/,
      );
    });

    it('refuses to use a transaction executor after its transaction ended', async () => {
      let leaked: Executor | undefined;
      await database.driver.transaction(async (tx) => {
        leaked = tx;
      });
      await expect(leaked?.execute('SELECT 1')).rejects.toBeInstanceOf(TransactionEndedError);
    });
  });
}
