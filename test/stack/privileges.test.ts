/**
 * Least privilege in the database, through the local stack as `npm start` runs it: each function gets only the
 * database secret of its role (functions/routes.json `uses`), and the local Data API runs every call as that role,
 * so PostgreSQL refuses what the role may not do. The videos function's own credentials cannot write; the uploads
 * function's cannot run DDL or touch the migration ledger; public health has no database credentials at all.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDriver, driverConfigFromEnv } from '../../shared/db/create-driver.js';
import type { Driver } from '../../shared/db/driver.js';
import { DatabaseError } from '../../shared/errors.js';
import { localRdsSecretArn, localRoleSecretArns } from '../../local/stack.js';
import { backends } from '../support/databases.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { createUpload, uploadRequest, videoBytes } from './support.js';

async function refusal(work: Promise<unknown>): Promise<string | undefined> {
  const error = await work.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error, 'expected PostgreSQL to refuse').toBeInstanceOf(DatabaseError);
  return (error as DatabaseError).sqlState;
}

describe.each(backends)('database privileges of each function in the local stack on %s', (backend) => {
  let stack: TestStack;
  const drivers: Driver[] = [];
  /** A driver with exactly the database settings `name` is built with (its Data API secret). */
  const driverOf = async (name: string) => {
    const driver = await createDriver(driverConfigFromEnv(stack.functionEnv(name)));
    drivers.push(driver);
    return driver;
  };

  beforeAll(async () => {
    stack = await startTestStack({ backend });
  });
  afterAll(async () => {
    await Promise.all(drivers.map((driver) => driver.close()));
    await stack?.dispose();
  });

  it('hands each function the secret of its role, and health none', () => {
    const secrets = Object.fromEntries(['uploads', 'video-changes', 'videos', 'mux-webhook', 'ingest', 'reconcile', 'admin', 'migrate', 'health'].map((name) => [name, stack.functionEnv(name).RDS_SECRET_ARN]));
    expect(secrets).toEqual({
      uploads: localRoleSecretArns.app,
      'video-changes': localRoleSecretArns.app,
      'mux-webhook': localRoleSecretArns.app,
      ingest: localRoleSecretArns.app,
      reconcile: localRoleSecretArns.app,
      videos: localRoleSecretArns.read,
      admin: localRdsSecretArn,
      migrate: localRdsSecretArn,
      health: undefined,
    });
    expect(Object.keys(stack.functionEnv('health')).filter((key) => key.startsWith('RDS_') || key === 'DATA_API_ENDPOINT')).toEqual([]);
  });

  it('refuses every write with the videos function’s credentials, and nothing is written', async () => {
    const alice = await stack.tokens.mint(`alice-${randomUUID()}`);
    const created = await createUpload(stack, alice, uploadRequest(videoBytes(1024), { title: 'Untouchable' }));
    const videos = await driverOf('videos');
    const master = await driverOf('admin');
    const before = await master.execute('SELECT id, title, status, owner_id FROM videos ORDER BY id');

    expect((await videos.execute('SELECT count(*)::int AS count FROM videos')).rows).toEqual([{ count: before.rows.length }]);
    expect(await refusal(videos.execute(`UPDATE videos SET title = 'defaced', owner_id = 'mallory' WHERE id = CAST(:id AS uuid)`, { id: created.video.id }))).toBe('42501');
    expect(await refusal(videos.execute(`INSERT INTO videos (owner_id, title, original_filename, content_type, size_bytes, s3_key) VALUES ('mallory', 'planted', 'p.mp4', 'video/mp4', 1, 'uploads/planted')`))).toBe('42501');
    expect(await refusal(videos.execute('DELETE FROM videos'))).toBe('42501');
    expect(await refusal(videos.execute(`INSERT INTO mux_webhook_events (event_id, type) VALUES ('forged', 'video.asset.ready')`))).toBe('42501');
    expect((await master.execute('SELECT id, title, status, owner_id FROM videos ORDER BY id')).rows).toEqual(before.rows);
  });

  it('lets the application role (video-changes, video-deletes) update and delete a video, but no webhook record, no DDL', async () => {
    const alice = await stack.tokens.mint(`alice-${randomUUID()}`);
    const created = await createUpload(stack, alice, uploadRequest(videoBytes(1024), { title: 'Editable' }));
    const changes = await driverOf('video-changes');
    expect(stack.functionEnv('video-deletes').RDS_SECRET_ARN).toBe(stack.functionEnv('video-changes').RDS_SECRET_ARN);
    expect((await changes.execute(`UPDATE videos SET title = 'Edited' WHERE id = CAST(:id AS uuid)`, { id: created.video.id })).rowCount).toBe(1);
    expect(await refusal(changes.execute('DELETE FROM mux_webhook_events'))).toBe('42501');
    expect(await refusal(changes.execute('ALTER TABLE videos ADD COLUMN planted text'))).toBe('42501');
    const master = await driverOf('admin');
    expect((await master.execute('SELECT title FROM videos WHERE id = CAST(:id AS uuid)', { id: created.video.id })).rows).toEqual([{ title: 'Edited' }]);
    const deletes = await driverOf('video-deletes');
    expect((await deletes.execute('DELETE FROM videos WHERE id = CAST(:id AS uuid)', { id: created.video.id })).rowCount).toBe(1);
    expect((await master.execute('SELECT title FROM videos WHERE id = CAST(:id AS uuid)', { id: created.video.id })).rows).toEqual([]);
  });

  it('refuses DDL and the migration ledger with the uploads function’s credentials', async () => {
    const uploads = await driverOf('uploads');
    for (const statement of [
      'CREATE TABLE planted (id int)',
      'ALTER TABLE videos ADD COLUMN planted text',
      'DROP TABLE videos',
      'DELETE FROM schema_migrations',
      `UPDATE schema_migrations SET checksum = 'forged'`,
    ]) {
      expect(await refusal(uploads.execute(statement)), statement).toBe('42501');
    }
    const master = await driverOf('migrate');
    const { rows } = await master.execute<{ count: number }>(
      `SELECT count(*)::int AS count FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'planted'`,
    );
    expect(rows).toEqual([{ count: 0 }]);
    expect((await master.execute('SELECT count(*)::int AS count FROM schema_migrations')).rows).toEqual([{ count: stack.database.migrated.currentVersion }]);
  });
});
