import { describe, expect, it } from 'vitest';
import { MigrationError } from '../../shared/errors.js';
import { latestVersion, migrations } from '../../shared/migrations/index.js';
import { migrationChecksum, transactionStep, type Migration } from '../../shared/migrations/migration.js';
import { backends } from '../support/databases.js';
import { eventsNamed, useFreshDatabase, indexValidity, ledger, testMigrator } from './support.js';

const allVersions = migrations.map((migration) => migration.version);

describe('migration checksums', () => {
  it('ignore re-indentation but see any change to the SQL', () => {
    const original: Migration = { version: 7, name: 'example', steps: [transactionStep('CREATE TABLE a (id int)')] };
    const reindented: Migration = { ...original, steps: [transactionStep('  CREATE TABLE a (\n    id int\n  );')] };
    const edited: Migration = { ...original, steps: [transactionStep('CREATE TABLE a (id bigint)')] };
    expect(migrationChecksum(reindented)).toBe(migrationChecksum(original));
    expect(migrationChecksum(edited)).not.toBe(migrationChecksum(original));
    expect(migrationChecksum(original)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe.each(backends)('migrations on %s', (backend) => {
  const db = useFreshDatabase(backend);

  it('applies every migration to a fresh database and records each with its checksum', async () => {
    const { migrator, lines } = testMigrator(db().driver);
    const result = await migrator.up();

    expect(result.applied.map((m) => m.version)).toEqual(allVersions);
    expect(result.currentVersion).toBe(latestVersion);
    expect(await ledger(db().driver)).toEqual(
      migrations.map((m) => ({ version: m.version, name: m.name, checksum: migrationChecksum(m) })),
    );
    const totalSteps = migrations.reduce((sum, m) => sum + m.steps.length, 0);
    expect(eventsNamed(lines, 'migrate.step.ok')).toHaveLength(totalSteps);
    const status = await migrator.status();
    expect(status).toMatchObject({ currentVersion: latestVersion, latestVersion, pending: [], drift: [], invalidIndexes: [] });
    expect(status.applied.every((m) => m.appliedAt instanceof Date && m.durationMs >= 0)).toBe(true);
  });

  it('builds every index of 0003 valid', async () => {
    await testMigrator(db().driver).migrator.up();
    for (const name of ['videos_mux_asset_id_idx', 'videos_mux_upload_id_idx', 'videos_mux_playback_id_idx', 'videos_owner_listing_idx', 'videos_listing_idx']) {
      expect(await indexValidity(db().driver, name), name).toBe(true);
    }
  });

  it('stops at the version asked for, and continues from there later', async () => {
    const { migrator } = testMigrator(db().driver);
    expect((await migrator.up({ to: 1 })).applied.map((m) => m.version)).toEqual([1]);
    expect((await ledger(db().driver)).map((row) => row.version)).toEqual([1]);
    const atOne = await migrator.status();
    expect(atOne.currentVersion).toBe(1);
    expect(atOne.pending.map((m) => m.version)).toEqual(allVersions.slice(1));
    const { rows } = await db().driver.execute(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'videos' AND column_name = 'mux_asset_id'`,
    );
    expect(rows).toEqual([]);

    expect((await migrator.up()).applied.map((m) => m.version)).toEqual(allVersions.slice(1));
    expect((await ledger(db().driver)).map((row) => row.version)).toEqual(allVersions);
  });

  it('does nothing, and takes no lease, when the database is current', async () => {
    await testMigrator(db().driver).migrator.up();
    const { migrator, lines } = testMigrator(db().driver);
    expect(await migrator.up()).toEqual({ applied: [], repaired: [], currentVersion: latestVersion });
    expect(eventsNamed(lines, 'migrate.lock.acquired')).toEqual([]);
    expect(eventsNamed(lines, 'migrate.step.start')).toEqual([]);
  });

  it('plans the pending steps without running them', async () => {
    const { migrator } = testMigrator(db().driver);
    await migrator.up({ to: 1 });
    const plan = await migrator.plan({ to: 2 });
    expect(plan).toMatchObject({ currentVersion: 1, targetVersion: 2, drift: [], repairs: [] });
    expect(plan.migrations.map((m) => m.name)).toEqual(['mux_columns']);
    const alter = plan.migrations[0]?.steps.at(-1);
    expect(alter).toMatchObject({ kind: 'transaction', statements: [expect.stringMatching(/^SET LOCAL lock_timeout = '\d+ms'$/), expect.stringContaining('ADD COLUMN IF NOT EXISTS mux_asset_id VARCHAR(255)')] });
    expect((await migrator.plan({ to: 3 })).migrations.at(-1)?.steps[0]).toMatchObject({ kind: 'concurrent-index', index: 'videos_mux_asset_id_idx' });
    expect((await ledger(db().driver)).map((row) => row.version)).toEqual([1]);
  });

  it('refuses to run when an applied migration was edited, naming it', async () => {
    await testMigrator(db().driver).migrator.up({ to: 2 });
    const edited = migrations.map((m) =>
      m.version === 2 ? { ...m, steps: [...m.steps, transactionStep('ALTER TABLE videos ADD COLUMN IF NOT EXISTS extra text')] } : m,
    );
    const { migrator, lines } = testMigrator(db().driver, { migrations: edited });

    const failure = await migrator.up().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MigrationError);
    expect((failure as MigrationError).message).toContain('2 (mux_columns)');
    expect(eventsNamed(lines, 'migrate.step.start')).toEqual([]);
    expect((await ledger(db().driver)).map((row) => row.version)).toEqual([1, 2]);
    const status = await migrator.status();
    expect(status.drift).toEqual([
      { version: 2, name: 'mux_columns', appliedChecksum: migrationChecksum(migrations[1] as Migration), fileChecksum: migrationChecksum(edited[1] as Migration) },
    ]);
    expect((await migrator.plan()).drift).toHaveLength(1);
  });

  it('reports ledger versions the code does not know without failing', async () => {
    await testMigrator(db().driver).migrator.up();
    const { migrator } = testMigrator(db().driver, { migrations: migrations.slice(0, 2) });
    expect(await migrator.up()).toMatchObject({ applied: [], currentVersion: latestVersion });
    expect((await migrator.status()).unknownApplied).toEqual(allVersions.slice(2));
  });
});
