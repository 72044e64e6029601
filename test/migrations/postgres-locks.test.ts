/**
 * Behaviour that needs a second session holding locks, so it runs on real PostgreSQL only (PGlite is one
 * connection: nothing else can hold a lock while the migrator runs).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MigrationError } from '../../shared/errors.js';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { eventsNamed, indexValidity, insertBasicVideo, ledger, testMigrator } from './support.js';

describe.skipIf(!backends.includes('postgres'))('migrations against other sessions’ locks on postgres', () => {
  let db: TestDatabase;
  let other: pg.Client;
  beforeEach(async () => {
    db = await openTestDatabase('postgres');
    if (db.connection.kind !== 'postgres') throw new Error('expected a postgres test database');
    other = new pg.Client({ connectionString: db.connection.url });
    await other.connect();
    await testMigrator(db.driver).migrator.up({ to: 1 });
  });
  afterEach(async () => {
    await other.end();
    await db.dispose();
  });

  it('an ALTER that cannot get its lock gives up within lock_timeout and retries, so uploads keep flowing, then succeeds', async () => {
    await other.query('BEGIN');
    await other.query('LOCK TABLE videos IN ACCESS SHARE MODE');
    const { migrator, lines } = testMigrator(db.driver, { lockTimeout: { ms: 200, attempts: 100, baseDelayMs: 50, maxDelayMs: 200 } });
    const migrating = migrator.up({ to: 2 });

    const latencies: number[] = [];
    let stop = false;
    const uploading = (async () => {
      while (!stop) {
        const started = performance.now();
        await insertBasicVideo(db.driver);
        latencies.push(performance.now() - started);
        await sleep(20);
      }
    })();
    // Hold the lock until the migrator has given up on it three times and ten uploads went through meanwhile. Without
    // the lock_timeout the ALTER would wait in the lock queue and every insert would queue behind it: this never holds.
    await vi.waitFor(
      () => {
        expect(eventsNamed(lines, 'migrate.step.lock_retry').length).toBeGreaterThanOrEqual(3);
        expect(latencies.length).toBeGreaterThanOrEqual(10);
      },
      { timeout: 30_000, interval: 20 },
    );
    const insertsWhileHeld = latencies.length;
    const retriesWhileHeld = eventsNamed(lines, 'migrate.step.lock_retry');
    await other.query('COMMIT');
    const result = await migrating;
    stop = true;
    await uploading;

    expect(result.applied.map((m) => m.version)).toEqual([2]);
    expect(retriesWhileHeld.length).toBeGreaterThanOrEqual(3);
    expect(retriesWhileHeld[0]).toMatchObject({ version: 2, sqlState: '55P03' });
    // Without the lock_timeout every insert queued behind the waiting ALTER would have waited the full 3 s.
    expect(insertsWhileHeld).toBeGreaterThanOrEqual(10);
    expect(Math.max(...latencies)).toBeLessThan(1500);
    const { rows } = await db.driver.execute<{ count: bigint }>('SELECT count(*) AS count FROM videos');
    expect(rows[0]?.count).toBe(BigInt(latencies.length));
  });

  it('gives up with a MigrationError after the allowed attempts, recording nothing', async () => {
    await other.query('BEGIN');
    await other.query('LOCK TABLE videos IN ACCESS SHARE MODE');
    const { migrator, lines } = testMigrator(db.driver, { lockTimeout: { ms: 100, attempts: 3, baseDelayMs: 10, maxDelayMs: 20 } });
    const failure = await migrator.up({ to: 2 }).catch((error: unknown) => error);
    await other.query('ROLLBACK');
    expect(failure).toBeInstanceOf(MigrationError);
    expect((failure as MigrationError).message).toMatch(/3 attempts/);
    expect(eventsNamed(lines, 'migrate.step.lock_retry')).toHaveLength(2);
    expect((await ledger(db.driver)).map((row) => row.version)).toEqual([1]);
    const { rows } = await db.driver.execute('SELECT owner FROM schema_migrations_lock');
    expect(rows, 'lease released after the failure').toEqual([]);
  });

  it('waits for a concurrent build already in progress instead of dropping it', async () => {
    await testMigrator(db.driver).migrator.up({ to: 2 });
    // A writer in an open transaction makes any CREATE INDEX CONCURRENTLY wait in its first phase.
    await other.query('BEGIN');
    await other.query(
      `INSERT INTO videos (owner_id, title, original_filename, content_type, size_bytes, s3_key)
       VALUES ('user-2', 'in flight', 'a.mp4', 'video/mp4', 1, 'uploads/in-flight.mp4')`,
    );
    const builder = new pg.Client({ connectionString: (db.connection as { url: string }).url });
    await builder.connect();
    try {
      const building = builder.query('CREATE INDEX CONCURRENTLY videos_mux_asset_id_idx ON videos (mux_asset_id) WHERE mux_asset_id IS NOT NULL');
      await vi.waitFor(async () => expect(await indexValidity(db.driver, 'videos_mux_asset_id_idx')).toBeDefined(), { timeout: 10_000, interval: 20 });

      const { migrator, lines } = testMigrator(db.driver);
      const migrating = migrator.up({ to: 3 });
      // The migrator found the build in progress and polls it (it would have dropped and rebuilt it otherwise).
      await vi.waitFor(() => expect(eventsNamed(lines, 'migrate.index.poll').length).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
      expect(eventsNamed(lines, 'migrate.index.rebuild')).toEqual([]);
      await other.query('COMMIT');
      await building;
      expect((await migrating).applied.map((m) => m.version)).toEqual([3]);
      expect(eventsNamed(lines, 'migrate.index.rebuild')).toEqual([]);
      expect(await indexValidity(db.driver, 'videos_mux_asset_id_idx')).toBe(true);
    } finally {
      await builder.end();
    }
  });
});
