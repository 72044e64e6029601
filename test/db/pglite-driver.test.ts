/**
 * What is specific to the embedded driver: PGlite is a single connection, so a transaction keeps everyone else out
 * until it ends; the driver owns only the instances it opened; and its values do not depend on how the PGlite
 * instance it was handed was configured.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PgliteDriver, PgliteStatementWouldDeadlockError } from '../../shared/db/pglite-driver.js';
import { templateDump } from '../support/databases.js';

class Rollback extends Error {}


describe('PgliteDriver', () => {
  let db: PGlite;
  let driver: PgliteDriver;

  beforeAll(async () => {
    db = new PGlite({ loadDataDir: await templateDump() });
    driver = new PgliteDriver(db);
    await driver.execute('CREATE TABLE events (name text PRIMARY KEY)');
  });

  afterAll(async () => {
    await driver.close();
    await db.close();
  });

  beforeEach(async () => {
    await driver.execute('TRUNCATE events');
  });

  /**
   * Resolves once `sql` has been handed to the PGlite instance itself: from then on it waits on PGlite's mutex (or
   * has run), so a test need not guess how long the driver takes to get there.
   */
  function reachesPglite(sql: string): Promise<void> {
    return new Promise((resolve) => {
      const query = db.query.bind(db);
      db.query = ((text: string, ...rest: Parameters<PGlite['query']> extends [string, ...infer R] ? R : never) => {
        if (text === sql) {
          delete (db as { query?: unknown }).query;
          resolve();
        }
        return query(text, ...rest);
      }) as PGlite['query'];
    });
  }

  describe('while a transaction is open', () => {
    it('holds statements from outside until it ends, and never runs them inside it', async () => {
      let markStarted!: () => void;
      const started = new Promise<void>((resolve) => (markStarted = resolve));
      const outsideWaiting = reachesPglite(`INSERT INTO events VALUES ('outside')`);
      let outsideSettled = false;
      // Another request, started once the transaction has written: its insert must neither land in the
      // transaction (and be rolled back with it) nor run before the transaction ends.
      const outsideInsert = started
        .then(() => driver.execute(`INSERT INTO events VALUES ('outside')`))
        .finally(() => {
          outsideSettled = true;
        });

      const failure = driver.transaction(async (tx) => {
        await tx.execute(`INSERT INTO events VALUES ('inside')`);
        markStarted();
        await outsideWaiting;
        const { rows } = await tx.execute<{ name: string }>('SELECT name FROM events ORDER BY name');
        expect(rows).toEqual([{ name: 'inside' }]);
        expect(outsideSettled).toBe(false);
        throw new Rollback('undo inside');
      });

      await expect(failure).rejects.toBeInstanceOf(Rollback);
      await expect(outsideInsert).resolves.toEqual({ rows: [], rowCount: 1 });
      const { rows } = await driver.execute('SELECT name FROM events ORDER BY name');
      expect(rows).toEqual([{ name: 'outside' }]);
    });

    it('lets a waiting reader see what the transaction committed', async () => {
      let markWritten!: () => void;
      const written = new Promise<void>((resolve) => (markWritten = resolve));
      const readWaiting = reachesPglite('SELECT count(*)::int AS n FROM events');
      const outsideRead = written.then(() => driver.execute<{ n: number }>('SELECT count(*)::int AS n FROM events'));

      await driver.transaction(async (tx) => {
        await tx.execute(`INSERT INTO events VALUES ('committed')`);
        markWritten();
        await readWaiting;
      });

      expect((await outsideRead).rows).toEqual([{ n: 1 }]);
    });

    it('refuses a statement sent on the driver from inside the work instead of waiting for itself forever', async () => {
      const attempt = driver.transaction(async () => {
        await driver.execute(`INSERT INTO events VALUES ('wrong executor')`);
      });
      await expect(attempt).rejects.toBeInstanceOf(PgliteStatementWouldDeadlockError);

      const nested = driver.transaction(() => driver.transaction(async () => 'never'));
      await expect(nested).rejects.toBeInstanceOf(PgliteStatementWouldDeadlockError);

      expect((await driver.execute('SELECT name FROM events')).rows).toEqual([]);
    });
  });

  it('decodes with its own table even when the PGlite instance has custom parsers', async () => {
    const customised = new PGlite({ loadDataDir: await templateDump(), parsers: { 20: () => 'custom int8', 1114: () => 'custom timestamp' } });
    const onCustomised = new PgliteDriver(customised);
    try {
      const { rows } = await onCustomised.execute(`SELECT 5::int8 AS big, '2024-01-02 03:04:05'::timestamp AS at`);
      expect(rows).toEqual([{ big: 5n, at: new Date('2024-01-02T03:04:05Z') }]);
    } finally {
      await onCustomised.close();
      await customised.close();
    }
  });

  it('leaves an instance it was given open on close()', async () => {
    const shared = new PGlite({ loadDataDir: await templateDump() });
    const borrowing = new PgliteDriver(shared);
    await borrowing.close();
    expect(shared.closed).toBe(false);
    expect((await shared.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await shared.close();
  });

  it('open(dataDir) keeps data on disk across close and reopen', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'reelay-pglite-'));
    try {
      const first = await PgliteDriver.open(dataDir);
      await first.execute('CREATE TABLE kept (value text)');
      await first.execute('INSERT INTO kept VALUES (:value)', { value: 'survives a restart' });
      await first.close();

      const second = await PgliteDriver.open(dataDir);
      try {
        expect((await second.execute('SELECT value FROM kept')).rows).toEqual([{ value: 'survives a restart' }]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
