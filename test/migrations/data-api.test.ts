/** The engine through the production driver: DataApiDriver → the local Data API endpoint → the test database. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { latestVersion, migrations } from '../../shared/migrations/index.js';
import { migrationChecksum } from '../../shared/migrations/migration.js';
import { backends, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { startDataApi, type StartedDataApi } from '../support/data-api.js';
import { eventsNamed, indexValidity, insertBasicVideo, interceptingDriver, ledger, testMigrator, uniqueTitlesMigrations } from './support.js';

const allVersions = migrations.map((migration) => migration.version);

describe.each(backends)('migrations through the Data API on %s', (backend) => {
  let db: TestDatabase;
  let api: StartedDataApi;
  beforeEach(async () => {
    db = await openTestDatabase(backend);
    api = await startDataApi(db);
  });
  afterEach(async () => {
    await api.close();
    await db.dispose();
  });

  it('applies every migration, DDL transactions and concurrent index builds alike', async () => {
    const { migrator, lines } = testMigrator(api.driver);
    expect((await migrator.up()).applied.map((m) => m.version)).toEqual(allVersions);
    expect(await ledger(db.driver)).toEqual(migrations.map((m) => ({ version: m.version, name: m.name, checksum: migrationChecksum(m) })));
    expect(eventsNamed(lines, 'migrate.step.ok')).toHaveLength(migrations.reduce((sum, m) => sum + m.steps.length, 0));
    expect(await migrator.status()).toMatchObject({ currentVersion: latestVersion, pending: [], drift: [], invalidIndexes: [] });
    expect(await indexValidity(db.driver, 'videos_owner_listing_idx')).toBe(true);
  });

  it('two runners racing over the Data API apply each migration once', async () => {
    const a = testMigrator(api.driver, { lease: { owner: 'lambda-a', ttlMs: 10_000 } });
    const b = testMigrator(api.driver, { lease: { owner: 'lambda-b', ttlMs: 10_000 } });
    const [resultA, resultB] = await Promise.all([a.migrator.up(), b.migrator.up()]);
    expect([...resultA.applied, ...resultB.applied].map((m) => m.version).sort()).toEqual(allVersions);
    expect((await ledger(db.driver)).map((row) => row.version)).toEqual(allVersions);
    expect(eventsNamed([...a.lines, ...b.lines], 'migrate.migration.ok')).toHaveLength(allVersions.length);
  });

  it('repairs a failed concurrent build on the next run', async () => {
    await testMigrator(api.driver, { migrations: uniqueTitlesMigrations }).migrator.up({ to: 1 });
    await insertBasicVideo(db.driver, { title: 'twice' });
    const duplicate = await insertBasicVideo(db.driver, { title: 'twice' });
    await expect(testMigrator(api.driver, { migrations: uniqueTitlesMigrations }).migrator.up()).rejects.toMatchObject({ code: 'migration_failed' });
    expect(await indexValidity(db.driver, 'videos_title_unique_idx')).toBe(false);

    await db.driver.execute('DELETE FROM videos WHERE id = :id', { id: duplicate });
    const { migrator, lines } = testMigrator(api.driver, { migrations: uniqueTitlesMigrations });
    expect((await migrator.up()).applied.map((m) => m.version)).toEqual([2]);
    expect(eventsNamed(lines, 'migrate.index.rebuild')).toHaveLength(1);
    expect(await indexValidity(db.driver, 'videos_title_unique_idx')).toBe(true);
  });

  it('keeps polling an index build whose call timed out (continueAfterTimeout) until it is valid', async () => {
    await testMigrator(api.driver).migrator.up({ to: 2 });
    // Every CREATE INDEX CONCURRENTLY runs, but its caller gets StatementTimeoutException, as after 45 s on AWS.
    const timingOut = interceptingDriver(api.driver, (sql) => {
      if (sql.startsWith('CREATE INDEX CONCURRENTLY')) api.server.faults.failNext('statement-timeout', 1, { operations: ['ExecuteStatement'] });
    });
    const { migrator, lines } = testMigrator(timingOut);
    expect((await migrator.up({ to: 3 })).applied.map((m) => m.version)).toEqual([3]);
    expect(eventsNamed(lines, 'migrate.index.call_timeout')).toHaveLength(5);
    expect(await migrator.status()).toMatchObject({ currentVersion: 3, invalidIndexes: [] });
    expect(await indexValidity(db.driver, 'videos_listing_idx')).toBe(true);
  });
});
