import { describe, expect, it } from 'vitest';
import { MigrationError } from '../../shared/errors.js';
import { latestVersion } from '../../shared/migrations/index.js';
import { backends } from '../support/databases.js';
import { indexesMigration } from '../../shared/migrations/0003_indexes.js';
import { indexStateSql } from '../../shared/migrations/ledger.js';
import {
  eventsNamed,
  indexValidity,
  insertBasicVideo,
  interceptingDriverWithResults,
  ledger,
  testMigrator,
  uniqueTitlesMigrations,
  useFreshDatabase,
} from './support.js';

describe.each(backends)('concurrent index builds on %s', (backend) => {
  const db = useFreshDatabase(backend);

  it('a failed build leaves an INVALID index that the next up() detects, drops and rebuilds', async () => {
    await testMigrator(db().driver, { migrations: uniqueTitlesMigrations }).migrator.up({ to: 1 });
    await insertBasicVideo(db().driver, { title: 'same' });
    const duplicate = await insertBasicVideo(db().driver, { title: 'same' });

    const failing = testMigrator(db().driver, { migrations: uniqueTitlesMigrations });
    const failure = await failing.migrator.up().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MigrationError);
    expect((failure as MigrationError).message).toContain('2 (unique_titles)');
    expect(eventsNamed(failing.lines, 'migrate.index.invalid')).toHaveLength(1);
    expect(await indexValidity(db().driver, 'videos_title_unique_idx')).toBe(false);
    expect((await failing.migrator.status()).invalidIndexes).toEqual([{ name: 'videos_title_unique_idx', table: 'videos', building: false }]);
    expect((await ledger(db().driver)).map((row) => row.version)).toEqual([1]);

    await db().driver.execute('DELETE FROM videos WHERE id = :id', { id: duplicate });
    const repairing = testMigrator(db().driver, { migrations: uniqueTitlesMigrations });
    expect((await repairing.migrator.up()).applied.map((m) => m.version)).toEqual([2]);
    expect(eventsNamed(repairing.lines, 'migrate.index.rebuild')).toMatchObject([{ index: 'videos_title_unique_idx' }]);
    expect(await indexValidity(db().driver, 'videos_title_unique_idx')).toBe(true);
    expect((await repairing.migrator.status()).invalidIndexes).toEqual([]);
    const again = await insertBasicVideo(db().driver, { title: 'same' }).catch((error: unknown) => error);
    expect(again).toMatchObject({ sqlState: '23505' });
  });

  it('rebuilds an index of an applied migration that has become INVALID', async () => {
    await testMigrator(db().driver).migrator.up();
    await insertBasicVideo(db().driver);
    // What a failed REINDEX CONCURRENTLY or a crashed build leaves behind; superuser-only, as test set-up.
    await db().driver.execute(
      `UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'videos_owner_listing_idx'::regclass`,
    );
    const { migrator, lines } = testMigrator(db().driver);
    expect((await migrator.status()).invalidIndexes).toEqual([{ name: 'videos_owner_listing_idx', table: 'videos', building: false }]);
    expect((await migrator.plan()).repairs).toEqual(['videos_owner_listing_idx']);

    expect(await migrator.up()).toEqual({ applied: [], repaired: ['videos_owner_listing_idx'], currentVersion: latestVersion });
    expect(eventsNamed(lines, 'migrate.index.rebuild')).toHaveLength(1);
    expect(await indexValidity(db().driver, 'videos_owner_listing_idx')).toBe(true);
    expect((await migrator.status()).invalidIndexes).toEqual([]);
  });

  it('leaves INVALID indexes that no migration owns alone, but reports them', async () => {
    await testMigrator(db().driver).migrator.up();
    await db().driver.execute('CREATE INDEX someone_elses_idx ON videos (title)');
    await db().driver.execute(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'someone_elses_idx'::regclass`);
    const { migrator } = testMigrator(db().driver);
    expect(await migrator.up()).toEqual({ applied: [], repaired: [], currentVersion: latestVersion });
    expect((await migrator.status()).invalidIndexes.map((index) => index.name)).toEqual(['someone_elses_idx']);
  });
});

describe.each(backends)('an index build that finishes while the migrator looks, on %s', (backend) => {
  const db = useFreshDatabase(backend);

  it('does not drop an index that one look saw neither valid nor building: it looks again first', async () => {
    await testMigrator(db().driver).migrator.up({ to: 2 });
    // Another runner's builds, finished: the indexes are valid.
    for (const step of indexesMigration.steps) {
      if (step.kind === 'concurrent-index') await db().driver.execute(step.sql);
    }
    // The first look at one index lands in the moment a finishing build has left pg_stat_progress_create_index but
    // its final transaction (indisvalid = true) has not committed yet.
    let staleLooks = 1;
    const driver = interceptingDriverWithResults(db().driver, (sql, params) => {
      if (sql === indexStateSql && params?.name === 'videos_mux_asset_id_idx' && staleLooks > 0) {
        staleLooks -= 1;
        return [{ valid: false, building: false }];
      }
      return undefined;
    });
    const { migrator, lines } = testMigrator(driver);
    expect((await migrator.up({ to: 3 })).applied.map((m) => m.version)).toEqual([3]);
    expect(staleLooks).toBe(0);
    expect(eventsNamed(lines, 'migrate.index.rebuild')).toEqual([]);
    expect(await indexValidity(db().driver, 'videos_mux_asset_id_idx')).toBe(true);
  });
});
