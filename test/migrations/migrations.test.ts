import { describe, expect, it } from 'vitest';
import { MigrationError } from '../../shared/errors.js';
import { muxColumns, seedMuxColumns } from '../../shared/migrations/0002_mux_columns.js';
import { migrations } from '../../shared/migrations/index.js';
import { migrationChecksum, transactionStep, type Migration } from '../../shared/migrations/migration.js';
import { backends } from '../support/databases.js';
import { eventsNamed, useFreshDatabase, indexValidity, ledger, testMigrator } from './support.js';

describe('migration checksums', () => {
  it('ignore re-indentation but see any change to the SQL', () => {
    const original: Migration = { version: 7, name: 'example', steps: [transactionStep('CREATE TABLE a (id int)')] };
    const reindented: Migration = { ...original, steps: [transactionStep('  CREATE TABLE a (\n    id int\n  );')] };
    const edited: Migration = { ...original, steps: [transactionStep('CREATE TABLE a (id bigint)')] };
    expect(migrationChecksum(reindented)).toBe(migrationChecksum(original));
    expect(migrationChecksum(edited)).not.toBe(migrationChecksum(original));
    expect(migrationChecksum(original)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('lists the seed’s 18 Mux columns, in the seed’s order and types', () => {
    expect(seedMuxColumns.map((column) => `${column.name} ${column.sqlType}`)).toEqual([
      'mux_asset_id VARCHAR(255)',
      'mux_playback_id VARCHAR(255)',
      'mux_upload_id VARCHAR(255)',
      'mux_status VARCHAR(50)',
      'mux_thumbnail_url TEXT',
      'mux_streaming_url TEXT',
      'mux_mp4_url TEXT',
      'mux_duration_seconds INTEGER',
      'mux_aspect_ratio VARCHAR(20)',
      'mux_created_at TIMESTAMP',
      'mux_ready_at TIMESTAMP',
      'audio_enhanced BOOLEAN',
      'audio_enhancement_job_id VARCHAR(255)',
      'transcription_job_id VARCHAR(255)',
      'captions_webvtt_url TEXT',
      'captions_srt_url TEXT',
      'transcript_text TEXT',
      'transcript_confidence DECIMAL(3,2)',
    ]);
  });
});

describe.each(backends)('migrations on %s', (backend) => {
  const db = useFreshDatabase(backend);

  it('applies 0001..0003 to a fresh database and records each with its checksum', async () => {
    const { migrator, lines } = testMigrator(db().driver);
    const result = await migrator.up();

    expect(result.applied.map((m) => m.version)).toEqual([1, 2, 3]);
    expect(result.currentVersion).toBe(3);
    expect(await ledger(db().driver)).toEqual(
      migrations.map((m) => ({ version: m.version, name: m.name, checksum: migrationChecksum(m) })),
    );
    const totalSteps = migrations.reduce((sum, m) => sum + m.steps.length, 0);
    expect(eventsNamed(lines, 'migrate.step.ok')).toHaveLength(totalSteps);
    const status = await migrator.status();
    expect(status).toMatchObject({ currentVersion: 3, latestVersion: 3, pending: [], drift: [], invalidIndexes: [] });
    expect(status.applied.every((m) => m.appliedAt instanceof Date && m.durationMs >= 0)).toBe(true);
  });

  it('gives videos exactly the declared Mux columns, types and defaults', async () => {
    await testMigrator(db().driver).migrator.up();
    const { rows } = await db().driver.execute<{ name: string; type: string; default_sql: string | null; not_null: boolean }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
              pg_get_expr(d.adbin, d.adrelid) AS default_sql, a.attnotnull AS not_null
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = 'videos'::regclass AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum`,
    );
    const live = new Map(rows.map((row) => [row.name, row]));
    expect(rows.map((row) => row.name)).toEqual([
      'id', 'owner_id', 'title', 'description', 'original_filename', 'content_type', 'size_bytes', 's3_key', 's3_upload_id', 'status',
      'created_at', 'updated_at', ...muxColumns.map((column) => column.name),
    ]);
    for (const column of muxColumns) {
      const found = live.get(column.name);
      expect(found?.type, column.name).toBe(column.formatType);
      expect(found?.not_null, column.name).toBe(column.notNull === true);
      expect(found?.default_sql ?? undefined, column.name).toEqual(
        column.defaultSql === undefined ? undefined : expect.stringMatching(new RegExp(`^${column.defaultSql}`, 'i')),
      );
    }
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
    expect(atOne.pending.map((m) => m.version)).toEqual([2, 3]);
    const { rows } = await db().driver.execute(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'videos' AND column_name = 'mux_asset_id'`,
    );
    expect(rows).toEqual([]);

    expect((await migrator.up()).applied.map((m) => m.version)).toEqual([2, 3]);
    expect((await ledger(db().driver)).map((row) => row.version)).toEqual([1, 2, 3]);
  });

  it('does nothing, and takes no lease, when the database is current', async () => {
    await testMigrator(db().driver).migrator.up();
    const { migrator, lines } = testMigrator(db().driver);
    expect(await migrator.up()).toEqual({ applied: [], repaired: [], currentVersion: 3 });
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
    expect((await migrator.plan()).migrations.at(-1)?.steps[0]).toMatchObject({ kind: 'concurrent-index', index: 'videos_mux_asset_id_idx' });
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
    expect(await migrator.up()).toMatchObject({ applied: [], currentVersion: 3 });
    expect((await migrator.status()).unknownApplied).toEqual([3]);
  });
});
