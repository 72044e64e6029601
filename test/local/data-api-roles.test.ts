/**
 * The local Data API runs each call as the database role its secret ARN maps to, so PostgreSQL enforces the
 * privileges of migration 0004 locally as it does in AWS (where the Data API logs in as the secret's user): the
 * read-only role cannot write, the application role cannot run DDL or touch the migration ledger, the master can.
 * Every refusal is PostgreSQL's own: SQLSTATE 42501 (insufficient_privilege), on PGlite and on PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import { DatabaseError } from '../../shared/errors.js';
import type { Driver } from '../../shared/db/driver.js';
import { databaseRoles } from '../../shared/db/roles.js';
import { silentLogger } from '../../shared/log.js';
import { createMigrator } from '../../shared/migrations/engine.js';
import { backends } from '../support/databases.js';
import { useDataApiDatabase } from '../functions/admin-support.js';

const appArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:reelay-test-app';
const readArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:reelay-test-read';
const secretRoles = { [appArn]: databaseRoles.app, [readArn]: databaseRoles.read };

const insertVideo = `INSERT INTO videos (owner_id, title, original_filename, content_type, size_bytes, s3_key)
  VALUES ('mallory', 'planted', 'x.mp4', 'video/mp4', 1, :key) RETURNING id`;

async function sqlStateOf(work: Promise<unknown>): Promise<string> {
  const error = await work.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error, 'expected the database to refuse').toBeInstanceOf(DatabaseError);
  return (error as DatabaseError).sqlState;
}

async function videoCount(driver: Driver): Promise<number> {
  const { rows } = await driver.execute<{ count: number }>('SELECT count(*)::int AS count FROM videos');
  return rows[0]?.count ?? -1;
}

describe.each(backends)('database roles through the local Data API on %s', (backend) => {
  const local = useDataApiDatabase(backend, { secretRoles });

  async function migrated(to?: number) {
    await createMigrator({ driver: local.db.driver, logger: silentLogger }).up(to === undefined ? {} : { to });
    return { master: local.api.driver, app: local.api.driverFor(appArn), read: local.api.driverFor(readArn) };
  }

  it('lets the read-only role read and refuses every write with 42501, in and out of transactions', async () => {
    const { master, read } = await migrated();
    await master.execute(insertVideo, { key: 'uploads/seed.mp4' });
    expect(await videoCount(read)).toBe(1);
    expect(await sqlStateOf(read.execute(insertVideo, { key: 'uploads/planted.mp4' }))).toBe('42501');
    expect(await sqlStateOf(read.execute(`UPDATE videos SET status = 'ready'`))).toBe('42501');
    expect(await sqlStateOf(read.execute('DELETE FROM videos'))).toBe('42501');
    expect(await sqlStateOf(read.execute(`INSERT INTO mux_webhook_events (event_id, type) VALUES ('e', 't')`))).toBe('42501');
    expect(await sqlStateOf(read.batch(insertVideo, [{ key: 'uploads/batch.mp4' }]))).toBe('42501');
    expect(await sqlStateOf(read.transaction((tx) => tx.execute(insertVideo, { key: 'uploads/tx.mp4' })))).toBe('42501');
    const { rows } = await master.execute<{ status: string }>('SELECT status FROM videos');
    expect(rows).toEqual([{ status: 'awaiting_upload' }]);
  });

  it('lets the application role read, insert, update and delete videos, and refuses DDL, other deletes and the ledger with 42501', async () => {
    const { master, app } = await migrated();
    const { rows } = await app.execute<{ id: string }>(insertVideo, { key: 'uploads/app.mp4' });
    expect(rows).toHaveLength(1);
    expect((await app.execute(`UPDATE videos SET status = 'uploaded'`)).rowCount).toBe(1);
    await app.transaction(async (tx) => {
      await tx.execute(`INSERT INTO mux_webhook_events (event_id, type) VALUES ('evt-1', 'video.asset.ready')`);
    });

    for (const ddl of [
      'CREATE TABLE planted (id int)',
      'ALTER TABLE videos ADD COLUMN planted text',
      'DROP TABLE mux_webhook_events',
      'CREATE INDEX planted_idx ON videos (title)',
      'TRUNCATE videos',
      'DELETE FROM mux_webhook_events',
      'DELETE FROM deferred_mux_data',
      `UPDATE schema_migrations SET checksum = 'forged'`,
      'DELETE FROM schema_migrations_lock',
      'SELECT * FROM schema_migrations',
    ]) {
      expect(await sqlStateOf(app.execute(ddl)), ddl).toBe('42501');
    }
    expect(await sqlStateOf(app.transaction((tx) => tx.execute('CREATE TABLE planted (id int)')))).toBe('42501');
    expect(await videoCount(master)).toBe(1);
    // 0005: a deletion removes the video's row.
    const { rows: second } = await app.execute<{ id: string }>(insertVideo, { key: 'uploads/deleted.mp4' });
    expect((await app.execute('DELETE FROM videos WHERE id = CAST(:id AS uuid)', { id: second[0]?.id ?? '' })).rowCount).toBe(1);
    expect(await videoCount(master)).toBe(1);
    const { rows: tables } = await master.execute<{ name: string }>(
      `SELECT relname AS name FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relname = 'planted'`,
    );
    expect(tables).toEqual([]);
  });

  it('runs calls with a secret it does not map as its own user, the master (migrations work)', async () => {
    const { master } = await migrated();
    await master.execute('CREATE TABLE master_only (id int)');
    await master.execute('DROP TABLE master_only');
    expect((await createMigrator({ driver: master, logger: silentLogger }).status()).pending).toEqual([]);
  });

  it('refuses a mapped role that does not exist yet (before 0004) with PostgreSQL’s error, never silently as the master', async () => {
    const { read } = await migrated(1);
    const state = await sqlStateOf(read.execute('SELECT count(*) AS count FROM videos'));
    // 22023: role "reelay_read" does not exist. On a shared PostgreSQL cluster another database may have created the
    // roles already (roles are cluster-wide): the role exists, but holds nothing in this database yet (42501).
    expect(backend === 'pglite' ? ['22023'] : ['22023', '42501']).toContain(state);
  });
});
